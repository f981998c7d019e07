/**
 * SDK hot path, side by side with peers (not a test): `npx tsx packages/sdk/bench/sdk.bench.ts`.
 * Strata `get()` / `isEnabled()` on 200 tenants from a client loaded from real Redis views, against
 * unleash-client `isEnabled` bootstrapped in memory and OpenFeature's InMemoryProvider.
 * Throughput: one tight loop over pre-built contexts. p99: every call timed on its own with
 * performance.now(), so it includes the timer's own cost (printed as "timer floor").
 */
import { Redis } from 'ioredis';
import { InMemoryProvider, OpenFeature } from '@openfeature/server-sdk';
import { InMemStorageProvider, Unleash } from 'unleash-client';
import { EventFactory, shopManifest } from '../test/recorded-events.js';
import { liveViewStore } from '../test/view-fixture.js';
import { createClient, StrataProvider } from '../src/index.js';

const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const prefix = `bench:sdk:${process.pid}:`;
const tenants = Array.from({ length: 200 }, (_, i) => `tenant-${String(i).padStart(3, '0')}`);
const ops = Number(process.env['BENCH_OPS'] ?? 5_000_000);
const samples = 1_000_000;

interface Result {
  name: string;
  opsPerSec: number;
  p50: number;
  p99: number;
}

const measure = (name: string, call: (i: number) => unknown): Result => {
  let sink = 0;
  for (let i = 0; i < 200_000; i++) sink += call(i) ? 1 : 0; // warm up (JIT)
  const started = performance.now();
  for (let i = 0; i < ops; i++) sink += call(i) ? 1 : 0;
  const elapsed = performance.now() - started;
  const times = new Float64Array(samples);
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    sink += call(i) ? 1 : 0;
    times[i] = performance.now() - t0;
  }
  times.sort();
  if (sink === -1) console.log(sink);
  return {
    name,
    opsPerSec: ops / (elapsed / 1000),
    p50: times[samples >> 1]! * 1000,
    p99: times[Math.floor(samples * 0.99)]! * 1000,
  };
};

const measureAsync = async (name: string, call: (i: number) => Promise<unknown>, count = 500_000): Promise<Result> => {
  let sink = 0;
  for (let i = 0; i < 50_000; i++) sink += (await call(i)) ? 1 : 0;
  const started = performance.now();
  for (let i = 0; i < count; i++) sink += (await call(i)) ? 1 : 0;
  const elapsed = performance.now() - started;
  const n = 200_000;
  const times = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    sink += (await call(i)) ? 1 : 0;
    times[i] = performance.now() - t0;
  }
  times.sort();
  if (sink === -1) console.log(sink);
  return {
    name,
    opsPerSec: count / (elapsed / 1000),
    p50: times[n >> 1]! * 1000,
    p99: times[Math.floor(n * 0.99)]! * 1000,
  };
};

