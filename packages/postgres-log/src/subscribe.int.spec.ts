import { InMemoryCheckpoints, type RecordedEvent } from '@strata/core';
import { createTestDatabase } from '@strata/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChain } from './hash-chain.js';
import { PostgresEventLog } from './postgres-event-log.js';
import { PostgresCheckpoints } from './postgres-checkpoints.js';
import { subscribe, type SubscribeOptions } from './subscribe.js';
import { configValueSet } from '@strata/core/testing';

const waitFor = async (condition: () => boolean | Promise<boolean>, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

/** BRIEF invariant 2: every committed event, exactly once, in position order, under concurrent writers. */
describe('subscribe', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let pool: pg.Pool;

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.appUrl, max: 40 });
  });

  afterAll(async () => {
    await pool.end();
    await db[Symbol.asyncDispose]();
  });

  /** `count` events of namespace `name` appended after the head, and a checkpoint `name` at that head. */
  const appendedAfterCheckpoint = async (name: string, count: number) => {
    const log = new PostgresEventLog(pool);
    const start = await log.headPosition();
    await log.append(
      `env:${name}/prod`,
      Array.from({ length: count }, (_, i) => configValueSet(`k.v${i}`, i, { namespace: name })),
    );
    const checkpoints = new InMemoryCheckpoints({ now: () => new Date() });
    await checkpoints.save(name, start);
    return { start, checkpoints };
  };

  it('delivers every event of 32 concurrent writers exactly once, in order, while they write', async () => {
    const delivered: number[] = [];
    const subscription = await subscribe({
      pool,
      consumer: 'concurrency',
      batchSize: 50,
      // Slow polling: delivery has to come from the notifications.
      pollIntervalMs: 5_000,
      handler: async (events) => {
        delivered.push(...events.map((e) => e.position));
      },
    });

    const writers = 32;
    const commandsPerWriter = 60;
    // One log instance per writer: 32 connections, 32 transactions racing for the head.
    await Promise.all(
      Array.from({ length: writers }, async (_, writer) => {
        const log = new PostgresEventLog(pool);
        for (let i = 0; i < commandsPerWriter; i += 1) {
          const events =
            i % 10 === 0 ? [configValueSet('a.b', i), configValueSet('a.c', i)] : [configValueSet('a.b', i)];
          const result = await log.append(`tenant:shop/prod/t${writer}`, events, { expectedVersion: 'any' });
          expect(result.ok).toBe(true);
        }
      }),
    );
    const head = await new PostgresEventLog(pool).headPosition();
    expect(head).toBe(writers * (commandsPerWriter + commandsPerWriter / 10));
    await waitFor(() => delivered.length >= head);
    await subscription.stop();

    expect(delivered).toEqual(Array.from({ length: head }, (_, i) => i + 1));
    expect(subscription.position()).toBe(head);
    expect(await new PostgresCheckpoints(pool).load('concurrency')).toBe(head);
    // The chain the database built under contention is the one the application recomputes.
    expect(await verifyChain(pool)).toEqual({ ok: true, checked: head, head });
  });

  it('resumes after its checkpoint and redelivers a batch whose handler failed', async () => {
    const log = new PostgresEventLog(pool);
    const start = await log.headPosition();
    const checkpoints = new InMemoryCheckpoints({ now: () => new Date() });
    await checkpoints.save('resume', start);
    const delivered: RecordedEvent[] = [];
    const errors: unknown[] = [];
    let failOnce = true;
    const subscription = await subscribe({
      pool,
      consumer: 'resume',
      checkpoints,
      pollIntervalMs: 20,
      onError: (error) => errors.push(error),
      handler: async (events) => {
        if (failOnce) {
          failOnce = false;
          throw new Error('projector down');
        }
        delivered.push(...events);
      },
    });
    await log.append('env:shop/prod', [configValueSet('x.y', 1), configValueSet('x.z', 2)]);
    await waitFor(() => delivered.length >= 2);
    await subscription.stop();

    expect(errors).toHaveLength(1);
    expect(delivered.map((e) => e.position)).toEqual([start + 1, start + 2]);
    expect(await checkpoints.load('resume')).toBe(start + 2);

    // A new subscription with the same checkpoint sees only what came after it.
    await log.append('env:shop/prod', [configValueSet('x.w', 3)]);
    const later: number[] = [];
    const resumed = await subscribe({
      pool,
      consumer: 'resume',
      checkpoints,
      handler: async (events) => void later.push(...events.map((e) => e.position)),
    });
    await waitFor(() => later.length >= 1);
    await resumed.stop();
    expect(later).toEqual([start + 3]);
  });
  it('reads the next page while a full one is handled, and drops it when the handler fails', async () => {
    const { start, checkpoints } = await appendedAfterCheckpoint('ahead', 10);
    const pages: number[][] = [];
    const checkpointsSeen: number[] = [];
    let failures = 0;
    const subscription = await subscribe({
      pool,
      consumer: 'ahead',
      checkpoints,
      batchSize: 3,
      checkpointEveryMs: 0,
      pollIntervalMs: 20,
      onError: () => undefined,
      handler: async (events) => {
        checkpointsSeen.push(await checkpoints.load('ahead'));
        // The second page fails twice while the third is already being read.
        if (events[0]!.position === start + 4 && failures < 2) {
          failures += 1;
          throw new Error('downstream down');
        }
        pages.push(events.map((e) => e.position));
      },
    });
    await waitFor(() => pages.flat().length >= 10);
    await subscription.stop();

    expect(pages.flat()).toEqual(Array.from({ length: 10 }, (_, i) => start + 1 + i));
    expect(pages.map((page) => page.length)).toEqual([3, 3, 3, 1]);
    // Each page starts where the checkpoint stands: nothing after a failed page was handled first.
    expect(checkpointsSeen).toEqual([start, start + 3, start + 3, start + 3, start + 6, start + 9]);
    expect(await checkpoints.load('ahead')).toBe(start + 10);
  });

  it('saves a page while the next is handled, one save at a time, and redelivers from the last save that failed', async () => {
    const { start, checkpoints: inner } = await appendedAfterCheckpoint('saves', 9);
    const savesStarted: number[] = [];
    let savesRunning = 0;
    let mostAtOnce = 0;
    let failNext = true;
    // A slow store whose second save fails once.
    const checkpoints = {
      load: (name: string) => inner.load(name),
      list: () => inner.list(),
      save: async (name: string, position: number) => {
        savesStarted.push(position);
        mostAtOnce = Math.max(mostAtOnce, ++savesRunning);
        try {
          await new Promise((resolve) => setTimeout(resolve, 30));
          if (position === start + 6 && failNext) {
            failNext = false;
            throw new Error('checkpoint store down');
          }
          await inner.save(name, position);
        } finally {
          savesRunning -= 1;
        }
      },
    };
    const handled: number[][] = [];
    const errors: unknown[] = [];
    const subscription = await subscribe({
      pool,
      consumer: 'saves',
      checkpoints,
      batchSize: 3,
      checkpointEveryMs: 0,
      pollIntervalMs: 20,
      onError: (error) => errors.push(error),
      handler: async (events) => void handled.push(events.map((e) => e.position)),
    });
    await waitFor(async () => (await inner.load('saves')) === start + 9);
    await subscription.stop();

    expect(errors).toHaveLength(1);
    expect(mostAtOnce).toBe(1);
    // Page 7–9 was handled while 4–6 was being saved; that save failed, so both are handled again.
    expect(handled.map((page) => page[0]! - start)).toEqual([1, 4, 7, 4, 7]);
    expect(savesStarted.at(-1)).toBe(start + 9);
    expect(subscription.position()).toBe(start + 9);
  });

  /**
   * A subscription from the head on a checkpoint store that records every save (and fails the ones
   * `fail` picks), delivering positions into `delivered`.
   */
  const recordedSubscription = async (
    consumer: string,
    options: Pick<SubscribeOptions, 'checkpointEveryMs' | 'pollIntervalMs' | 'onError'> & { fail?: () => boolean },
  ) => {
    const log = new PostgresEventLog(pool);
    const start = await log.headPosition();
    const inner = new InMemoryCheckpoints({ now: () => new Date() });
    await inner.save(consumer, start);
    const saves: number[] = [];
    const delivered: number[] = [];
    const { fail, ...timing } = options;
    const subscription = await subscribe({
      pool,
      consumer,
      ...timing,
      checkpoints: {
        load: (name) => inner.load(name),
        list: () => inner.list(),
        save: async (name, position) => {
          saves.push(position);
          if (fail?.()) throw new Error('checkpoint store down');
          await inner.save(name, position);
        },
      },
      handler: async (events) => void delivered.push(...events.map((e) => e.position)),
    });
    return { log, start, saved: () => inner.load(consumer), saves, delivered, subscription };
  };

  it('saves at most one checkpoint per checkpointEveryMs while events keep coming, and the last one soon after', async () => {
    const { log, start, saved, saves, delivered, subscription } = await recordedSubscription('coalesced', {
      checkpointEveryMs: 200,
      pollIntervalMs: 5_000,
    });
    try {
      // 40 single-event appends 10 ms apart: about 40 pages over half a second or more.
      const began = performance.now();
      for (let i = 0; i < 40; i++) {
        await log.append('env:coalesced/prod', [configValueSet('c.v', i)]);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const appendedFor = performance.now() - began;
      await waitFor(() => delivered.length >= 40);
      // The last page is saved within checkpointEveryMs of being handled, with no new event to wake the loop.
      const caughtUp = performance.now();
      await waitFor(async () => (await saved()) === start + 40, 5_000);
      expect(performance.now() - caughtUp).toBeLessThan(1_000);
      // One save per 200 ms at most, plus the first (due at once) and the last.
      expect(saves.length).toBeLessThanOrEqual(Math.ceil(appendedFor / 200) + 2);
      expect(saves.length).toBeLessThan(40);
      expect(saves).toEqual([...saves].sort((a, b) => a - b));
      expect(delivered).toEqual(Array.from({ length: 40 }, (_, i) => start + 1 + i));
    } finally {
      await subscription.stop();
    }
  });

  it('saves on stop what was handled but not yet due', async () => {
    const { log, start, saved, saves, delivered, subscription } = await recordedSubscription('on-stop', {
      checkpointEveryMs: 60_000,
      pollIntervalMs: 5_000,
    });
    await log.append('env:on-stop/prod', [configValueSet('s.v', 1)]);
    // The first save is due at once.
    await waitFor(async () => (await saved()) === start + 1);
    await log.append('env:on-stop/prod', [configValueSet('s.v', 2)]);
    await waitFor(() => delivered.length >= 2);
    expect(await saved()).toBe(start + 1);
    await subscription.stop();
    expect(saves).toEqual([start + 1, start + 2]);
    expect(await saved()).toBe(start + 2);
    expect(subscription.position()).toBe(start + 2);
  });

  it('redelivers from the last saved checkpoint when a coalesced save fails, and still reaches the head', async () => {
    let failures = 0;
    const errors: unknown[] = [];
    const { log, start, saved, saves, delivered, subscription } = await recordedSubscription('coalesced-fail', {
      checkpointEveryMs: 50,
      pollIntervalMs: 20,
      onError: (error) => errors.push(error),
      fail: () => failures++ === 0,
    });
    try {
      for (let i = 0; i < 20; i++) {
        await log.append('env:coalesced-fail/prod', [configValueSet('f.v', i)]);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await waitFor(async () => (await saved()) === start + 20, 10_000);
    } finally {
      await subscription.stop();
    }
    expect(errors).toHaveLength(1);
    // Every event at least once, in order from the first; the failed save's pages came again.
    expect([...new Set(delivered)]).toEqual(Array.from({ length: 20 }, (_, i) => start + 1 + i));
    expect(delivered.length).toBeGreaterThan(20);
    expect(delivered.slice(0, 19)).toEqual([...delivered.slice(0, 19)].sort((a, b) => a - b));
    // The last save is the head, none beyond it.
    expect(Math.max(...saves)).toBe(start + 20);
  });
});
