import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { OpenFeature } from '@openfeature/server-sdk';
import type { RecordedEvent } from '@strata/core';
import { testRedis } from '@strata/testing';
import { EventFactory, shopManifest } from '@strata/core/testing';
import { expectShopConfigReads, shopConfig } from '../test/shop-config.js';
import { applySilently, liveViewStore, prodClient, seedViews } from '../test/view-fixture.js';
import { createClient } from './create-client.js';
import type { ChangeEvent, StrataClient } from './strata-client.js';
import { StrataProvider } from './strata-provider.js';

const until = async (check: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
};

/** Views of a fresh namespace's prod holding what `events` builds; `f` builds the spec's later changes. */
const seed = async (redis: Redis, prefix: string, events: (f: EventFactory) => RecordedEvent[]) => {
  const namespace = `ns${Math.random().toString(36).slice(2, 8)}`;
  const f = new EventFactory(namespace, 'prod');
  return { store: await seedViews(redis, prefix, events(f)), f, namespace };
};

/** The shop's config with new_checkout at 25 %, forced on for acme. */
const seeded = (redis: Redis, prefix: string) =>
  seed(redis, prefix, (f) => [
    ...shopConfig(f),
    f.rollout('new_checkout', 25),
    f.override('acme', 'new_checkout', 'enabled'),
  ]);

/** An OpenFeature client of `domain` over a provider of `client` (which closes it). */
const openFeatureOver = async (domain: string, client: StrataClient) => {
  await OpenFeature.setProviderAndWait(domain, new StrataProvider(client));
  return OpenFeature.getClient(domain);
};

