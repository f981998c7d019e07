import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { InMemoryEventLog, type RecordedEvent } from '@strata/core';
import { createPool, PostgresEventLog } from '@strata/postgres-log';
import { createTestDatabase, dumpKeys, testRedis } from '@strata/testing';
import {
  RedisViewReader,
  RedisViewStore,
  globalKeys,
  parseViewChanges,
  secretField,
  staleAfterMs,
  viewKeys,
  viewTag,
  type ViewChange,
} from './index.js';
import {
  appendSampleEvents,
  comparableState,
  expectedViewState,
  recordEvents,
  sampleEvents,
  sampleScopes,
  sampleStreamId,
  testViews,
} from '@strata/core/testing';

const expectedState = expectedViewState;
const comparable = comparableState;

const collect = async (url: string, channel: string) => {
  const subscriber = new Redis(url);
  const collected = { messages: [] as ViewChange[], raw: 0, [Symbol.dispose]: () => subscriber.disconnect() };
  subscriber.on('message', (_channel: string, message: string) => {
    collected.raw++;
    collected.messages.push(...parseViewChanges(message));
  });
  await subscriber.subscribe(channel);
  return collected;
};

const appendAll = appendSampleEvents;

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

/** A PostgreSQL event log in its own test database holding `events`; closed and dropped on dispose. */
const postgresLog = async (events: Parameters<typeof appendAll>[1]) => {
  const db = await createTestDatabase();
  const pool = createPool(db.url);
  const log = new PostgresEventLog(pool);
  await appendAll(log, events);
  return {
    log,
    [Symbol.asyncDispose]: async () => {
      await pool.end();
      await db[Symbol.asyncDispose]();
    },
  };
};

testViews('RedisViewStore + RedisViewReader', async () => {
  const redis = await testRedis();
  return {
    store: new RedisViewStore({ redis: redis.client, prefix: redis.prefix }),
    reader: new RedisViewReader({ redis: redis.client, prefix: redis.prefix }),
    [Symbol.asyncDispose]: () => redis[Symbol.asyncDispose](),
  };
});

