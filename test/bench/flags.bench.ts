/**
 * Typed flag evaluation: a targeted flag (three conditions and a fractional split) and a static
 * flag, through the SDK's `getStringDetails` / `getBooleanDetails` on a client loaded from real
 * Redis views, against `@openfeature/flagd-core`'s evaluator on the same flagd definitions and the
 * same contexts, in the same run.
 */
import { FlagdCore } from '@openfeature/flagd-core';
import { Redis } from 'ioredis';
import type { FlagdDefinition } from '@strata/core';
import { createClient } from '@strata/sdk';
import { record } from './lib/report.js';
import { deleteRedisPrefix, redisUrl, runId, seedViews } from './lib/scratch.js';
import { formatNs, formatRate, measureThroughput } from './lib/stats.js';

const durationMs = Number(process.env.BENCH_SDK_MS ?? 2_000);

const targeted: FlagdDefinition = {
  state: 'ENABLED',
  variants: { control: 'control', blue: 'blue', green: 'green' },
  defaultVariant: 'control',
  targeting: {
    if: [
      {
        and: [
          { in: [{ var: 'plan' }, ['pro', 'enterprise']] },
          { sem_ver: [{ var: 'appVersion' }, '>=', '2.1.0'] },
          { ends_with: [{ var: 'email' }, '@example.com'] },
        ],
      },
      {
        fractional: [
          ['blue', 50],
          ['green', 50],
        ],
      },
      null,
    ],
  },
};
const staticFlag: FlagdDefinition = { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'on' };

/** 1,000 contexts, two thirds matching all three conditions. */
const contexts = Array.from({ length: 1_000 }, (_, i) => ({
  targetingKey: `user-${i}`,
  plan: i % 3 === 0 ? 'free' : i % 3 === 1 ? 'pro' : 'enterprise',
  appVersion: i % 5 === 0 ? '2.0.9' : '2.3.1',
  email: `user-${i}@example.com`,
}));

export const flagsBench = async (): Promise<void> => {
  const prefix = `bench:flags:${runId()}:`;
  const redis = new Redis(redisUrl);
  try {
    await seedViews(redis, prefix, (f) => [
      f.manifest({
        keys: {},
        flags: { experiment: { type: 'string' }, static: { type: 'boolean' } },
        secrets: {},
      }),
      f.definition('experiment', targeted),
      f.definition('static', staticFlag),
    ]);
    const client = createClient({ namespace: 'bench', environment: 'prod', redis: redisUrl, prefix });
    await client.ready();

    const flagd = new FlagdCore();
    flagd.setConfigurations(JSON.stringify({ flags: { experiment: targeted, static: staticFlag } }));

    // The same answers first: the comparison is only fair on the same results.
    let differ = 0;
    for (const c of contexts) {
      const ours = client.getStringDetails('experiment', c, 'x').variant;
      const theirs = flagd.resolveStringEvaluation('experiment', 'x', c).variant;
      if ((ours === 'control') !== (theirs === 'control')) differ++;
    }
    if (differ > 0) throw new Error(`${differ} contexts match differently in Strata and flagd-core`);

    const n = contexts.length;
    const oursTargeted = measureThroughput(
      (i) => client.getStringDetails('experiment', contexts[i % n], 'x'),
      durationMs,
    );
    const flagdTargeted = measureThroughput(
      (i) => flagd.resolveStringEvaluation('experiment', 'x', contexts[i % n]),
      durationMs,
    );
    const oursStatic = measureThroughput((i) => client.getBooleanDetails('static', contexts[i % n], false), durationMs);
    const flagdStatic = measureThroughput(
      (i) => flagd.resolveBooleanEvaluation('static', false, contexts[i % n]),
      durationMs,
    );

    const row = (metric: string, ours: string, peer: string, ratio: number, target: string) =>
      record({ benchmark: 'flags', metric, ours, peer, peerName: '@openfeature/flagd-core', ratio, target });
    /** Throughput and p99 of one evaluation, ours beside flagd-core's. */
    const rows = (name: string, ours: typeof oursStatic, peer: typeof oursStatic, rate: string, p99: string) => {
      row(
        `${name} ops/s`,
        formatRate(ours.opsPerSec),
        formatRate(peer.opsPerSec),
        ours.opsPerSec / peer.opsPerSec,
        rate,
      );
      row(
        `${name} p99`,
        formatNs(ours.latency.p99),
        formatNs(peer.latency.p99),
        peer.latency.p99 / ours.latency.p99,
        p99,
      );
    };
    rows(
      'targeted flag (3 conditions + fractional)',
      oursTargeted,
      flagdTargeted,
      '≥ 2 M/s, ≥ 5× flagd-core',
      '< 2 µs',
    );
    rows('static flag', oursStatic, flagdStatic, '≥ 10 M/s', '< 1 µs');
    await client.close();
  } finally {
    redis.disconnect();
    await deleteRedisPrefix(prefix);
  }
};
