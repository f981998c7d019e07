import { describe, expect, it } from 'vitest';
import { OpenFeature, ProviderEvents, ProviderStatus, type EventDetails } from '@openfeature/server-sdk';
import type { RecordedEvent } from '@strata/core';
import { RedisViewStore } from '@strata/redis-views';
import { testRedis, waitFor } from '@strata/testing';
import { EventFactory, shopManifest } from '@strata/core/testing';
import { withOwnRedis } from '../test/own-redis.js';
import { prodClient, seedViews } from '../test/view-fixture.js';
import { StrataProvider } from './strata-provider.js';

/**
 * The provider's events as an application sees them through OpenFeature, driven by the real
 * client: writes applied to the Redis views the way the projector applies them, and a real
 * redis-server (the spec's own) killed and restarted under it.
 */

const prefix = 'strata:';
const namespace = 'of-events';

const recorder = (domain: string) => {
  const seen: { type: ProviderEvents; details: EventDetails | undefined }[] = [];
  const client = OpenFeature.getClient(domain);
  for (const type of [
    ProviderEvents.Ready,
    ProviderEvents.Stale,
    ProviderEvents.ConfigurationChanged,
    ProviderEvents.Error,
  ]) {
    client.addHandler(type, (details) => seen.push({ type, details }));
  }
  return { seen, client, types: () => seen.map((e) => e.type) };
};

