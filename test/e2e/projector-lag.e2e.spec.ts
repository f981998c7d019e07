import { Redis } from 'ioredis';
import { expect, test } from 'vitest';
import { staleAfterMs, viewKeys, viewTag } from '@strata/redis-views';
import { sleep, startStack, type Json } from './stack-fixture.js';

/**
 * Projector lag per partition, end to end: real API, relay and projector processes on a real
 * 3-partition topic, lag read back through `GET /v1/projections/status`. A partition whose
 * batches keep failing is reported behind, by the live member that owns it, while the others
 * stay at 0; once its batches go through it drops to 0. A stopped projector's entries turn
 * stale (its last numbers kept) instead of claiming 0 lag forever; started again, it catches up
 * and reports 0, fresh, for every partition.
 */

const ns = 'laggy';
const key = 'limits.rpm';
const manifest = { keys: { [key]: { type: 'integer', default: 60, minimum: 1 } }, flags: {}, secrets: {} };
/** Enough environments (each its own Kafka key) that every one of the 3 partitions gets events. */
const envs = Array.from({ length: 12 }, (_, i) => `e${i}`);
const reportEveryMs = 200;

interface Partition {
  partition: number;
  committed: number;
  highWatermark: number;
  lag: number;
  instance: string;
  updatedAt: string;
  ageMs: number;
  stale: boolean;
}

test('lag per partition: a stuck partition is reported behind and drops to 0; a stopped projector reads as stale', async () => {
  await using stack = await startStack({
    partitions: 3,
    env: { LOG_LEVEL: 'warn', PROJECTOR_WATCH_INTERVAL_MS: String(reportEveryMs) },
  });
  const ok = async (method: string, path: string, body?: unknown): Promise<Json> => {
    const answer = await stack.call(method, path, body);
    expect(answer.status, `${method} ${path}: ${answer.text}`).toBeLessThan(300);
    return answer.body;
  };
  const partitions = async (): Promise<Partition[]> => (await ok('GET', '/v1/projections/status')).partitions;
  const poll = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 30_000, interval: 100 });
  const summary = async () => (await partitions()).map(({ partition, lag, stale }) => ({ partition, lag, stale }));
  const everyPartition = (lag: number, stale: boolean) => [0, 1, 2].map((partition) => ({ partition, lag, stale }));
  /** Waits on the end offsets too: "0 behind" is also true before the relay has published every event. */
  const caughtUpAt = async () => {
    const now = await partitions();
    return {
      partitions: now.map(({ partition, lag, stale }) => ({ partition, lag, stale })),
      events: now.reduce((sum, p) => sum + p.highWatermark, 0),
    };
  };

  await ok('PUT', `/v1/namespaces/${ns}/manifest`, { ...manifest, reason: 'lag e2e' });
  for (const [i, env] of envs.entries())
    await ok('PUT', `/v1/namespaces/${ns}/envs/${env}/config/${key}`, { value: 100 + i, reason: 'seed' });

  // 1. Caught up: every partition reported by the projector process, 0 behind, fresh.
  await poll(caughtUpAt).toEqual({
    partitions: everyPartition(0, false),
    events: envs.length + 1,
  });
  const caughtUp = await partitions();
  expect(caughtUp.reduce((sum, p) => sum + p.highWatermark, 0)).toBe(envs.length + 1);
  for (const p of caughtUp) {
    expect(p.committed).toBe(p.highWatermark);
    expect(p.instance).toMatch(/^.+:\d+$/);
    expect(Date.parse(p.updatedAt)).not.toBeNaN();
  }

  // 2. A partition whose batches keep failing: a fresh view's position key holds garbage, so the
  //    projector's apply script fails on every delivery of that partition's next batch.
  const redis = new Redis(stack.redisUrl);
  try {
    const generation = (await ok('GET', '/v1/projections/status')).generation as number;
    const jammed = viewKeys(stack.prefix, generation, viewTag(ns, 'stuck')).pos;
    await redis.set(jammed, 'not-a-position');
    for (let i = 1; i <= 5; i++)
      await ok('PUT', `/v1/namespaces/${ns}/envs/stuck/config/${key}`, { value: 1000 + i, reason: 'jam' });
    await poll(async () =>
      (await partitions()).filter((p) => p.lag > 0).map(({ lag, stale }) => ({ lag, stale })),
    ).toEqual([{ lag: 5, stale: false }]);
    const behind = (await partitions()).find((p) => p.lag > 0)!;
    expect(behind.highWatermark - behind.committed).toBe(5);
    // Still behind a few reports later (it is stuck, not slow), reported fresh by its live owner.
    await sleep(reportEveryMs * 5);
    expect((await partitions()).find((p) => p.partition === behind.partition)).toMatchObject({ lag: 5, stale: false });

    // Unjammed: the redelivered batch goes through and the partition drops to 0.
    await redis.del(jammed);
    await poll(summary).toEqual(everyPartition(0, false));
    const view = await ok('GET', `/v1/namespaces/${ns}/envs/stuck/config?minPosition=${envs.length + 6}`);
    expect(view.values[key]).toMatchObject({ value: 1005, source: 'environment' });
  } finally {
    redis.disconnect();
  }

  // 3. The projector stops; events keep arriving. Nobody reports: the entries keep their last
  //    numbers and say they are stale, rather than showing "0 behind" for ever.
  const stoppedAt = Date.now();
  await stack.kill('projector', 'SIGTERM');
  for (const [i, env] of envs.entries())
    await ok('PUT', `/v1/namespaces/${ns}/envs/${env}/config/${key}`, { value: 200 + i, reason: 'while stopped' });
  await poll(summary).toEqual(everyPartition(0, true));
  expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(staleAfterMs(reportEveryMs) - 500);
  for (const p of await partitions()) expect(p.ageMs).toBeGreaterThan(staleAfterMs(reportEveryMs));

  // 4. Started again: it catches up, and every partition reads 0, fresh, at the new end offsets.
  await stack.restart('projector');
  await poll(caughtUpAt).toEqual({
    partitions: everyPartition(0, false),
    events: 2 * envs.length + 6,
  });
  const after = await partitions();
  expect(after.reduce((sum, p) => sum + p.highWatermark, 0)).toBe(2 * envs.length + 6);
  for (const p of after) expect(p.committed).toBe(p.highWatermark);
  expect(after[0]!.instance).not.toBe(caughtUp[0]!.instance);
});
