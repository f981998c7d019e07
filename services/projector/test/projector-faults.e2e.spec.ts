import { Redis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';
import type { RecordedEvent } from '@strata/core';
import { KafkaPublisher } from '@strata/kafka-bus';
import { createPool, PostgresEventLog } from '@strata/postgres-log';
import { RedisViewReader, viewKeys, viewTag } from '@strata/redis-views';
import {
  appendSampleEvents,
  comparableState,
  expectedViewState,
  sampleEvents,
  sampleScopes,
} from '@strata/core/testing';
import { createTestDatabase, deleteByPrefix, testTopic } from '@strata/testing';
import { metricValue, startProjectorProcess, type ProjectorProcess } from './projector-process.js';

/**
 * Fault tolerance with real projector processes on real PostgreSQL, Kafka and Redis. The log is
 * published to the topic by this spec (standing in for the relay) so faults are timed precisely.
 */

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `explain`: what to add to the timeout's message, so a rare failure says what the processes saw. */
const until = async (
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 60_000,
  explain: () => string = () => '',
) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${explain()}`);
    await sleep(100);
  }
};

/** Redis on a logical database of its own (FLUSHDB must never touch other spec files' keys). */
const redisOn = (db: number) => {
  const url = new URL(inject('services').redisUrl);
  url.pathname = `/${db}`;
  return url.toString();
};

const setup = async (partitions: number, redisUrl: string) => {
  const db = await createTestDatabase();
  const topic = await testTopic({ partitions });
  const pool = createPool(db.url);
  const log = new PostgresEventLog(pool);
  const redis = new Redis(redisUrl);
  const prefix = `t:${inject('runId')}:${Math.random().toString(36).slice(2, 8)}:`;
  const reader = new RedisViewReader({ redis, prefix });
  const publisher = new KafkaPublisher({ brokers: topic.brokers, topic: topic.topic });
  await publisher.connect();
  const processes: ProjectorProcess[] = [];
  const env = {
    DATABASE_URL: db.url,
    REDIS_URL: redisUrl,
    KAFKA_BROKERS: topic.brokers.join(','),
    STRATA_TOPIC: topic.topic,
    STRATA_REDIS_PREFIX: prefix,
    PROJECTOR_GROUP: `${topic.topic}.projector`,
    PROJECTOR_WATCH_INTERVAL_MS: '200',
  };
  let published = 0;
  return {
    log,
    redis,
    prefix,
    reader,
    start: () => {
      const p = startProjectorProcess(env);
      processes.push(p);
      return p;
    },
    /** Appends `count` sample events to the log; returns all recorded events. */
    append: async (count: number, seed: number) => {
      await appendSampleEvents(log, sampleEvents(count, seed, seed * 100_000));
      return log.readAll(0, 1_000_000);
    },
    /** Publishes the log from where it stopped, in chunks (like the relay). */
    publish: async (chunk = 500, pauseMs = 0) => {
      for (
        let page = await log.readAll(published, chunk);
        page.length > 0;
        page = await log.readAll(published, chunk)
      ) {
        await publisher.publish(page);
        published = page.at(-1)!.position;
        if (pauseMs) await sleep(pauseMs);
      }
    },
    /** True when every view equals core's fold of the whole log. */
    exact: async (events: readonly RecordedEvent[]) => {
      for (const { namespace, environment } of sampleScopes) {
        const view = await reader.loadView(namespace, environment);
        expect(comparableState(view.state)).toEqual(expectedViewState(events, namespace, environment));
      }
      return true;
    },
    /** Events applied per view, from the views' own counters (each is incremented once per applied event). */
    appliedCounts: async () => {
      const generation = await redis.get(`${prefix}gen`);
      const counts: Record<string, number> = {};
      for (const { namespace, environment } of sampleScopes) {
        for (const tag of [viewTag(namespace, environment), viewTag(namespace, null)]) {
          counts[tag] = Number(await redis.get(viewKeys(prefix, generation ?? 0, tag).count));
        }
      }
      return counts;
    },
    async [Symbol.asyncDispose]() {
      for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGKILL');
      await Promise.all(processes.map((p) => p.exited));
      await publisher.disconnect();
      await deleteByPrefix(redis, prefix);
      redis.disconnect();
      await pool.end();
      await topic[Symbol.asyncDispose]();
      await db[Symbol.asyncDispose]();
    },
  };
};

const expectedCounts = (events: readonly RecordedEvent[]) => {
  const counts: Record<string, number> = {};
  for (const { namespace, environment } of sampleScopes) {
    counts[viewTag(namespace, environment)] = events.filter(
      (e) =>
        e.type !== 'ManifestPublished' &&
        e.type !== 'TokenIssued' &&
        (e.data as { namespace: string }).namespace === namespace &&
        (e.data as { environment?: string }).environment === environment,
    ).length;
    counts[viewTag(namespace, null)] = events.filter(
      (e) => e.type === 'ManifestPublished' && e.data.namespace === namespace,
    ).length;
  }
  return counts;
};

describe('projector processes', () => {
  it('kill -9 mid-stream, restart: views exact, no event applied twice', async () => {
    await using t = await setup(3, inject('services').redisUrl);
    const first = t.start();
    // Started on an empty log, it builds an empty generation; everything after comes through Kafka.
    await until(
      'a live generation',
      async () => metricValue(await first.metrics(), 'strata_projector_generation') === 1,
    );
    const events = await t.append(6_000, 1);
    const publishing = t.publish(200, 20);
    // Kill it while it is still applying: some but not all events are in the views.
    await until(
      'a third of the events applied',
      async () => metricValue(await first.metrics(), 'strata_projector_applied_events_total') > 2_000,
    );
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe(null);
    const applied = Object.values(await t.appliedCounts()).reduce((a, b) => a + b, 0);
    expect(applied).toBeLessThan(events.length);
    const second = t.start();
    await publishing;
    await until('views equal the fold of the log', () => t.exact(events), 90_000);
    expect(await t.appliedCounts()).toEqual(expectedCounts(events));
    expect(metricValue(await second.metrics(), 'strata_projector_generation')).toBe(1);
  }, 180_000);

  it('two projectors share the partitions; when one stops the other takes over', async () => {
    await using t = await setup(4, inject('services').redisUrl);
    const a = t.start();
    const b = t.start();
    await until(
      'both own partitions',
      async () => {
        const [ma, mb] = await Promise.all([a.metrics(), b.metrics()]);
        return (
          metricValue(ma, 'strata_projector_assigned_partitions') +
            metricValue(mb, 'strata_projector_assigned_partitions') ===
            4 &&
          metricValue(ma, 'strata_projector_assigned_partitions') > 0 &&
          metricValue(mb, 'strata_projector_generation') === 1
        );
      },
      60_000,
      () =>
        `; last log lines:\n${[a, b]
          .map(
            (p, i) =>
              `${'ab'[i]}: ${p.lines
                .slice(-12)
                .map((l) => JSON.stringify(l))
                .join('\n   ')}`,
          )
          .join('\n')}`,
    );
    let events = await t.append(3_000, 2);
    await t.publish();
    await until('views equal the fold of the log', () => t.exact(events));
    // Both applied part of the stream through Kafka (which part depends on how keys hash to partitions).
    const appliedA = metricValue(await a.metrics(), 'strata_projector_applied_events_total');
    const appliedB = metricValue(await b.metrics(), 'strata_projector_applied_events_total');
    expect(appliedA + appliedB).toBe(Object.values(expectedCounts(events)).reduce((x, y) => x + y, 0));

    a.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    events = await t.append(2_000, 3);
    await t.publish();
    await until(
      'the survivor owns every partition',
      async () => metricValue(await b.metrics(), 'strata_projector_assigned_partitions') === 4,
    );
    await until('views equal the fold of the log', () => t.exact(events));
    expect(await t.appliedCounts()).toEqual(expectedCounts(events));
  }, 180_000);

  it('FLUSHDB: the projector notices the missing marker and rebuilds the same views', async () => {
    await using t = await setup(2, redisOn(12));
    let events = await t.append(3_000, 4);
    const projector = t.start();
    await t.publish();
    await until('views equal the fold of the log', () => t.exact(events));
    const before = await Promise.all(
      sampleScopes.map(({ namespace, environment }) => t.reader.loadView(namespace, environment)),
    );

    await t.redis.flushdb();
    events = await t.append(500, 5);
    await t.publish();
    await until('a rebuilt generation is live', async () => (await t.redis.get(`${t.prefix}g1:marker`)) === 'ready');
    await until('views equal the fold of the log', () => t.exact(events));
    for (const [i, { namespace, environment }] of sampleScopes.entries()) {
      const view = await t.reader.loadView(namespace, environment);
      expect(view.position).toBeGreaterThanOrEqual(before[i]!.position);
    }
    expect(await t.appliedCounts()).toEqual(expectedCounts(events));
    expect(projector.lines.some((line) => line.msg === 'rebuild finished')).toBe(true);
  }, 180_000);
});
