import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import type { RecordedEvent } from '@strata/core';
import { RedisViewStore, viewChannel, viewTag } from '@strata/redis-views';
import { EventFactory } from '@strata/core/testing';
import { withOwnRedis } from '../test/own-redis.js';
import { shopConfig } from '../test/shop-config.js';
import { prodClient, seedViews } from '../test/view-fixture.js';
import type { ChangeEvent } from './strata-client.js';

/** Restarts a real Redis (the spec's own redis-server, test/own-redis.ts) under a running client. */

const until = async (check: () => boolean, timeoutMs: number, what: string): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
};

const prefix = 'strata:';
const namespace = 'restart';

/** The projector after a restart: its next apply finds no live generation, so it rebuilds from the log. */
const projectorRebuild = async (redis: Redis, log: RecordedEvent[], newer: RecordedEvent[]): Promise<void> => {
  const store = new RedisViewStore({ redis, prefix });
  log.push(...newer);
  if (newer.length > 0) expect((await store.applyEvents(newer)).lost).toBe(true);
  expect(await store.needsRebuild()).toBe(true);
  await store.rebuild({
    eventLog: {
      readForViews: async (after, limit) => log.filter((e) => e.position > after).slice(0, limit),
      headPosition: async () => log.at(-1)!.position,
    },
    dropDelayMs: 0,
  });
};

describe('createClient across a Redis restart', () => {
  /**
   * Both cases: seed, load, SIGKILL Redis, reads answer last known values (stale), restart it empty,
   * the client reconnects and resubscribes but has nothing to load (still stale, same values), the
   * projector rebuilds, the client converges and reports fresh, then follows live notifications.
   */
  it.each([
    { case: 'the log moved on while Redis was down', moved: true },
    { case: 'nothing was written meanwhile (same generation number and positions)', moved: false },
  ])(
    'given Redis killed and restarted empty, when $case, then reads keep answering (stale) and converge after the rebuild',
    async ({ moved }) =>
      withOwnRedis(async (own) => {
        const f = new EventFactory(namespace, 'prod');
        const log = [...shopConfig(f), f.override('acme', 'new_checkout', 'enabled')];
        await seedViews(await own.redis(), prefix, log);

        const staleSince: Date[] = [];
        const errors: unknown[] = [];
        // Default safety check interval (2 s): what a service runs with.
        await using c = prodClient({ url: own.url, prefix }, namespace, {
          hooks: { onStale: (since) => staleSince.push(since), onError: (error) => errors.push(error) },
        });
        await c.ready();
        const changes: ChangeEvent[] = [];
        c.onChange('rate_limit', (event) => changes.push(event));
        expect(c.get('rate_limit.requests_per_minute', { tenant: 'acme' })).toBe(500);
        expect(c.status()).toMatchObject({ ready: true, stale: false, position: log.length });

        // Redis dies.
        const killedAt = Date.now();
        await own.kill();
        await until(() => c.status().stale, 3_000, 'stale after the kill');
        console.log(`redis killed → status().stale: ${Date.now() - killedAt} ms`);
        expect(staleSince).toHaveLength(1);
        // Down for a while: reconnect attempts fail, reads keep answering the last known state.
        await sleep(500);
        expect(c.get('rate_limit.requests_per_minute', { tenant: 'acme' })).toBe(500);
        expect(c.get('rate_limit.requests_per_minute', { tenant: 'globex' })).toBe(100);
        expect(c.isEnabled('new_checkout', { tenant: 'acme' })).toBe(true);
        expect(c.resolve('rate_limit.requests_per_minute', { tenant: 'acme' })).toMatchObject({
          value: 500,
          source: 'tenant',
          stale: true,
        });
        expect(c.status()).toMatchObject({ ready: true, stale: true });

        // Redis comes back on the same port with nothing in it; the client reconnects and resubscribes.
        await own.restart();
        const admin = await own.redis();
        const channel = viewChannel(prefix, viewTag(namespace, 'prod'));
        const deadline = Date.now() + 5_000;
        while (((await admin.pubsub('NUMSUB', channel)) as [string, number])[1] !== 1) {
          if (Date.now() > deadline) throw new Error('client did not resubscribe');
          await sleep(20);
        }
        // Connected to an empty Redis: nothing confirms its state, so it keeps it and stays stale.
        await sleep(500);
        expect(c.get('rate_limit.requests_per_minute', { tenant: 'acme' })).toBe(500);
        expect(c.status().stale).toBe(true);
        expect(changes).toEqual([]);
        expect(errors.map(String)).toContainEqual(expect.stringMatching(/no live Redis view generation/));

        const newer = moved
          ? [
              f.set('rate_limit.requests_per_minute', 900, 'acme'),
              f.set('rate_limit.requests_per_minute', 120),
              f.set('checkout.currency', 'USD'),
            ]
          : [];
        const rebuiltAt = Date.now();
        await projectorRebuild(admin, log, newer);
        const acme = moved ? 900 : 500;
        await until(
          () => c.get('rate_limit.requests_per_minute', { tenant: 'acme' }) === acme && !c.status().stale,
          15_000,
          'convergence after the restart',
        );
        console.log(`rebuild after restart → converged: ${Date.now() - rebuiltAt} ms`);
        expect(c.get('rate_limit.requests_per_minute', { tenant: 'globex' })).toBe(moved ? 120 : 100);
        expect(c.get('checkout.currency', { tenant: 'acme' })).toBe(moved ? 'USD' : 'EUR');
        expect(c.resolve('rate_limit.requests_per_minute', { tenant: 'acme' })).toMatchObject({
          value: acme,
          stale: false,
        });
        expect(c.status()).toMatchObject({ ready: true, stale: false, staleSince: null, position: f.position });
        // The whole-view reload reports exactly what changed against the state held before
        // (README: change events); nothing when nothing changed.
        expect(changes.map(({ key, tenant, value, previous }) => ({ key, tenant, value, previous }))).toEqual(
          moved
            ? expect.arrayContaining([
                { key: 'rate_limit.requests_per_minute', tenant: 'acme', value: 900, previous: 500 },
                { key: 'rate_limit.requests_per_minute', tenant: null, value: 120, previous: 100 },
              ])
            : [],
        );

        // And it follows live notifications on the new server again.
        await new RedisViewStore({ redis: admin, prefix }).applyEvents([
          f.set('rate_limit.requests_per_minute', 901, 'acme'),
        ]);
        await until(() => c.get('rate_limit.requests_per_minute', { tenant: 'acme' }) === 901, 2_000, 'live change');
        expect(changes.at(-1)).toMatchObject({ tenant: 'acme', value: 901, previous: acme });
      }),
    20_000,
  );
});
