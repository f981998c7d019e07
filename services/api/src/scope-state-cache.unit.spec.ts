import { describe, expect, it } from 'vitest';
import { fold, initialState, InMemoryEventLog, stateToJson, streamIds, type NewEvent } from '@strata/core';
import { sampleManifest } from '@strata/core/testing';
import { ScopeStateCache } from './scope-state-cache.js';

const metadata = { actor: 'test', reason: 'bound' };
const set = (tenant: string | null, value: number): NewEvent => ({
  type: 'ConfigValueSet',
  data: { namespace: 'shop', environment: 'prod', tenant, key: 'limits.rpm', value },
  metadata,
});

describe('ScopeStateCache', () => {
  it('holds at most maxEvents events over all streams, and decides on the same state as a fold of the whole log', async () => {
    const log = new InMemoryEventLog();
    const cache = new ScopeStateCache(log, 100, 50);
    await log.append(streamIds.manifest('shop'), [
      { type: 'ManifestPublished', data: { namespace: 'shop', manifest: sampleManifest(1) }, metadata },
    ]);
    const tenants = ['acme', 'globex', 'initech'];
    for (let round = 1; round <= 40; round++) {
      for (const tenant of tenants) {
        const { streamVersion } = await cache.load('shop', 'prod', tenant);
        const appended = await log.append(streamIds.tenant('shop', 'prod', tenant), [set(tenant, round)], {
          expectedVersion: streamVersion,
        });
        expect(appended.ok).toBe(true);
      }
      if (round % 10 === 0) await log.append(streamIds.environment('shop', 'prod'), [set(null, round)]);
      expect(cache.cachedEvents).toBeLessThanOrEqual(50);
    }
    const everything = await log.readAll(0, 10_000);
    for (const tenant of [...tenants, null]) {
      const { state, streamVersion } = await cache.load('shop', 'prod', tenant);
      const own = tenant === null ? streamIds.environment('shop', 'prod') : streamIds.tenant('shop', 'prod', tenant);
      const scope = [streamIds.manifest('shop'), streamIds.environment('shop', 'prod'), own];
      const folded = fold(
        initialState('shop', 'prod'),
        everything.filter((e) => scope.includes(e.streamId)),
      );
      expect(stateToJson(state)).toEqual(stateToJson(folded));
      expect(streamVersion).toBe(tenant === null ? 4 : 40);
    }
    expect(cache.cachedEvents).toBeLessThanOrEqual(50);
    expect((await cache.manifest('shop'))?.keys['limits.rpm']).toBeDefined();
  });
});