/** What only the Redis views do: byte-exact keys, notifications, generations dropped, FLUSHDB noticed. */
describe('RedisViewStore and RedisViewReader', () => {
  it("keeps secrets as ciphertext envelopes only, the tenant's own before the environment's", async () => {
    await using redis = await testRedis();
    const store = new RedisViewStore({ redis: redis.client, prefix: redis.prefix });
    const reader = new RedisViewReader({ redis: redis.client, prefix: redis.prefix });
    await store.rebuild({ eventLog: new InMemoryEventLog(), dropDelayMs: 0 });
    const events = recordEvents(sampleEvents(3_000, 7));
    for (let i = 0; i < events.length; i += 97) await store.applyEvents(events.slice(i, i + 97));
    // Secrets: ciphertext envelopes only, tenant's own before the environment's.
    const withSecret = events.findLast((e) => e.type === 'SecretVersionAdded' && e.data.tenant !== null);
    if (withSecret?.type !== 'SecretVersionAdded') throw new Error('sample lacks a tenant secret');
    const { namespace, environment, tenant } = withSecret.data;
    const meta = await reader.secretMeta(namespace, environment, tenant, 'api_key');
    const later = events.filter(
      (e) =>
        e.position > withSecret.position &&
        e.type === 'SecretDeleted' &&
        e.data.tenant === tenant &&
        e.data.namespace === namespace &&
        e.data.environment === environment,
    );
    if (later.length === 0) {
      expect(meta?.source).toBe('tenant');
      expect(meta?.versions.at(-1)?.version).toBe(withSecret.data.version);
      expect(JSON.stringify(meta)).not.toContain(withSecret.data.envelope.ciphertext);
    }
  });

  it('redelivering any events leaves every key unchanged and publishes nothing', async () => {
    await using redis = await testRedis();
    const store = new RedisViewStore({ redis: redis.client, prefix: redis.prefix });
    await store.rebuild({ eventLog: new InMemoryEventLog(), dropDelayMs: 0 });
    const events = recordEvents(sampleEvents(2_000, 11));
    const first = await store.applyEvents(events);
    expect(first.applied + first.ignored).toBe(events.length);
    const before = await dumpKeys(redis.client, redis.prefix);
    using notes = await collect(redis.url, globalKeys(redis.prefix).changes);

    // Kafka redelivers from an older committed offset: a suffix, in order, in any batch sizes…
    for (const from of [0, 500, 1_999]) {
      const result = await store.applyEvents(events.slice(from));
      expect(result.applied).toBe(0);
    }
    // …and a single stale event of any view on its own.
    for (const i of [0, 3, 777, 1_500]) expect((await store.applyEvents([events[i]!])).applied).toBe(0);
    await settle();
    expect(await dumpKeys(redis.client, redis.prefix)).toEqual(before);
    expect(notes.messages).toEqual([]);
  });

  it('publishes every applied event once, one message per view and batch, on the view channel and the global one', async () => {
    await using redis = await testRedis();
    const store = new RedisViewStore({ redis: redis.client, prefix: redis.prefix });
    await store.rebuild({ eventLog: new InMemoryEventLog(), dropDelayMs: 0 });
    using onView = await collect(redis.url, `${redis.prefix}changes:{shelfwise/prod}`);
    using onAll = await collect(redis.url, `${redis.prefix}changes`);
    const scope = { namespace: 'shelfwise', environment: 'prod' };
    const metadata = { actor: 't' };
    const events = recordEvents(
      [
        { type: 'ConfigValueSet', data: { ...scope, tenant: 'acme', key: 'theme.color', value: 'red' }, metadata },
        { type: 'FlagRolloutChanged', data: { ...scope, flag: 'new_checkout', rollout: 5, enabled: true }, metadata },
        {
          type: 'ConfigValueSet',
          data: { ...scope, environment: 'dev', tenant: null, key: 'a"b', value: 1 },
          metadata,
        },
        { type: 'SegmentSet', data: { ...scope, segment: 'beta', logic: { '==': [1, 1] } }, metadata },
        { type: 'SecretDeleted', data: { ...scope, tenant: null, name: 'api_key' }, metadata },
      ],
      42,
    );
    await store.applyEvents(events.slice(0, 3));
    // A redelivered prefix with new events behind it: only the new ones are announced.
    await store.applyEvents(events.slice(1));
    await settle();
    const change = { kind: 'change', ...scope, tenant: null, keys: [], flags: [], secrets: [], generation: 1 };
    const prod = [
      { ...change, tenant: 'acme', keys: ['theme.color'], position: 42 },
      { ...change, flags: ['new_checkout'], position: 43 },
      { ...change, segments: ['beta'], position: 45 },
      { ...change, secrets: ['api_key'], position: 46 },
    ];
    const dev = { ...change, environment: 'dev', keys: ['a"b'], position: 44 };
    expect(onView.messages).toEqual(prod);
    expect(onView.raw).toBe(2);
    expect(onAll.messages).toEqual(expect.arrayContaining([...prod, dev]));
    expect(onAll.messages).toHaveLength(5);
    expect(onAll.raw).toBe(3);
  });

  it("does not move a view past a failed call: the view's later calls of the batch apply nothing, and the redelivery everything", async () => {
    await using redis = await testRedis();
    const store = new RedisViewStore({ redis: redis.client, prefix: redis.prefix, chunkSize: 2 });
    const reader = new RedisViewReader({ redis: redis.client, prefix: redis.prefix });
    await store.rebuild({ eventLog: new InMemoryEventLog(), dropDelayMs: 0 });
    const scope = { namespace: 'shelfwise', environment: 'prod' };
    const metadata = { actor: 't' };
    const events = recordEvents(
      [
        { type: 'ConfigValueSet', data: { ...scope, tenant: null, key: 'a', value: 1 }, metadata },
        { type: 'SecretDeleted', data: { ...scope, tenant: null, name: 'api_key' }, metadata },
        { type: 'ConfigValueSet', data: { ...scope, tenant: null, key: 'b', value: 2 }, metadata },
        { type: 'ConfigValueSet', data: { ...scope, tenant: null, key: 'c', value: 3 }, metadata },
      ],
      10,
    );
    // A stored secret the script cannot decode makes the first call of the batch fail half-way.
    const keys = viewKeys(redis.prefix, 1, viewTag('shelfwise', 'prod'));
    await redis.client.hset(keys.secrets, secretField(null, 'api_key'), 'not json');
    await expect(store.applyEvents(events)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(await redis.client.get(keys.pos)).toBeNull();
    await redis.client.hdel(keys.secrets, secretField(null, 'api_key'));
    expect(await store.applyEvents(events)).toMatchObject({ applied: 4, duplicates: 0 });
    const view = await reader.loadView('shelfwise', 'prod');
    expect(view.state.position).toBe(13);
    expect([...view.state.environmentValues.keys()].sort()).toEqual(['a', 'b', 'c']);
  });

  it('rebuilds into the same views, switches generation atomically, announces it and drops the old one', async () => {
    await using redis = await testRedis();
    const log = new InMemoryEventLog();
    await appendAll(log, sampleEvents(3_000, 5));
    const events = await log.readAll(0, 10_000);
    const store = new RedisViewStore({ redis: redis.client, prefix: redis.prefix });
    const reader = new RedisViewReader({ redis: redis.client, prefix: redis.prefix });
    const first = await store.rebuild({ eventLog: log, pageSize: 700, dropDelayMs: 0 });
    expect(first).toMatchObject({ generation: 1, previous: null, events: events.length, rebuilt: true });
    const views = await Promise.all(
      sampleScopes.map(({ namespace, environment }) => reader.loadView(namespace, environment)),
    );
    for (const [i, { namespace, environment }] of sampleScopes.entries()) {
      expect(comparable(views[i]!.state)).toEqual(expectedState(events, namespace, environment));
    }
    using notes = await collect(redis.url, globalKeys(redis.prefix).changes);
    const progress: number[] = [];
    const second = await store.rebuild({
      eventLog: log,
      pageSize: 1_000,
      dropDelayMs: 0,
      onProgress: (p) => progress.push(p.position),
    });
    expect(second).toMatchObject({ generation: 2, previous: 1 });
    expect(progress.at(-1)).toBe(events.at(-1)!.position);
    for (const [i, { namespace, environment }] of sampleScopes.entries()) {
      const again = await reader.loadView(namespace, environment);
      expect(again.generation).toBe(2);
      expect(comparable(again.state)).toEqual(comparable(views[i]!.state));
    }
    expect(await redis.client.keys(`${redis.prefix}g1:*`)).toEqual([]);
    await settle();
    expect(notes.messages).toEqual([expect.objectContaining({ kind: 'generation', generation: 2 })]);
  });

  it('reads pages ahead and still misses nothing when positions have gaps', async () => {
    await using redis = await testRedis();
    await using pg = await postgresLog(sampleEvents(1_500, 5));
    const log = pg.log;
    // Every 7th position left out: a page guessed to start at the previous one plus the page size is wrong.
    const gapped = (await log.readAll(0, 10_000)).map((e) => ({
      ...e,
      position: e.position + Math.floor(e.position / 7),
    }));
    const reads: number[] = [];
    const eventLog = {
      headPosition: async () => gapped.at(-1)!.position,
      readForViews: async (after: number, limit: number) => {
        reads.push(after);
        return gapped.filter((e) => e.position > after).slice(0, limit);
      },
    };
    const store = new RedisViewStore({ redis: redis.client, prefix: redis.prefix });
    const result = await store.rebuild({ eventLog, pageSize: 100, dropDelayMs: 0 });
    expect(result).toMatchObject({ events: gapped.length, position: gapped.at(-1)!.position });
    expect(reads.length).toBeGreaterThan(gapped.length / 100); // guesses were made and dropped
    const reader = new RedisViewReader({ redis: redis.client, prefix: redis.prefix });
    for (const { namespace, environment } of sampleScopes) {
      const view = await reader.loadView(namespace, environment);
      expect(comparable(view.state)).toEqual(expectedState(gapped, namespace, environment));
    }
  });

  it('loses nothing when rebuilding under continuous writes, and a polling reader never sees a partial view', async () => {
    await using redis = await testRedis();
    const initial = sampleEvents(20_000, 3);
    await using pg = await postgresLog(initial);
    const log = pg.log;
    const store = new RedisViewStore({ redis: redis.client, prefix: redis.prefix });
    const reader = new RedisViewReader({ redis: redis.client, prefix: redis.prefix });
    await store.rebuild({ eventLog: log, dropDelayMs: 0 });

    // A live projector stand-in: tails the log and applies in order, as Kafka would deliver.
    let stop = false;
    let tail = await log.headPosition();
    const live = (async () => {
      while (!stop) {
        const page = await log.readAll(tail, 500);
        if (page.length > 0) {
          await store.applyEvents(page);
          tail = page.at(-1)!.position;
        } else await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const writer = (async () => {
      let i = 100_000;
      for (const event of sampleEvents(100_000, 9, 100_000)) {
        if (stop) break;
        await log.append(sampleStreamId(event), [event]);
        i++;
      }
      return i;
    })();
    // The reader: every snapshot must be the fold of the log up to the position it reports.
    const checked: number[] = [];
    const poller = (async () => {
      const { namespace, environment } = sampleScopes[0];
      let last = 0;
      const known: RecordedEvent[] = [];
      while (!stop) {
        const view = await reader.loadView(namespace, environment);
        expect(view.position).toBeGreaterThanOrEqual(last);
        last = view.position;
        while ((known.at(-1)?.position ?? 0) < view.position)
          known.push(...(await log.readAll(known.at(-1)?.position ?? 0, 10_000)));
        expect(comparable(view.state)).toEqual(expectedState(known, namespace, environment, view.position));
        checked.push(view.generation);
      }
    })();
    const rebuilt = await store.rebuild({ eventLog: log, pageSize: 2_000, dropDelayMs: 100 });
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await Promise.all([live, writer, poller]);
    // Drain what the writer appended last, then compare every view with the fold of the whole log.
    for (let page = await log.readAll(tail, 5_000); page.length > 0; page = await log.readAll(tail, 5_000)) {
      await store.applyEvents(page);
      tail = page.at(-1)!.position;
    }
    const all = await log.readAll(0, 1_000_000);
    expect(rebuilt.generation).toBe(2);
    expect(all.length).toBeGreaterThan(initial.length);
    for (const { namespace, environment } of sampleScopes) {
      expect(comparable((await reader.loadView(namespace, environment)).state)).toEqual(
        expectedState(all, namespace, environment),
      );
    }
    expect(checked).toContain(1);
    expect(checked).toContain(2);
  }, 120_000);

  it('notices lost data (FLUSHDB), keeps the positions it dropped meanwhile, and rebuilds the same views', async () => {
    // FLUSHDB needs a logical database of its own: other spec files share the server's db 0.
    const { redisUrl } = (await import('vitest')).inject('services');
    const url = new URL(redisUrl);
    url.pathname = '/11';
    const client = new Redis(url.toString());
    await using db = await createTestDatabase();
    const pool = createPool(db.url);
    try {
      await client.flushdb();
      const log = new PostgresEventLog(pool);
      await appendAll(log, sampleEvents(2_000, 21));
      const store = new RedisViewStore({ redis: client });
      const reader = new RedisViewReader({ redis: client });
      expect(await store.needsRebuild()).toBe(true);
      await store.rebuild({ eventLog: log, dropDelayMs: 0 });
      expect(await store.needsRebuild()).toBe(false);
      const before = await Promise.all(
        sampleScopes.map(({ namespace, environment }) => reader.loadView(namespace, environment)),
      );

      await client.flushdb();
      expect(await store.needsRebuild()).toBe(true);
      await expect(reader.loadView('shelfwise', 'prod')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      // Live events arriving while no generation exists are dropped but remembered as `missed`.
      await appendAll(log, sampleEvents(50, 22, 5_000));
      const fresh = await log.readAll(
        before.reduce((max, v) => Math.max(max, v.position), 0),
        1_000,
      );
      const lost = await store.applyEvents(fresh.slice(-10));
      expect(lost.lost).toBe(true);
      expect(Number(await client.get(globalKeys('strata:').missed))).toBe(fresh.at(-1)!.position);

      const rebuilt = await store.rebuild({ eventLog: log, dropDelayMs: 0 });
      expect(rebuilt.generation).toBe(1);
      const all = await log.readAll(0, 100_000);
      for (const [i, { namespace, environment }] of sampleScopes.entries()) {
        const view = await reader.loadView(namespace, environment);
        expect(comparable(view.state)).toEqual(expectedState(all, namespace, environment));
        expect(view.position).toBeGreaterThanOrEqual(before[i]!.position);
      }
    } finally {
      await client.flushdb();
      client.disconnect();
      await pool.end();
    }
  });
});

describe('RedisViewStore partition lag', () => {
  it('keeps the last report per partition with its reporter, stamped and aged by Redis, and marks silent ones stale', async () => {
    await using redis = await testRedis();
    const store = new RedisViewStore({ redis: redis.client, prefix: redis.prefix });
    expect(await store.partitionLag()).toEqual([]);
    await store.publishPartitionLag({ instance: 'host-a:1', everyMs: 100 }, [
      { partition: 1, committed: 40, highWatermark: 42 },
      { partition: 0, committed: 7, highWatermark: 7 },
    ]);
    // Another member took partition 1 over: its report replaces the old owner's, partition 0 stays.
    await store.publishPartitionLag({ instance: 'host-b:2', everyMs: 100 }, [
      { partition: 1, committed: 42, highWatermark: 45 },
    ]);
    await store.publishPartitionLag({ instance: 'host-b:2', everyMs: 100 }, []);
    const [p0, p1, ...rest] = await store.partitionLag();
    expect(rest).toEqual([]);
    expect(p0).toMatchObject({
      partition: 0,
      committed: 7,
      highWatermark: 7,
      lag: 0,
      instance: 'host-a:1',
      stale: false,
    });
    expect(p1).toMatchObject({
      partition: 1,
      committed: 42,
      highWatermark: 45,
      lag: 3,
      instance: 'host-b:2',
      stale: false,
    });
    const time = await redis.client.time();
    const redisNow = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
    expect(Math.abs(Date.parse(p1!.updatedAt) - redisNow)).toBeLessThan(1_000);
    expect(p1!.ageMs).toBeGreaterThanOrEqual(0);
    expect(p1!.ageMs).toBeLessThan(1_000);
    expect(JSON.parse((await redis.client.hget(globalKeys(redis.prefix).partitionLag, '1'))!)).toMatchObject({
      partition: 1,
      lag: 3,
      instance: 'host-b:2',
      everyMs: 100,
    });

    // Nobody reports any more: the entries keep their last numbers but say they are stale.
    await new Promise((resolve) => setTimeout(resolve, staleAfterMs(100) + 200));
    const silent = await store.partitionLag();
    expect(silent.map((p) => [p.partition, p.lag, p.stale])).toEqual([
      [0, 0, true],
      [1, 3, true],
    ]);
    expect(silent[0]!.ageMs).toBeGreaterThan(staleAfterMs(100));
  });
});
