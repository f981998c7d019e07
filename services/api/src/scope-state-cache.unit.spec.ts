import { describe, expect, it } from 'vitest';
import {
  fold,
  initialState,
  InMemoryEventLog,
  stateToJson,
  streamIds,
  type NewEvent,
  type StreamRead,
} from '@strata/core';
import { sampleManifest } from '@strata/core/testing';
import { ScopeStateCache } from './scope-state-cache.js';

const metadata = { actor: 'test', reason: 'bound' };
const set = (tenant: string | null, value: number): NewEvent => ({
  type: 'ConfigValueSet',
  data: { namespace: 'shop', environment: 'prod', tenant, key: 'limits.rpm', value },
  metadata,
});

describe('ScopeStateCache', () => {
  it('decides on the same state as a fold of the whole log, each scope and the manifest in force', async () => {
    const log = new InMemoryEventLog();
    const cache = new ScopeStateCache(log, 100);
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
    expect((await cache.manifest('shop'))?.keys['limits.rpm']).toBeDefined();
  });

  it('advances a scope by what its streams gained since, however long they grew', async () => {
    class CountingLog extends InMemoryEventLog {
      read = 0;
      override async readStreams(reads: readonly StreamRead[]) {
        const answers = await super.readStreams(reads);
        this.read += answers.reduce((sum, events) => sum + events.length, 0);
        return answers;
      }
    }
    const log = new CountingLog();
    const cache = new ScopeStateCache(log, 100);
    await log.append(streamIds.manifest('shop'), [
      { type: 'ManifestPublished', data: { namespace: 'shop', manifest: sampleManifest(1) }, metadata },
    ]);
    const env = streamIds.environment('shop', 'prod');
    for (let round = 1; round <= 200; round++) {
      const before = log.read;
      const { streamVersion } = await cache.load('shop', 'prod', null);
      // The first load reads the manifest; every later one only the previous round's event.
      expect(log.read - before).toBe(1);
      expect(streamVersion).toBe(round - 1);
      expect((await log.append(env, [set(null, round)], { expectedVersion: streamVersion })).ok).toBe(true);
    }
    const { state, streamVersion, manifestVersion } = await cache.load('shop', 'prod', null);
    expect([streamVersion, manifestVersion]).toEqual([200, 1]);
    expect(stateToJson(state)).toEqual(stateToJson(fold(initialState('shop', 'prod'), await log.readAll(0, 1_000))));
  });

  it('keeps the manifest in force caught up by what its stream gained, never by reading it whole', async () => {
    class CountingLog extends InMemoryEventLog {
      read = 0;
      override async readStream(streamId: string, fromVersion?: number) {
        const events = await super.readStream(streamId, fromVersion);
        this.read += events.length;
        return events;
      }
    }
    const log = new CountingLog();
    const cache = new ScopeStateCache(log);
    expect(await cache.manifestStream('shop')).toEqual({ version: 0, position: 0, manifest: null });
    const manifestId = streamIds.manifest('shop');
    for (let round = 1; round <= 300; round++) {
      const before = log.read;
      const appended = await log.append(manifestId, [
        { type: 'ManifestPublished', data: { namespace: 'shop', manifest: sampleManifest(round) }, metadata },
      ]);
      if (!appended.ok) throw new Error('append failed');
      const stream = await cache.manifestStream('shop');
      expect(log.read - before).toBe(1);
      expect(stream).toMatchObject({ version: round, position: appended.positions[0] });
      expect(stream.manifest).toEqual(sampleManifest(round));
    }
    // An event that is not a manifest moves the version, not the manifest in force.
    const other = await log.append(streamIds.manifest('shop'), [
      {
        type: 'ConfigValueSet',
        data: { namespace: 'shop', environment: 'prod', tenant: null, key: 'limits.rpm', value: 1 },
        metadata,
      },
    ]);
    expect(other.ok).toBe(true);
    expect(await cache.manifestStream('shop')).toMatchObject({ version: 301, manifest: sampleManifest(300) });
    expect(await cache.manifest('other')).toBeNull();
  });
});
