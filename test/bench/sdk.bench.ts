/**
 * SDK hot path: Strata `get()` / `isEnabled()` on 200 tenants, from a client loaded from real Redis
 * views, against unleash-client `isEnabled` bootstrapped in memory (no network) and the OpenFeature
 * server SDK over its InMemoryProvider. Same rollout shape everywhere: 25 % plus 20 overrides.
 */
import { InMemoryProvider, OpenFeature } from '@openfeature/server-sdk';
import { InMemStorageProvider, Unleash } from 'unleash-client';
import { createClient, StrataProvider } from '@strata/sdk';
import { shopManifest } from '@strata/core/testing';
import { record } from './lib/report.js';
import { redisUrl, scratchViews } from './lib/scratch.js';
import { formatNs, formatRate, measureAsyncThroughput, measureThroughput } from './lib/stats.js';

const durationMs = Number(process.env.BENCH_SDK_MS ?? 2_000);
const tenants = Array.from({ length: 200 }, (_, i) => `tenant-${String(i).padStart(3, '0')}`);
// The same data for Strata and the peers: 20 tenants forced on, every other tenant its own rate limit.
const overridden = tenants.slice(0, 20);
const ownLimits = new Map(tenants.filter((_, i) => i % 2 === 0).map((t, i) => [t, 100 + i]));

export const sdkBench = async (): Promise<void> => {
  await using views = await scratchViews('sdk', (f) => [
    f.manifest(shopManifest),
    f.set('billing.api_url', 'https://billing'),
    f.set('rate_limit.requests_per_minute', 100),
    f.rollout('new_checkout', 25),
    ...[...ownLimits].map(([t, limit]) => f.set('rate_limit.requests_per_minute', limit, t)),
    ...overridden.map((t) => f.override(t, 'new_checkout', 'enabled')),
  ]);
  const client = createClient({ namespace: 'bench', environment: 'prod', redis: redisUrl, prefix: views.prefix });
  await client.ready();
  const contexts = tenants.map((tenant) => ({ tenant }));

  const unleash = new Unleash({
    appName: 'strata-bench',
    url: 'http://127.0.0.1:1/', // never reached: refreshInterval 0 and a bootstrap
    bootstrap: {
      data: [
        {
          name: 'new_checkout',
          enabled: true,
          strategies: [
            { name: 'userWithId', parameters: { userIds: overridden.join(',') } },
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
  unleash.on('error', () => undefined);
  await new Promise<void>((resolve) => unleash.once('ready', () => resolve()));
  const unleashContexts = tenants.map((userId) => ({ userId }));

  const forcedOn = new Set(overridden);
  await OpenFeature.setProviderAndWait(
    'memory',
    new InMemoryProvider({
      new_checkout: {
        variants: { on: true, off: false },
        defaultVariant: 'off',
        disabled: false,
        contextEvaluator: (c) => (forcedOn.has(String(c.targetingKey)) ? 'on' : 'off'),
      },
      rate_limit: {
        variants: Object.fromEntries(tenants.map((t) => [t, ownLimits.get(t) ?? 100])),
        defaultVariant: tenants[1]!,
        disabled: false,
        contextEvaluator: (c) => String(c.targetingKey),
      },
    }),
  );
  await OpenFeature.setProviderAndWait('strata', new StrataProvider(client, { closeClient: false }));
  const ofMemory = OpenFeature.getClient('memory');
  const ofStrata = OpenFeature.getClient('strata');
  const ofContexts = tenants.map((targetingKey) => ({ targetingKey }));

  const get = measureThroughput((i) => client.get('rate_limit.requests_per_minute', contexts[i % 200]), durationMs);
  const isEnabled = measureThroughput((i) => client.isEnabled('new_checkout', contexts[i % 200]), durationMs);
  const unleashIsEnabled = measureThroughput(
    (i) => unleash.isEnabled('new_checkout', unleashContexts[i % 200]),
    durationMs,
  );
  const ofBoolean = await measureAsyncThroughput(
    (i) => ofMemory.getBooleanValue('new_checkout', false, ofContexts[i % 200]),
    durationMs,
  );
  const ofNumber = await measureAsyncThroughput(
    (i) => ofMemory.getNumberValue('rate_limit', 0, ofContexts[i % 200]),
    durationMs,
  );
  const ofStrataBoolean = await measureAsyncThroughput(
    (i) => ofStrata.getBooleanValue('new_checkout', false, ofContexts[i % 200]),
    durationMs,
  );

  const rate = (metric: string, ours: number, peerName: string, peer: number, target?: string) =>
    record({
      benchmark: 'sdk',
      metric,
      ours: formatRate(ours),
      peer: formatRate(peer),
      peerName,
      ratio: ours / peer,
      ...(target ? { target } : {}),
    });
  const p99 = (metric: string, ours: number, peerName: string, peer: number, target?: string) =>
    record({
      benchmark: 'sdk',
      metric,
      ours: formatNs(ours),
      peer: formatNs(peer),
      peerName,
      ratio: peer / ours,
      ...(target ? { target } : {}),
    });
  rate(
    'isEnabled ops/s (200 tenants)',
    isEnabled.opsPerSec,
    'unleash-client isEnabled',
    unleashIsEnabled.opsPerSec,
    '≥ 5 M/s',
  );
  p99('isEnabled p99', isEnabled.latency.p99, 'unleash-client isEnabled', unleashIsEnabled.latency.p99, '< 2 µs');
  rate('isEnabled ops/s', isEnabled.opsPerSec, 'OpenFeature InMemoryProvider', ofBoolean.opsPerSec, '≥ 5 M/s');
  p99('isEnabled p99', isEnabled.latency.p99, 'OpenFeature InMemoryProvider', ofBoolean.latency.p99, '< 2 µs');
  rate('get() resolved value ops/s', get.opsPerSec, 'OpenFeature InMemory number', ofNumber.opsPerSec, '≥ 5 M/s');
  p99('get() p99', get.latency.p99, 'OpenFeature InMemory number', ofNumber.latency.p99, '< 2 µs');
  rate(
    'OpenFeature client over StrataProvider',
    ofStrataBoolean.opsPerSec,
    'OpenFeature InMemoryProvider',
    ofBoolean.opsPerSec,
  );
  const floor = measureThroughput(() => 0, 200).latency.p99;
  process.stdout.write(`  (p99 of a single call includes the timer's own cost: empty call p99 ${formatNs(floor)})\n`);

  unleash.destroy();
  await OpenFeature.close();
  await client.close();
};