const redis = new Redis(redisUrl);
try {
  // Views: 200 tenants, half with their own rate limit, a 25% rollout with 20 overrides.
  const store = await liveViewStore(redis, prefix);
  const f = new EventFactory('bench', 'prod');
  await store.applyEvents([
    f.manifest(shopManifest),
    f.set('billing.api_url', 'https://billing'),
    f.set('rate_limit.requests_per_minute', 100),
    f.rollout('new_checkout', 25),
    ...tenants.filter((_, i) => i % 2 === 0).map((t, i) => f.set('rate_limit.requests_per_minute', 100 + i, t)),
    ...tenants.slice(0, 20).map((t) => f.override(t, 'new_checkout', 'enabled')),
  ]);
  const client = createClient({ namespace: 'bench', environment: 'prod', redis: redisUrl, prefix });
  await client.ready();
  const contexts = tenants.map((tenant) => ({ tenant }));
  const ctx = (i: number) => contexts[i % 200]!;

  // unleash-client: same rollout as a flexibleRollout on userId, bootstrapped, never fetching.
  let unleashErrors = 0;
  const unleash = new Unleash({
    appName: 'bench',
    url: 'http://127.0.0.1:1/',
    bootstrap: {
      data: [
        {
          name: 'new_checkout',
          enabled: true,
          strategies: [
            { name: 'userWithId', parameters: { userIds: tenants.slice(0, 20).join(',') } },
            { name: 'flexibleRollout', parameters: { rollout: '25', stickiness: 'userId', groupId: 'new_checkout' } },
          ],
        },
      ] as never,
    },
    disableMetrics: true,
    refreshInterval: 0,
    storageProvider: new InMemStorageProvider(),
    skipInstanceCountWarning: true,
  });
  unleash.on('error', () => unleashErrors++);
  await new Promise<void>((resolve) => unleash.once('ready', () => resolve()));
  const unleashContexts = tenants.map((userId) => ({ userId }));

  // OpenFeature InMemoryProvider: per-tenant targeting through a context evaluator.
  const overridden = new Set(tenants.slice(0, 20));
  await OpenFeature.setProviderAndWait(
    'memory',
    new InMemoryProvider({
      new_checkout: {
        variants: { on: true, off: false },
        defaultVariant: 'off',
        disabled: false,
        contextEvaluator: (c) => (overridden.has(String(c.targetingKey)) ? 'on' : 'off'),
      },
    }),
  );
  await OpenFeature.setProviderAndWait('strata', new StrataProvider(client, { closeClient: false }));
  const ofMemory = OpenFeature.getClient('memory');
  const ofStrata = OpenFeature.getClient('strata');
  const ofContexts = tenants.map((targetingKey) => ({ targetingKey }));

  const results: Result[] = [
    measure('strata get()', (i) => client.get('rate_limit.requests_per_minute', ctx(i))),
    measure('strata isEnabled()', (i) => client.isEnabled('new_checkout', ctx(i))),
    measure('unleash-client isEnabled()', (i) => unleash.isEnabled('new_checkout', unleashContexts[i % 200])),
    await measureAsync('OpenFeature InMemoryProvider getBooleanValue()', (i) =>
      ofMemory.getBooleanValue('new_checkout', false, ofContexts[i % 200]),
    ),
    await measureAsync('OpenFeature StrataProvider getBooleanValue()', (i) =>
      ofStrata.getBooleanValue('new_checkout', false, ofContexts[i % 200]),
    ),
  ];
  const floor = measure('timer floor (empty call)', () => 0);
  // Sanity: both SDKs agree on who is in the rollout (same seed bucket? no: Unleash uses murmur3, so only counts compare).
  const strataOn = tenants.filter((t) => client.isEnabled('new_checkout', { tenant: t })).length;
  const unleashOn = tenants.filter((userId) => unleash.isEnabled('new_checkout', { userId })).length;

  const base = results.find((r) => r.name === 'strata isEnabled()')!;
  console.log(`\nSDK hot path, 200 tenants, ${ops.toLocaleString()} ops per loop, node ${process.version}\n`);
  console.log(
    `${'what'.padEnd(48)}${'ops/s'.padStart(14)}${'p50 µs'.padStart(9)}${'p99 µs'.padStart(9)}${'strata isEnabled ×'.padStart(20)}`,
  );
  for (const r of [...results, floor]) {
    console.log(
      `${r.name.padEnd(48)}${Math.round(r.opsPerSec).toLocaleString().padStart(14)}${r.p50.toFixed(2).padStart(9)}${r.p99.toFixed(2).padStart(9)}${(base.opsPerSec / r.opsPerSec).toFixed(1).padStart(20)}`,
    );
  }
  console.log(
    `\nunleash-client errors (fetch attempts would fail on 127.0.0.1:1): ${unleashErrors}; tenants enabled: strata ${strataOn}, unleash ${unleashOn}`,
  );
  unleash.destroy();
  await OpenFeature.close();
  await client.close();
} finally {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
  redis.disconnect();
}
