import pg from 'pg';
import { scratchDatabase, type ScratchDatabase } from './scratch.js';

export const rebuildEvents = Number(process.env.BENCH_REBUILD_EVENTS ?? 1_000_000);
export const keysPerScope = 50;
export const tenantsPerEnv = 1_000;

/**
 * One INSERT … SELECT generate_series fills a migrated scratch log with a ManifestPublished at
 * position 1 and `count − 1` valid ConfigValueSet events of namespace `bench`: 4 environments
 * (`env0`…`env3`) × (environment layer + 1,000 tenants) × 50 keys, recorded 1 ms apart.
 * Hashes are placeholders: neither the rebuild nor point-in-time reads verify the chain.
 */
const fill = async (url: string, count: number): Promise<void> => {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const keys = Object.fromEntries(
      Array.from({ length: keysPerScope }, (_, i) => [`key_${i}`, { type: 'integer', default: 0 }]),
    );
    const manifest = { namespace: 'bench', manifest: { keys, flags: {}, secrets: {} } };
    await client.query(
      `INSERT INTO strata.events (position, event_id, stream_id, stream_version, type, schema_version, data, metadata, recorded_at, hash)
       VALUES (1, 'bench-1', 'manifest:bench', 1, 'ManifestPublished', 1, $1::jsonb, '{"actor":"bench"}', now() - make_interval(secs => $2::double precision / 1000), repeat('0', 64))`,
      [JSON.stringify(manifest), count],
    );
    await client.query(
      `INSERT INTO strata.events (position, event_id, stream_id, stream_version, type, schema_version, data, metadata, recorded_at, hash)
       SELECT i, 'bench-' || i, 'bench-' || i, 1, 'ConfigValueSet', 1,
              jsonb_build_object('namespace', 'bench', 'environment', 'env' || (i % 4),
                                 'tenant', CASE WHEN i % 3 = 0 THEN NULL ELSE 't' || (i % ${tenantsPerEnv}) END,
                                 'key', 'key_' || (i % ${keysPerScope}), 'value', i),
              '{"actor":"bench"}'::jsonb, now() - make_interval(secs => ($1::bigint - i)::double precision / 1000), repeat('0', 64)
       FROM generate_series(2, $1::bigint) AS i`,
      [count],
    );
    await client.query('UPDATE strata.log_head SET position = $1, recorded_at = now() WHERE id = 1', [count]);
    await client.query('ANALYZE strata.events');
  } finally {
    await client.end();
  }
};

/** A migrated scratch database filled with `count` events as above; dropped on dispose. */
export const filledScratchLog = async (label: string, count: number): Promise<ScratchDatabase> => {
  const db = await scratchDatabase(label);
  const t0 = performance.now();
  try {
    await fill(db.url, count);
  } catch (error) {
    await db[Symbol.asyncDispose]();
    throw error;
  }
  process.stdout.write(
    `  (filled ${count.toLocaleString()} events in ${((performance.now() - t0) / 1000).toFixed(1)} s)\n`,
  );
  return db;
};

let shared: Promise<ScratchDatabase> | null = null;

/** The rebuild and point-in-time benchmarks share one filled log when both run. */
export const sharedFilledLog = {
  get: (): Promise<ScratchDatabase> => (shared ??= filledScratchLog('history', rebuildEvents)),
  dispose: async (): Promise<void> => {
    const db = await shared?.catch(() => null);
    shared = null;
    await db?.[Symbol.asyncDispose]();
  },
};
