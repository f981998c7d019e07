import { createLogger } from '@strata/service-runtime';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { Relay } from './relay.js';
import { appendEvents, checkPerKeyOrder, readTopic, relayFixture, waitFor, type RelayFixture } from './test-support.js';

/** A relay in this process on the fixture's database and topic, and every line it logs. */
const inProcessRelay = ({ db, kafka }: RelayFixture, { leaderRetryMs = 200 } = {}) => {
  const lines: Record<string, unknown>[] = [];
  const relay = new Relay({
    databaseUrl: db.appUrl,
    brokers: kafka.brokers,
    topic: kafka.topic,
    partitions: 3,
    metricsPort: undefined,
    batchSize: 1000,
    leaderRetryMs,
    pollIntervalMs: 1000,
    logger: createLogger({
      service: 'relay',
      destination: { write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) },
    }),
  });
  return { relay, lines };
};

describe('Relay in-process', () => {
  it('copies the log to the topic in order per key, with headers, and checkpoints only what Kafka acknowledged', async () => {
    await using fixture = await relayFixture({ partitions: 3 });
    const { log, kafka } = fixture;
    const { relay, lines } = inProcessRelay(fixture);
    try {
      await appendEvents(log, { count: 1500 }); // before start: catch-up
      await relay.start();
      await appendEvents(log, { count: 1500, offset: 150 }); // while running: woken by NOTIFY
      const head = await log.headPosition();
      expect(head).toBe(3000);
      await waitFor(async () => (await relay.metrics()).lagPositions === 0, 'relay lag 0');
      const metrics = await relay.metrics();
      expect(metrics).toMatchObject({
        headPosition: 3000,
        checkpointPosition: 3000,
        publishedTotal: 3000,
        isLeader: true,
      });
      expect(await relay.metricsText()).toContain('strata_relay_is_leader{topic="');

      const delivered = await readTopic(kafka, (d) => new Set(d.map((x) => x.event.position)).size === head);
      expect(checkPerKeyOrder(delivered)).toEqual({ duplicates: 0, keys: 12 });
      const positions = delivered.map((d) => d.event.position).sort((a, b) => a - b);
      expect(positions).toEqual(Array.from({ length: head }, (_, i) => i + 1));
      const stored = await log.readAll(0, 1);
      expect(delivered.find((d) => d.event.position === 1)?.event).toEqual(stored[0]);

      // Headers as documented, read with a plain client.
      const raw = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING }).consumer({
        groupId: `${kafka.topic}.raw`,
      });
      let headers: Record<string, string> | undefined;
      await raw.connect();
      await raw.subscribe({ topics: [kafka.topic], fromBeginning: true });
      await raw.run({
        eachMessage: async ({ message }) => {
          headers ??= Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
        },
      });
      await waitFor(() => headers, 'a raw message');
      await raw.disconnect();
      expect(Object.keys(headers!).sort()).toEqual([
        'correlation-id',
        'event-id',
        'position',
        'schema-version',
        'type',
      ]);
      expect(headers!.type).toBe('ConfigValueSet');
    } finally {
      await relay.stop();
    }
    expect(await fixture.checkpoint()).toBe(3000);
    // A broker started moments ago may still be loading its coordinators: the relay then says so and
    // that it is ready (the connection state's lines); the lifecycle is the same either way.
    const connectionState = new Set(['kafka answers but is not ready yet; retrying', 'kafka ready']);
    expect(lines.map((l) => l.msg).filter((msg) => !connectionState.has(msg as string))).toEqual([
      'relay started',
      'leadership acquired',
      'leadership released',
      'relay stopped',
    ]);
    // Structured lines, never event data.
    expect(JSON.stringify(lines)).not.toContain('limits.max_items');
  });

  it('stops publishing the moment its lock connection dies, then competes again and resumes', async () => {
    await using fixture = await relayFixture({ partitions: 3 });
    const { db, log, kafka } = fixture;
    // A slow standby retry leaves a window in which the relay must publish nothing at all.
    const { relay, lines } = inProcessRelay(fixture, { leaderRetryMs: 2500 });
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      await relay.start();
      await waitFor(() => relay.isLeader, 'leadership');
      await appendEvents(log, { count: 200 });
      await waitFor(async () => (await relay.metrics()).lagPositions === 0, 'relay caught up');

      // Keep appending while the lock session is killed from outside.
      const appending = appendEvents(log, { count: 8000, offset: 20, writers: 2, perAppend: 5 });
      await waitFor(async () => (await relay.metrics()).checkpointPosition > 600, 'publishing under load');
      const { rows } = await admin.query<{ pid: number }>(
        `SELECT pg_terminate_backend(pid) AS pid FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'strata-relay-lock'`,
      );
      expect(rows).toHaveLength(1);
      await waitFor(() => lines.some((l) => l.msg === 'leadership lost'), 'leadership lost', 5_000, 5);
      expect(relay.isLeader).toBe(false);
      // At most the batch that was already in flight completes; after that nothing is published
      // while appends continue and the lock is not ours.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const settled = await relay.metrics();
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const later = await relay.metrics();
      expect(later.publishedTotal).toBe(settled.publishedTotal);
      expect(later.headPosition).toBeGreaterThan(later.checkpointPosition);
      expect(later.isLeader).toBe(false);
      await appending;
      await waitFor(
        () => lines.filter((l) => l.msg === 'leadership acquired').length === 2,
        'leadership regained',
        10_000,
      );
      await waitFor(async () => (await relay.metrics()).lagPositions === 0, 'relay caught up again');

      const delivered = await readTopic(kafka, (d) => new Set(d.map((x) => x.event.position)).size === 8200);
      const { duplicates } = checkPerKeyOrder(delivered);
      expect(delivered.length).toBe(8200 + duplicates);
    } finally {
      await admin.end();
      await relay.stop();
    }
  });
});
