import { afterAll, beforeAll } from 'vitest';
import type { NewEvent } from '@strata/core';
import { recordEvents, sampleManifest, viewVersionsContract } from '@strata/core/testing';
import { testRedis, type TestRedis } from '@strata/testing';
import { globalKeys } from './key-layout.js';
import { RedisViewStore } from './redis-view-store.js';
import { RedisViewVersions } from './redis-view-versions.js';

let redis: TestRedis;
let made = 0;

beforeAll(async () => {
  redis = await testRedis();
});
afterAll(async () => {
  await redis[Symbol.asyncDispose]();
});

viewVersionsContract('Redis', async () => {
  // Each case its own prefix under the spec file's: fresh views, a live empty generation.
  const prefix = `${redis.prefix}${++made}:`;
  const store = new RedisViewStore({ redis: redis.client, prefix });
  await store.rebuild({ eventLog: { readAll: async () => [], headPosition: async () => 0 }, dropDelayMs: 0 });
  let position = 0;
  const metadata = { actor: 'test', reason: 'contract' };
  return {
    versions: new RedisViewVersions({ redis: redis.client, prefix }),
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
