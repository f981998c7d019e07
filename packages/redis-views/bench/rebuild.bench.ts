/**
 * Projection rebuild throughput: PostgreSQL log → Redis views (BRIEF target ≥ 40 k events/s).
 *   npx tsx packages/redis-views/bench/rebuild.bench.ts [events=1000000]
 * Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) to create a scratch
 * database filled by one INSERT … SELECT generate_series of valid ConfigValueSet events, and
 * REDIS_URL (default redis://127.0.0.1:6379) under a throwaway key prefix. Both are removed after.
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import { createPool, migrate, PostgresEventLog } from '@strata/postgres-log';
import { RedisViewStore } from '../src/index.js';

const count = Number(process.argv[2] ?? 1_000_000);
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const database = `strata_bench_rebuild_${Date.now().toString(36)}`;
const withDatabase = (url: string, name: string) => Object.assign(new URL(url), { pathname: `/${name}` }).toString();

const admin = async (sql: string) => {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
};

await admin(`CREATE DATABASE "${database}"`);
const url = withDatabase(databaseUrl, database);
const pool = createPool(url, { max: 4 });
const redis = new Redis(redisUrl);
const prefix = `bench:${Date.now().toString(36)}:`;
try {
  await migrate(url);
  let t0 = performance.now();
  // 4 environments × (environment layer + 1,000 tenants) × 50 keys; hashes are placeholders (the
  // rebuild does not verify the chain).
  await pool.query(
    `INSERT INTO strata.events (position, event_id, stream_id, stream_version, type, schema_version, data, metadata, recorded_at, hash)
     SELECT i, 'bench-' || i, 'bench-' || i, 1, 'ConfigValueSet', 1,
            jsonb_build_object('namespace', 'bench', 'environment', 'env' || (i % 4),
                               'tenant', CASE WHEN i % 3 = 0 THEN NULL ELSE 't' || (i % 1000) END,
                               'key', 'key_' || (i % 50), 'value', i),
            '{"actor":"bench"}'::jsonb, now(), repeat('0', 64)
     FROM generate_series(1, $1::bigint) AS i`,
    [count],
  );
  await pool.query('UPDATE strata.log_head SET position = $1 WHERE id = 1', [count]);
  console.log(`filled ${count} events in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const store = new RedisViewStore({ redis, prefix });
  const log = new PostgresEventLog(pool);
  t0 = performance.now();
  let reported = 0;
  const result = await store.rebuild({
    eventLog: log,
    dropDelayMs: 0,
    onProgress: ({ events, eventsPerSecond }) => {
      if (events - reported >= 200_000) {
        reported = events;
        console.log(`  ${events} events, ${eventsPerSecond} events/s`);
      }
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    JSON.stringify({
      bench: 'rebuild',
      events: result.events,
      seconds: Number(seconds.toFixed(2)),
      eventsPerSecond: Math.round(result.events / seconds),
    }),
  );
} finally {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
  redis.disconnect();
  await pool.end();
  await admin(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
}