describe('StrataProvider events from the real client', () => {
  it(
    'given a provider on a live view, when flags change, Redis dies and comes back, then ConfigurationChanged, Stale and Ready reach OpenFeature',
    () =>
      withOwnRedis(async (own) => {
        const f = new EventFactory(namespace, 'prod');
        const log: RecordedEvent[] = [
          f.manifest(shopManifest),
          f.set('billing.api_url', 'https://billing'),
          f.rollout('new_checkout', 10),
        ];
        await seedViews(await own.redis(), prefix, log);
        const provider = new StrataProvider(
          prodClient({ url: own.url, prefix }, namespace, { safetyCheckIntervalMs: 200 }),
        );
        const events = recorder('events-live');
        try {
          await OpenFeature.setProviderAndWait('events-live', provider);
          expect(events.client.providerStatus).toBe(ProviderStatus.READY);

          // One applied batch that changes two flags (and a config key): one event naming both flags.
          const projector = new RedisViewStore({ redis: await own.redis(), prefix });
          const batch = [
            f.rollout('new_checkout', 50),
            f.override('acme', 'search_v2', 'enabled'),
            f.set('rate_limit.requests_per_minute', 150),
          ];
          log.push(...batch);
          await projector.applyEvents(batch);
          const changed = await waitFor(
            () => events.seen.find((e) => e.type === ProviderEvents.ConfigurationChanged),
            'ConfigurationChanged',
            5_000,
            10,
          );
          expect(changed.details?.flagsChanged).toEqual(['new_checkout', 'search_v2']);
          // A write that changes no flag is no flag change.
          const before = events.seen.length;
          const keyOnly = f.set('rate_limit.requests_per_minute', 200);
          log.push(keyOnly);
          await projector.applyEvents([keyOnly]);
          await waitFor(() => provider.client.status().position === keyOnly.position, 'key applied', 5_000, 10);
          expect(events.seen.slice(before).map((e) => e.type)).toEqual([]);

          // Redis dies: the client goes stale and OpenFeature hears it.
          const killedAt = Date.now();
          await own.kill();
          await waitFor(() => events.client.providerStatus === ProviderStatus.STALE, 'PROVIDER_STALE', 5_000, 10);
          console.log(`redis killed → PROVIDER_STALE: ${Date.now() - killedAt} ms`);
          expect(events.types()).toContain(ProviderEvents.Stale);
          expect(events.types()).not.toContain(ProviderEvents.Error);

          // It comes back empty; once the projector rebuilt the views the client is current: Ready.
          await own.restart();
          const rebuilt = new RedisViewStore({ redis: await own.redis(), prefix });
          await rebuilt.rebuild({
            eventLog: {
              readForViews: async (after, limit) => log.filter((e) => e.position > after).slice(0, limit),
              headPosition: async () => log.at(-1)!.position,
            },
            dropDelayMs: 0,
          });
          const rebuiltAt = Date.now();
          await waitFor(() => events.client.providerStatus === ProviderStatus.READY, 'PROVIDER_READY', 15_000, 10);
          console.log(`views rebuilt after the restart → PROVIDER_READY: ${Date.now() - rebuiltAt} ms`);
          const staleAt = events.types().lastIndexOf(ProviderEvents.Stale);
          expect(events.types().slice(staleAt)).toContain(ProviderEvents.Ready);
          expect(await events.client.getBooleanDetails('search_v2', false, { targetingKey: 'acme' })).toMatchObject({
            value: true,
            reason: 'TARGETING_MATCH',
          });

          // And live changes flow again after the restart.
          const after = f.rollout('new_checkout', 0);
          log.push(after);
          await rebuilt.applyEvents([after]);
          await waitFor(
            () =>
              events.seen.filter((e) => e.type === ProviderEvents.ConfigurationChanged).length >= 2 &&
              String(events.seen.at(-1)?.details?.flagsChanged) === 'new_checkout',
            'ConfigurationChanged after the restart',
            5_000,
            10,
          );
        } finally {
          await OpenFeature.clearProviders();
        }
      }),
    30_000,
  );

  it(
    'given no Redis answering, when the provider initializes, then PROVIDER_ERROR, and PROVIDER_READY once Redis is back and the view loads',
    () =>
      withOwnRedis(async (own) => {
        await own.kill();
        const provider = new StrataProvider(prodClient({ url: own.url, prefix }, namespace, { readyTimeoutMs: 500 }));
        const events = recorder('events-down');
        try {
          await expect(OpenFeature.setProviderAndWait('events-down', provider)).rejects.toThrow(
            /not loaded after 500 ms/,
          );
          expect(events.client.providerStatus).toBe(ProviderStatus.ERROR);
          await waitFor(() => events.types().includes(ProviderEvents.Error), 'PROVIDER_ERROR', 2_000, 10);

          await own.restart();
          const f = new EventFactory(namespace, 'prod');
          await seedViews(await own.redis(), prefix, [
            f.manifest(shopManifest),
            f.set('billing.api_url', 'https://billing'),
          ]);
          await waitFor(() => events.client.providerStatus === ProviderStatus.READY, 'PROVIDER_READY', 15_000, 10);
          expect(events.types()).toEqual([ProviderEvents.Error, ProviderEvents.Ready]);
        } finally {
          await OpenFeature.clearProviders();
        }
      }),
    30_000,
  );

  it('given environment variables the manifest rejects, or a closed client, then FATAL and every evaluation answers PROVIDER_FATAL', async () => {
    await using redis = await testRedis();
    const ns = `fatal${Math.random().toString(36).slice(2, 8)}`;
    const f = new EventFactory(ns, 'prod');
    await seedViews(redis.client, redis.prefix, [
      f.manifest(shopManifest),
      f.set('billing.api_url', 'https://billing'),
      f.rollout('new_checkout', 100),
    ]);
    // search.page_size is an integer in the manifest: the client can never start with 'ten'.
    const misconfigured = prodClient(redis, ns, { envVars: { prefix: 'APP_', env: { APP_SEARCH__PAGE_SIZE: 'ten' } } });
    const closed = prodClient(redis, ns);
    await closed.close();
    try {
      for (const [domain, client] of [
        ['fatal-env', misconfigured],
        ['fatal-closed', closed],
      ] as const) {
        await expect(OpenFeature.setProviderAndWait(domain, new StrataProvider(client))).rejects.toThrow();
        const of = OpenFeature.getClient(domain);
        expect(of.providerStatus).toBe(ProviderStatus.FATAL);
        expect(await of.getBooleanDetails('new_checkout', false, { targetingKey: 'acme' })).toMatchObject({
          value: false,
          reason: 'ERROR',
          errorCode: 'PROVIDER_FATAL',
        });
      }
    } finally {
      await OpenFeature.clearProviders();
    }
  });
});
