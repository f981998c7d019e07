import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createPool, PostgresEventLog } from '@strata/postgres-log';
import { RedisViewReader, RedisViewStore, parseViewChanges, type ViewChange } from '@strata/redis-views';
import { Relay } from '@strata/relay';
import { createLogger } from '@strata/service-runtime';
import { createTestDatabase, testRedis, testTopic } from '@strata/testing';
import { Projector } from './projector.js';

const quiet = createLogger({ service: 'projector-test', level: 'error' });

describe('Projector (in-process, with the real relay)', () => {
  it('an appended event reaches the view through Kafka, with a change notification', async () => {
    await using db = await createTestDatabase();
    await using topic = await testTopic({ partitions: 2 });
    await using redis = await testRedis();
    const pool = createPool(db.url);
    const log = new PostgresEventLog(pool);
    const relay = new Relay({
      databaseUrl: db.url,
      brokers: topic.brokers,
      topic: topic.topic,
      partitions: 2,
      metricsPort: undefined,
      batchSize: 500,
      leaderRetryMs: 200,
      pollIntervalMs: 50,
      logger: quiet,
    });
    const projector = new Projector({
      databaseUrl: db.url,
      redisUrl: redis.url,
      brokers: topic.brokers,
      topic: topic.topic,
      prefix: redis.prefix,
      groupId: `${topic.topic}.projector`,
      metricsPort: 0,
      watchIntervalMs: 200,
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 500,
      logger: quiet,
      instance: 'projector-e2e',
    });
    const subscriber = new Redis(redis.url);
    const changes: ViewChange[] = [];
    subscriber.on('message', (_channel: string, message: string) => changes.push(...parseViewChanges(message)));
    await subscriber.subscribe(`${redis.prefix}changes:{shelfwise/prod}`);
    try {
      await relay.start();
      await projector.start();
      const store = new RedisViewStore({ redis: redis.client, prefix: redis.prefix });
      // The first generation is built from the log in the background: an event appended before it is
      // live lands in that rebuild (announced by the generation switch), not through Kafka.
      await expect.poll(() => store.generation(), { timeout: 30_000 }).toBe(1);
      const reader = new RedisViewReader({ redis: redis.client, prefix: redis.prefix });
      const appended = await log.append('tenant:shelfwise/prod/acme', [
        {
          type: 'ConfigValueSet',
          data: {
            namespace: 'shelfwise',
            environment: 'prod',
            tenant: 'acme',
            key: 'checkout.timeout_ms',
            value: 4500,
          },
          metadata: { actor: 'test' },
        },
      ]);
      if (!appended.ok) throw new Error('append failed');
      const position = appended.positions[0]!;
      const started = performance.now();
      expect(await reader.waitForPosition('shelfwise', 'prod', position, 30_000)).toBe(position);
      const latencyMs = performance.now() - started;
      const config = await reader.resolvedConfig('shelfwise', 'prod', 'acme');
      expect(config.values['checkout.timeout_ms']).toEqual({ value: 4500, source: 'tenant', position });
      await expect
        .poll(() => changes)
        .toEqual([
          {
            kind: 'change',
            namespace: 'shelfwise',
            environment: 'prod',
            tenant: 'acme',
            keys: ['checkout.timeout_ms'],
            flags: [],
            secrets: [],
            position,
            generation: 1,
          },
        ]);
      const metrics = await projector.renderMetrics();
      expect(metrics).toMatch(/strata_projector_applied_events_total\{group="[^"]+"\} 1/);
      expect(metrics).toMatch(/strata_projector_partition_lag\{group="[^"]+",partition="\d"\} 0/);
      expect(metrics).toMatch(/strata_projector_generation\{group="[^"]+"\} 1/);
      expect(latencyMs).toBeLessThan(30_000);
      // Both partitions' lag reaches Redis, from this member, caught up and fresh.
      await expect
        .poll(
          async () =>
            (await store.partitionLag()).map(({ partition, lag, instance, stale }) => ({
              partition,
              lag,
              instance,
              stale,
            })),
          { timeout: 15_000 },
        )
        .toEqual([0, 1].map((partition) => ({ partition, lag: 0, instance: 'projector-e2e', stale: false })));
    } finally {
      subscriber.disconnect();
      await projector.stop();
      await relay.stop();
      await pool.end();
    }
  });
});