describe('createClient (Redis views)', () => {
  it('given views in Redis, when the client loads, then reads resolve tenant → environment → default', async () => {
    await using redis = await testRedis();
    const { namespace } = await seeded(redis.client, redis.prefix);
    await using client = prodClient(redis, namespace);
    await client.ready();
    expectShopConfigReads(client);
    expect(client.isEnabled('new_checkout', { tenant: 'acme' })).toBe(true);
    expect(client.status()).toMatchObject({ ready: true, stale: false, position: 6 });
  });

  it('given a running client, when a value and a flag change, then onChange fires after the state holds the new value', async () => {
    await using redis = await testRedis();
    const { store, f, namespace } = await seeded(redis.client, redis.prefix);
    await using client = prodClient(redis, namespace);
    await client.ready();
    const events: (ChangeEvent & { read: unknown })[] = [];
    client.onChange('rate_limit', (e) =>
      events.push({ ...e, read: client.get('rate_limit.requests_per_minute', { tenant: e.tenant ?? undefined }) }),
    );
    client.onChange('new_checkout', (e) =>
      events.push({ ...e, read: client.isEnabled('new_checkout', { tenant: e.tenant ?? undefined }) }),
    );
    await store.applyEvents([
      f.set('rate_limit.requests_per_minute', 900, 'acme'),
      f.set('rate_limit.requests_per_minute', 120),
      f.override('acme', 'new_checkout', 'disabled'),
    ]);
    await client.waitFor(f.position, 2_000);
    expect(client.get('rate_limit.requests_per_minute', { tenant: 'acme' })).toBe(900);
    expect(client.get('rate_limit.requests_per_minute', { tenant: 'globex' })).toBe(120);
    expect(
      events.map(({ kind, key, tenant, value, previous, read }) => ({ kind, key, tenant, value, previous, read })),
    ).toEqual([
      { kind: 'key', key: 'rate_limit.requests_per_minute', tenant: 'acme', value: 900, previous: 500, read: 900 },
      { kind: 'key', key: 'rate_limit.requests_per_minute', tenant: null, value: 120, previous: 100, read: 120 },
      { kind: 'flag', key: 'new_checkout', tenant: 'acme', value: false, previous: true, read: false },
    ]);
    expect(events[0]?.latencyMs).toBeLessThan(1_000);
  });

  it('given a client in another process, when a value changes, then it sees it within milliseconds', async () => {
    await using redis = await testRedis();
    const { store, f, namespace } = await seeded(redis.client, redis.prefix);
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const child = spawn(
      `${root}node_modules/.bin/tsx`,
      [fileURLToPath(new URL('../test/child-client.ts', import.meta.url)), redis.url, redis.prefix, namespace, 'prod'],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    try {
      const lines: string[] = [];
      createInterface({ input: child.stdout }).on('line', (line) => lines.push(line));
      await until(() => lines.includes('ready'), 30_000, 'child ready');
      const latencies: number[] = [];
      for (let i = 0; i < 20; i++) {
        const sent = Date.now();
        await store.applyEvents([f.set('rate_limit.requests_per_minute', 1000 + i, 'acme')]);
        await until(() => lines.some((l) => l.includes(`"value":${1000 + i}`)), 5_000, `change ${i}`);
        const event = JSON.parse(lines.find((l) => l.includes(`"value":${1000 + i}`))!) as { read: number; at: number };
        expect(event.read).toBe(1000 + i);
        latencies.push(event.at - sent);
      }
      latencies.sort((a, b) => a - b);
      console.log(`cross-process change → visible: p50 ${latencies[10]} ms, max ${latencies.at(-1)} ms`);
      expect(latencies[10]).toBeLessThan(50);
    } finally {
      child.stdin.end();
      child.kill();
    }
  });

  it('given lost notifications, when the safety check runs, then the client converges to the views', async () => {
    await using redis = await testRedis();
    const { f, namespace } = await seeded(redis.client, redis.prefix);
    await using client = prodClient(redis, namespace, {
      safetyCheckIntervalMs: 200,
    });
    await client.ready();
    await applySilently(redis.client, redis.prefix, f.set('rate_limit.requests_per_minute', 42, 'acme'));
    await applySilently(redis.client, redis.prefix, f.set('checkout.currency', 'USD'));
    expect(client.get('rate_limit.requests_per_minute', { tenant: 'acme' })).toBe(500);
    await until(() => client.get('rate_limit.requests_per_minute', { tenant: 'acme' }) === 42, 3_000, 'convergence');
    expect(client.get('checkout.currency', { tenant: 'acme' })).toBe('USD');
    expect(client.status().position).toBe(f.position);
  });

  it('given no view generation yet, when the first one goes live without a change for this view, then the client loads it', async () => {
    // A cold start: the SDK comes up while the projector's first rebuild is still running; the
    // rebuild's switch is announced on the global channel only, and nothing may be written after it.
    await using redis = await testRedis();
    const namespace = `ns${Math.random().toString(36).slice(2, 8)}`;
    const f = new EventFactory(namespace, 'prod');
    const errors: unknown[] = [];
    await using client = prodClient(redis, namespace, {
      safetyCheckIntervalMs: 200,
      hooks: { onError: (error) => errors.push(error) },
    });
    const ready = client.ready();
    await until(() => errors.length > 0, 3_000, 'the first load to find no generation');
    expect(String(errors[0])).toMatch(/no live Redis view generation/);
    await sleep(1_000); // five safety checks, each trying the load again
    expect(errors).toHaveLength(1); // said once, not once per attempt
    await liveViewStore(redis.client, redis.prefix);
    await applySilently(redis.client, redis.prefix, f.set('checkout.currency', 'USD'));
    await ready;
    await client.waitFor(f.position, 3_000);
    expect(client.status()).toMatchObject({ ready: true, position: f.position });
  });

  it('given a lost notification, when the next one arrives, then the count gap triggers a reload at once', async () => {
    await using redis = await testRedis();
    const { store, f, namespace } = await seeded(redis.client, redis.prefix);
    await using client = prodClient(redis, namespace, {
      safetyCheckIntervalMs: 60_000,
    });
    await client.ready();
    await applySilently(redis.client, redis.prefix, f.set('checkout.currency', 'USD', 'acme'));
    await store.applyEvents([f.set('search.page_size', 50)]);
    await client.waitFor(f.position, 2_000);
    await until(() => client.get('checkout.currency', { tenant: 'acme' }) === 'USD', 2_000, 'gap reload');
  });

  it('given its Redis connections killed, when reads go on, then they answer last known values, report stale, and catch up', async () => {
    await using redis = await testRedis();
    const { store, f, namespace } = await seeded(redis.client, redis.prefix);
    const name = `sdk-kill-${Math.random().toString(36).slice(2, 8)}`;
    const own = new Redis(redis.url, { connectionName: name });
    const staleSince: Date[] = [];
    await using client = createClient({
      namespace,
      environment: 'prod',
      redis: own,
      prefix: redis.prefix,
      safetyCheckIntervalMs: 200,
      hooks: { onStale: (since) => staleSince.push(since) },
    });
    await client.ready();
    const list = (await redis.client.client('LIST')) as string;
    const ids = list
      .split('\n')
      .filter((l) => l.includes(`name=${name}`))
      .map((l) => /id=(\d+)/.exec(l)![1]!);
    expect(ids.length).toBe(2);
    for (const id of ids) await redis.client.client('KILL', 'ID', id);
    // Written while the client is disconnected: its notification is lost.
    await store.applyEvents([f.set('rate_limit.requests_per_minute', 777, 'acme')]);
    await until(() => staleSince.length > 0, 2_000, 'stale');
    expect(client.get('rate_limit.requests_per_minute', { tenant: 'globex' })).toBe(100);
    await until(
      () => client.get('rate_limit.requests_per_minute', { tenant: 'acme' }) === 777 && !client.status().stale,
      5_000,
      'catch up',
    );
    own.disconnect();
  });

  it('given lazy tenants, when a tenant is first read, then it answers environment values until its layers load', async () => {
    await using redis = await testRedis();
    const { store, f, namespace } = await seeded(redis.client, redis.prefix);
    await using client = prodClient(redis, namespace, {
      lazyTenants: true,
    });
    await client.ready();
    expect(client.resolve('rate_limit.requests_per_minute', { tenant: 'acme' })).toMatchObject({
      value: 100,
      reason: 'tenant_loading',
      stale: true,
    });
    await until(() => client.get('rate_limit.requests_per_minute', { tenant: 'acme' }) === 500, 2_000, 'tenant load');
    await store.applyEvents([f.set('rate_limit.requests_per_minute', 501, 'acme')]);
    await client.waitFor(f.position, 2_000);
    expect(client.get('rate_limit.requests_per_minute', { tenant: 'acme' })).toBe(501);
  });

  it('given an env var, when resolving, then tenant → env var → environment → default', async () => {
    await using redis = await testRedis();
    const { namespace } = await seeded(redis.client, redis.prefix);
    const env = { APP_RATE_LIMIT__REQUESTS_PER_MINUTE: '250', APP_SEARCH__PAGE_SIZE: 'ten' };
    await using client = prodClient(redis, namespace, {
      envVars: { prefix: 'APP_', env },
    });
    await expect(client.ready()).rejects.toThrow(/APP_SEARCH__PAGE_SIZE/);
    expect(client.resolve('rate_limit.requests_per_minute', { tenant: 'globex' })).toMatchObject({
      value: 250,
      source: 'envVar',
    });
    expect(client.get('rate_limit.requests_per_minute', { tenant: 'acme' })).toBe(500);
  });

  it('given the OpenFeature provider over Redis, when a flag changes, then evaluations and ConfigurationChanged follow', async () => {
    await using redis = await testRedis();
    const { store, f, namespace } = await seeded(redis.client, redis.prefix);
    const of = await openFeatureOver('int', prodClient(redis, namespace));
    expect(await of.getBooleanDetails('new_checkout', false, { targetingKey: 'acme' })).toMatchObject({
      value: true,
      reason: 'TARGETING_MATCH',
    });
    const changed: string[] = [];
    of.addHandler('PROVIDER_CONFIGURATION_CHANGED' as never, (e?: { flagsChanged?: string[] }) =>
      changed.push(...(e?.flagsChanged ?? [])),
    );
    await store.applyEvents([f.rollout('new_checkout', 100)]);
    await until(() => changed.includes('new_checkout'), 2_000, 'configuration changed');
    expect(await of.getBooleanDetails('new_checkout', false, { targetingKey: 'globex' })).toMatchObject({
      value: true,
      reason: 'STATIC',
    });
    await OpenFeature.clearProviders();
  });
});

describe('typed flags over Redis: pinned variants and segment changes', () => {
  const typedManifest = {
    ...shopManifest,
    flags: {
      ...shopManifest.flags,
      theme: { type: 'string' as const },
      promo: { type: 'string' as const },
      plain: { type: 'string' as const },
    },
  };
  const theme = {
    state: 'ENABLED' as const,
    variants: { light: 'light', dark: 'dark' },
    defaultVariant: 'light',
    targeting: { if: [{ $ref: 'pro' }, 'dark', null] },
  };
  const typedSeed = (redis: Redis, prefix: string) =>
    seed(redis, prefix, (f) => [
      f.manifest(typedManifest),
      f.set('billing.api_url', 'https://billing.example'),
      f.segment('paying', { in: [{ var: 'plan' }, ['pro', 'team']] }),
      f.segment('pro', { $ref: 'paying' }),
      f.definition('theme', theme),
      f.definition('promo', {
        ...theme,
        variants: { light: 'a', dark: 'b' },
        targeting: { if: [{ $ref: 'paying' }, 'dark', null] },
      }),
      f.definition('plain', { state: 'ENABLED', variants: { light: 'x', dark: 'y' }, defaultVariant: 'light' }),
      f.override('acme', 'theme', 'enabled', 'dark'),
    ]);

  it('given a pinned variant, then the SDK answers it with TARGETING_MATCH; clearing it lets the rule decide', async () => {
    await using redis = await testRedis();
    const { store, f, namespace } = await typedSeed(redis.client, redis.prefix);
    await using client = prodClient(redis, namespace);
    await client.ready();
    expect(client.getStringDetails('theme', { targetingKey: 'acme', plan: 'free' }, 'x')).toMatchObject({
      value: 'dark',
      variant: 'dark',
      reason: 'TARGETING_MATCH',
    });
    expect(client.getString('theme', { targetingKey: 'globex', plan: 'free' }, 'x')).toBe('light');
    const changes: ChangeEvent[] = [];
    client.onChange('theme', (e) => changes.push(e));
    await store.applyEvents([f.override('acme', 'theme', 'enabled', 'light')]);
    await until(
      () => client.getString('theme', { targetingKey: 'acme', plan: 'pro' }, 'x') === 'light',
      5_000,
      'light',
    );
    // dark → light keeps the tenant "enabled", and is still a change of the flag for it.
    await until(() => changes.length > 0, 5_000, 'onChange');
    expect(changes).toMatchObject([{ kind: 'flag', key: 'theme', tenant: 'acme' }]);
    await store.applyEvents([f.override('acme', 'theme', null)]);
    await until(() => client.getString('theme', { targetingKey: 'acme', plan: 'pro' }, 'x') === 'dark', 5_000, 'rule');
  });

  it('given a segment change, then onChange and ConfigurationChanged name every flag whose targeting references it', async () => {
    await using redis = await testRedis();
    const { store, f, namespace } = await typedSeed(redis.client, redis.prefix);
    const client = prodClient(redis, namespace);
    const of = await openFeatureOver('segments', client);
    const changedKeys: string[] = [];
    client.onChange('', (e) => {
      if (e.kind === 'flag') changedKeys.push(e.key);
    });
    const flagsChanged: string[][] = [];
    of.addHandler('PROVIDER_CONFIGURATION_CHANGED' as never, (e?: { flagsChanged?: string[] }) =>
      flagsChanged.push(e?.flagsChanged ?? []),
    );
    expect(await of.getStringValue('theme', 'x', { targetingKey: 'u', plan: 'enterprise' })).toBe('light');
    // `paying` is used by promo directly and by theme through `pro`; plain uses no segment.
    await store.applyEvents([f.segment('paying', { in: [{ var: 'plan' }, ['pro', 'team', 'enterprise']] })]);
    await until(() => flagsChanged.length > 0, 5_000, 'configuration changed');
    expect(flagsChanged[0]).toEqual(['promo', 'theme']);
    expect(changedKeys.sort()).toEqual(['promo', 'theme']);
    expect(await of.getStringValue('theme', 'x', { targetingKey: 'u', plan: 'enterprise' })).toBe('dark');
    // A segment no flag uses changes no flag.
    changedKeys.length = 0;
    await store.applyEvents([f.segment('unused', { '==': [1, 1] }), f.set('billing.api_url', 'https://b.example')]);
    await until(() => client.get('billing.api_url') === 'https://b.example', 5_000, 'value');
    expect(changedKeys).toEqual([]);
    await OpenFeature.clearProviders();
  });
});
