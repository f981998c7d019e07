import { getPostgreSQLEventStore, postgreSQLEventStoreConsumer } from '@event-driven-io/emmett-postgresql';
import { Redis } from 'ioredis';
import pg from 'pg';
import { keysPerScope, tenantsPerEnv } from './filled-log.js';
import { deleteRedisPrefix, redisUrl, runId, scratchDatabase } from './scratch.js';

/**
 * The rebuild's peer: Emmett's PostgreSQL consumer catching up on `count` events of the same
 * shape as the filled Strata log (one INSERT … SELECT into `emt_messages`), each batch written
 * to Redis as pipelined HSETs (a view per scope), timed from start until it drained.
 */
export const emmettCatchUp = async (count: number): Promise<{ events: number; seconds: number }> => {
  await using db = await scratchDatabase('emmett_consumer', { migrated: false });
  const store = getPostgreSQLEventStore(db.url);
  await store.appendToStream('warmup', [{ type: 'ConfigValueSet', data: { key: 'warmup', value: 0 } }]); // creates its schema
  await store.close();
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    await client.query(
      `INSERT INTO emt_messages (stream_position, global_position, transaction_id, stream_id, message_schema_version,
                                 message_id, message_type, message_data, message_metadata)
       SELECT 1, i + 1, pg_current_xact_id(), 'bench-' || i, '1', 'bench-' || i, 'ConfigValueSet',
              jsonb_build_object('namespace', 'bench', 'environment', 'env' || (i % 4),
                                 'tenant', CASE WHEN i % 3 = 0 THEN NULL ELSE 't' || (i % ${tenantsPerEnv}) END,
                                 'key', 'key_' || (i % ${keysPerScope}), 'value', i),
              '{"actor":"bench"}'::jsonb
       FROM generate_series(2, $1::bigint) AS i`,
      [count],
    );
    await client.query('ANALYZE emt_messages');
  } finally {
    await client.end();
  }
  const prefix = `bench:emmett:${runId()}:`;
  const redis = new Redis(redisUrl);
  let events = 0;
  let pipeline = redis.pipeline();
  try {
    const consumer = postgreSQLEventStoreConsumer({
      connectionString: db.url,
      stopWhen: { noMessagesLeft: true },
      pulling: { batchSize: 1000, pullingFrequencyInMs: 0 },
    });
    consumer.reactor<{ type: 'ConfigValueSet'; data: Record<string, unknown> }>({
      processorId: `bench-${runId()}`,
      startFrom: 'BEGINNING',
      // This Emmett release runs processors message by message (no eachBatch at run time): the
      // HSETs are queued on one pipeline and sent every 1,000 messages, like a batch would.
      eachMessage: async ({ data }) => {
        pipeline.hset(
          `${prefix}${String(data.environment)}:${String(data.tenant)}`,
          String(data.key),
          JSON.stringify(data.value),
        );
        events += 1;
        if (pipeline.length >= 1000) {
          const full = pipeline;
          pipeline = redis.pipeline();
          await full.exec();
        }
      },
    });
    const t0 = performance.now();
    await consumer.start();
    await pipeline.exec();
    const seconds = (performance.now() - t0) / 1000;
    await consumer.close();
    return { events, seconds };
  } finally {
    redis.disconnect();
    await deleteRedisPrefix(prefix);
  }
};
