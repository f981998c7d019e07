import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { NewEvent } from '@strata/core';
import { recordEvents, sampleManifest, viewVersionsContract } from '@strata/core/testing';
import { testRedis, type TestRedis } from '@strata/testing';
import { globalKeys } from './key-layout.js';
import { RedisViewStore } from './redis-view-store.js';
import { RedisViewVersions } from './redis-view-versions.js';

let redis: TestRedis;
let made = 0;
const subscribers: Redis[] = [];

beforeAll(async () => {
  redis = await testRedis();
});
afterAll(async () => {
  for (const subscriber of subscribers) subscriber.disconnect();
  await redis[Symbol.asyncDispose]();
});

viewVersionsContract('Redis', async () => {
  // Each case its own prefix under the spec file's: fresh views, a live empty generation.
  const prefix = `${redis.prefix}${++made}:`;
  const store = new RedisViewStore({ redis: redis.client, prefix });
  await store.rebuild({ eventLog: { readForViews: async () => [], headPosition: async () => 0 }, dropDelayMs: 0 });
  let position = 0;
  const metadata = { actor: 'test', reason: 'contract' };
  const announcements = redis.client.duplicate();
  subscribers.push(announcements);
  // Long enough that only announcements, never the time bound, can make the contract's changes known.
  const versions = new RedisViewVersions({ redis: redis.client, prefix, announcements, knownForMs: 60_000 });
  await versions.listen();
  return {
    versions,
    change: async (namespace, environment) => {
      const event: NewEvent =
        environment === null
          ? { type: 'ManifestPublished', data: { namespace, manifest: sampleManifest(position) }, metadata }
          : {
              type: 'ConfigValueSet',
              data: { namespace, environment, tenant: null, key: 'theme.color', value: `v${position}` },
              metadata,
            };
      await store.applyEvents(recordEvents([event], ++position));
    },
    dropViews: async () => {
      await redis.client.del(globalKeys(prefix).generation);
    },
  };
});

describe('RedisViewVersions without a round trip', () => {
  const setUp = async () => {
    const prefix = `${redis.prefix}k${++made}:`;
    const store = new RedisViewStore({ redis: redis.client, prefix });
    await store.rebuild({ eventLog: { readForViews: async () => [], headPosition: async () => 0 }, dropDelayMs: 0 });
    const announcements = redis.client.duplicate();
    subscribers.push(announcements);
    return { prefix, store, announcements };
  };

  it('knows nothing without announcements, and forgets everything while they are not heard', async () => {
    const { prefix, announcements } = await setUp();
    const deaf = new RedisViewVersions({ redis: redis.client, prefix });
    await deaf.version('shelfwise', 'prod');
    expect(deaf.known('shelfwise', 'prod')).toBeUndefined();

    const versions = new RedisViewVersions({ redis: redis.client, prefix, announcements });
    await versions.listen();
    const first = await versions.version('shelfwise', 'prod');
    expect(versions.known('shelfwise', 'prod')).toBe(first);
    announcements.disconnect();
    await vi.waitFor(() => expect(versions.listening).toBe(false));
    expect(versions.known('shelfwise', 'prod')).toBeUndefined();
  });

  it('forgets every version when a rebuilt generation goes live', async () => {
    const { prefix, store, announcements } = await setUp();
    const versions = new RedisViewVersions({ redis: redis.client, prefix, announcements, knownForMs: 60_000 });
    await versions.listen();
    const first = await versions.version('shelfwise', 'prod');
    expect(versions.known('shelfwise', 'prod')).toBe(first);
    await store.rebuild({ eventLog: { readForViews: async () => [], headPosition: async () => 0 }, dropDelayMs: 0 });
    await vi.waitFor(() => expect(versions.known('shelfwise', 'prod')).toBeUndefined());
    const rebuilt = await versions.version('shelfwise', 'prod');
    expect(rebuilt).not.toBe(first);
    expect(versions.known('shelfwise', 'prod')).toBe(rebuilt);
  });

  it('asks again after knownForMs: a flushed Redis announces nothing', async () => {
    const { prefix, announcements } = await setUp();
    const versions = new RedisViewVersions({ redis: redis.client, prefix, announcements, knownForMs: 100 });
    await versions.listen();
    const first = await versions.version('shelfwise', 'prod');
    expect(versions.known('shelfwise', 'prod')).toBe(first);
    await redis.client.del(globalKeys(prefix).generation);
    await vi.waitFor(() => expect(versions.known('shelfwise', 'prod')).toBeUndefined(), { timeout: 1_000 });
    await expect(versions.version('shelfwise', 'prod')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });
});
