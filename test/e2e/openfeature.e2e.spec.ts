import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import {
  OpenFeature,
  ProviderStatus,
  type Client,
  type EvaluationDetails,
  type FlagValue,
  type Hook,
} from '@openfeature/server-sdk';
import { InMemoryEventLog, type DefinedManifest } from '@strata/core';
import { onOffFlag, segmentThenFraction } from '@strata/core/testing';
import { RedisViewStore } from '@strata/redis-views';
import { createClient, StrataProvider, type CreateClientOptions, type StrataClient } from '@strata/sdk';
import { privateRedis, waitFor, type PrivateRedis } from '@strata/testing';
import { parseFeature, type Scenario, type Step } from './gherkin.js';
import { freePort, repoRoot, startStack, type Stack } from './stack-fixture.js';

/**
 * The OpenFeature spec's gherkin evaluation suites (open-feature/spec
 * `specification/assets/gherkin/evaluation.feature` and `evaluation_v2.feature`, vendored in
 * `openfeature/`) run against the StrataProvider with the whole stack behind it: API, relay and
 * projector as processes, PostgreSQL, Kafka, Redis. The spec's `test-flags.json` writes targeting
 * as CEL; `openfeature/flagd-flags.json` is its translation to flagd definitions, loaded through
 * the import route. Then: a flagd file imported, evaluated through OFREP and the SDK with
 * contexts, exported, re-imported and a rule change reverted.
 */

const dir = path.join(repoRoot, 'test/e2e/openfeature');
const flagdFile = JSON.parse(readFileSync(path.join(dir, 'flagd-flags.json'), 'utf8')) as Record<string, unknown>;
const ns = 'gherkin';
const P = `/v1/namespaces/${ns}/envs/prod`;

/** Scenarios that test what Strata genuinely does not have, each with the reason. */
const notApplicable: Array<{ match: (s: Scenario) => boolean; reason: string }> = [
  {
    match: (s) => s.tags.includes('@reason-codes-cached'),
    reason: 'Strata evaluates in process from a live view: it answers STATIC / TARGETING_MATCH / …, never CACHED',
  },
];

let stack: Stack;
let sdk: StrataClient;
let notReady: StrataClient;
/** Providers in the states the status scenarios need, each reached the way it happens in production. */
const degraded: StrataClient[] = [];
let staleRedis: PrivateRedis | undefined;
let of: Client;
let position = 0;

/** A client of the gherkin namespace's prod; the options say where its views are and how it starts. */
const prodClient = (options: Omit<CreateClientOptions<DefinedManifest>, 'namespace' | 'environment'>) =>
  createClient({ namespace: ns, environment: 'prod', ...options });

beforeAll(async () => {
  stack = await startStack();
  const manifest = await stack.call('PUT', `/v1/namespaces/${ns}/manifest`, {
    keys: { page_size: { type: 'integer' } },
    flags: {},
    secrets: {},
  });
  expect(manifest.status, manifest.text).toBe(200);
  const imported = await stack.call('POST', `${P}/flags/import`, { ...flagdFile, reason: 'OpenFeature gherkin flags' });
  expect(imported.status, imported.text).toBe(200);
  position = imported.body.position as number;
  sdk = prodClient({ redis: stack.redisUrl, prefix: stack.prefix });
  await sdk.ready();
  await sdk.waitFor(position, 30_000);
  await OpenFeature.setProviderAndWait('strata', new StrataProvider(sdk, { closeClient: false }));
  of = OpenFeature.getClient('strata');
  // A provider whose Redis does not answer: it stays NOT_READY for the scenarios that need one.
  notReady = prodClient({ redis: `redis://127.0.0.1:${await freePort()}`, readyTimeoutMs: 120_000 });
  OpenFeature.setProvider('not-ready', new StrataProvider(notReady, { closeClient: false }));

  // ERROR: Redis does not answer within readyTimeoutMs, initialize fails; the client keeps
  // trying, so the state is recoverable.
  const unreachable = prodClient({ redis: `redis://127.0.0.1:${await freePort()}`, readyTimeoutMs: 300 });
  // FATAL: an environment variable the manifest rejects (page_size is an integer); env vars are
  // fixed for the process's lifetime, so this client can never start.
  const misconfigured = prodClient({
    redis: stack.redisUrl,
    prefix: stack.prefix,
    envVars: { prefix: 'GHERKIN_', env: { GHERKIN_PAGE_SIZE: 'ten' } },
  });
  // STALE: a client that loaded its view from a redis-server of this spec's own, which then dies.
  staleRedis = await privateRedis();
  const seed = new Redis(staleRedis.url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  seed.on('error', () => undefined);
  const viewStore = new RedisViewStore({ redis: seed, prefix: 'strata:' });
  await viewStore.rebuild({ eventLog: new InMemoryEventLog(), dropDelayMs: 0 });
  seed.disconnect();
  const losing = prodClient({ redis: staleRedis.url, prefix: 'strata:' });
  degraded.push(unreachable, misconfigured, losing);
  await OpenFeature.setProviderAndWait('error', new StrataProvider(unreachable, { closeClient: false })).catch(
    () => undefined,
  );
  await OpenFeature.setProviderAndWait('fatal', new StrataProvider(misconfigured, { closeClient: false })).catch(
    () => undefined,
  );
  await OpenFeature.setProviderAndWait('stale', new StrataProvider(losing, { closeClient: false }));
  await staleRedis.kill();
  await waitFor(() => OpenFeature.getClient('stale').providerStatus === ProviderStatus.STALE, 'STALE', 30_000, 20);
}, 240_000);

afterAll(async () => {
  await OpenFeature.clearProviders();
  for (const client of degraded) await client.close();
  await staleRedis?.kill();
  await notReady?.close();
  await sdk?.close();
  await stack?.[Symbol.asyncDispose]();
});

interface World {
  client: Client;
  domain: string;
  type?: string;
  key?: string;
  fallback?: FlagValue;
  context: Record<string, unknown>;
  details?: EvaluationDetails<FlagValue>;
  value?: FlagValue;
  hookCalls: string[];
  hooks?: Hook[];
  contextBefore?: string;
  pending?: Promise<EvaluationDetails<FlagValue>>;
}

const parse = (type: string, raw: string): FlagValue => {
  switch (type.toLowerCase()) {
    case 'boolean':
      return raw === 'true';
    case 'integer':
      return Number.parseInt(raw, 10);
    case 'float':
      return Number.parseFloat(raw);
    case 'object':
      return JSON.parse(raw) as FlagValue;
    default:
      return raw;
  }
};

const evaluate = (w: World, options?: { hooks: Hook[] }): Promise<EvaluationDetails<FlagValue>> => {
  const { client, key = '', fallback, context } = w;
  const ctx = context as Parameters<Client['getBooleanDetails']>[2];
  switch ((w.type ?? 'string').toLowerCase()) {
    case 'boolean':
      return client.getBooleanDetails(key, fallback as boolean, ctx, options);
    case 'integer':
    case 'float':
      return client.getNumberDetails(key, fallback as number, ctx, options);
    case 'object':
      return client.getObjectDetails(key, fallback as never, ctx, options);
    default:
      return client.getStringDetails(key, fallback as string, ctx, options);
  }
};

type StepFn = (w: World, m: string[], step: Step) => void | Promise<void>;
const steps: Array<[RegExp, StepFn]> = [
  // --- evaluation_v2.feature
  [/^a stable provider$/, () => undefined],
  [
    /^an? (not ready|error|fatal|stale) provider$/,
    (w, [state]) => {
      w.domain = state === 'not ready' ? 'not-ready' : state!;
      w.client = OpenFeature.getClient(w.domain);
    },
  ],
  [
    /^an? (\w+)-flag with key "([^"]*)" and a (?:fallback|default) value "(.*)"$/,
    (w, [type, key, raw]) => {
      w.type = type!;
      w.key = key!;
      w.fallback = parse(type!, raw!);
    },
  ],
  [
    /^a context containing a key "([^"]*)", with type "(\w+)" and with value "(.*)"$/,
    (w, [key, type, raw]) => {
      w.context[key!] = parse(type!, raw!);
    },
  ],
  [/^a context containing a key "([^"]*)" with null value$/, (w, [key]) => void (w.context[key!] = null)],
  [/^the flag was evaluated with details$/, async (w) => void (w.details = await evaluate(w))],
  [
    /^the resolved details value should be "(.*)"$/,
    (w, [raw]) => expect(w.details?.value).toEqual(parse(w.type!, raw!)),
  ],
  [/^the reason should be "(\w+)"$/, (w, [reason]) => expect(w.details?.reason).toBe(reason)],
  [/^the error-code should be "(\w+)"$/, (w, [code]) => expect(w.details?.errorCode).toBe(code)],
  [/^the variant should be "([^"]*)"$/, (w, [variant]) => expect(w.details?.variant).toBe(variant)],
  [/^the flag key should be "([^"]*)"$/, (w, [key]) => expect(w.details?.flagKey).toBe(key)],
  [/^the error message should contain "([^"]*)"$/, (w, [text]) => expect(w.details?.errorMessage).toContain(text)],
  [
    /^the resolved metadata should contain$/,
    (w, _m, step) => {
      const [, ...rows] = step.table ?? [];
      for (const [key, type, raw] of rows) expect(w.details?.flagMetadata[key!]).toEqual(parse(type!, raw!));
    },
  ],
  [
    /^the provider status should be "(\w+)"$/,
    (w, [status]) => expect(w.domain === 'strata' ? of.providerStatus : w.client.providerStatus).toBe(status),
  ],
  [
    /^evaluation options containing specific hooks$/,
    (w) => {
      w.hooks = [
        {
          before: () => void w.hookCalls.push('before'),
          after: () => void w.hookCalls.push('after'),
          finally: () => void w.hookCalls.push('finally'),
        },
      ];
    },
  ],
  [
    /^the flag was evaluated with details using the evaluation options$/,
    async (w) => void (w.details = await evaluate(w, { hooks: w.hooks ?? [] })),
  ],
  [/^the specified hooks should execute during evaluation$/, (w) => expect(w.hookCalls).toContain('before')],
  [/^the hook order should be maintained$/, (w) => expect(w.hookCalls).toEqual(['before', 'after', 'finally'])],
  [
    /^an evaluation context with modifiable data$/,
    (w) => {
      w.context = { targetingKey: 'user-1', tags: ['a'], nested: { plan: 'pro' } };
      w.contextBefore = JSON.stringify(w.context);
    },
  ],
  [
    /^the original evaluation context should remain unmodified$/,
    (w) => expect(JSON.stringify(w.context)).toBe(w.contextBefore),
  ],
  [
    /^the evaluation details should be immutable$/,
    async (w) => {
      // Changing an answer changes nothing for the next one.
      (w.details as { value: unknown }).value = 'changed';
      expect((await evaluate(w)).value).not.toBe('changed');
    },
  ],
  [
    /^the flag was evaluated with details asynchronously$/,
    (w) => {
      w.pending = evaluate(w);
    },
  ],
  [
    /^the evaluation should complete without blocking$/,
    async (w) => {
      expect(w.pending).toBeInstanceOf(Promise);
      w.details = await w.pending;
    },
  ],
  [
    /^the result should be equivalent to synchronous evaluation$/,
    async (w) => expect(await evaluate(w)).toEqual(w.details),
  ],

  // --- evaluation.feature (the older suite)
  [
    /^an? (boolean|string|integer|float|object) flag with key "([^"]*)" is evaluated with (details and )?(?:a )?(?:default value "?(.*?)"?|null default value)$/,
    async (w, [type, key, withDetails, raw]) => {
      w.type = type!;
      w.key = key!;
      w.fallback = raw === undefined ? (null as unknown as FlagValue) : parse(type!, raw);
      w.details = await evaluate(w);
      if (!withDetails) w.value = w.details.value;
    },
  ],
  [
    /^the resolved (boolean|string|integer|float) (details )?value should be "?([^"]*?)"?(?:, the variant should be "([^"]*)", and the reason should be "(\w+)")?$/,
    (w, [type, , raw, variant, reason]) => {
      expect(w.details?.value).toEqual(parse(type!, raw!));
      if (variant !== undefined) expect(w.details?.variant).toBe(variant);
      if (reason !== undefined) expect(w.details?.reason).toBe(reason);
    },
  ],
  [
    /^the resolved object (?:details )?value should be contain fields "(\w+)", "(\w+)", and "(\w+)", with values "(\w+)", "([^"]*)" and (\d+), respectively$/,
    (w, [a, b, c, va, vb, vc]) =>
      expect(w.details?.value).toMatchObject({ [a!]: va === 'true', [b!]: vb, [c!]: Number(vc) }),
  ],
  [
    /^the variant should be "([^"]*)", and the reason should be "(\w+)"$/,
    (w, [variant, reason]) => {
      expect(w.details?.variant).toBe(variant);
      expect(w.details?.reason).toBe(reason);
    },
  ],
  [
    /^context contains keys "(\w+)", "(\w+)", "(\w+)", "(\w+)" with values "([^"]*)", "([^"]*)", (\d+), "(\w+)"$/,
    (w, [k1, k2, k3, k4, v1, v2, v3, v4]) => {
      w.context = { [k1!]: v1, [k2!]: v2, [k3!]: Number(v3), [k4!]: v4 === 'true' };
    },
  ],
  [
    /^a flag with key "([^"]*)" is evaluated with default value "([^"]*)"$/,
    async (w, [key, raw]) => {
      w.type = 'string';
      w.key = key!;
      w.fallback = raw!;
      w.details = await evaluate(w);
    },
  ],
  [/^the resolved string response should be "([^"]*)"$/, (w, [raw]) => expect(w.details?.value).toBe(raw)],
  [
    /^the resolved flag value is "([^"]*)" when the context is empty$/,
    async (w, [raw]) => expect((await evaluate({ ...w, context: {} })).value).toBe(raw),
  ],
  [
    /^a non-existent string flag with key "([^"]*)" is evaluated with details and a (?:default|fallback) value "([^"]*)"$/,
    async (w, [key, raw]) => {
      Object.assign(w, { type: 'string', key, fallback: raw });
      w.details = await evaluate(w);
    },
  ],
  [
    /^a string flag with key "([^"]*)" is evaluated as an integer, with details and a (?:default|fallback) value (\d+)$/,
    async (w, [key, raw]) => {
      Object.assign(w, { type: 'integer', key, fallback: Number(raw) });
      w.details = await evaluate(w);
    },
  ],
  [/^the default (\w+) value should be returned$/, (w) => expect(w.details?.value).toEqual(w.fallback)],
  [
    /^the reason should indicate an error and the error code should indicate an? (?:missing flag|type mismatch) with "(\w+)"$/,
    (w, [code]) => {
      expect(w.details?.reason).toBe('ERROR');
      expect(w.details?.errorCode).toBe(code);
    },
  ],
];

const run = async (scenario: Scenario) => {
  const world: World = { client: of, domain: 'strata', context: {}, hookCalls: [] };
  for (const step of scenario.steps) {
    const found = steps.find(([pattern]) => pattern.test(step.text));
    if (!found) throw new Error(`no step definition for: ${step.keyword} ${step.text}`);
    const match = found[0].exec(step.text)!;
    await found[1](world, match.slice(1) as string[], step);
  }
};

for (const feature of ['evaluation.feature', 'evaluation_v2.feature']) {
  describe(`OpenFeature gherkin: ${feature}`, () => {
    for (const scenario of parseFeature(readFileSync(path.join(dir, feature), 'utf8'))) {
      const skip = notApplicable.find((n) => n.match(scenario));
      if (skip) it.skip(`${scenario.name} — not applicable: ${skip.reason}`, () => undefined);
      else it(scenario.name, () => run(scenario));
    }
  });
}

describe('a flagd file end to end: import, SDK and OFREP with contexts, export, re-import, revert', () => {
  const S = `/v1/namespaces/${ns}/envs/staging`;
  const file = {
    $evaluators: { staff: { ends_with: [{ var: 'email' }, '@shop.example'] } },
    flags: {
      'checkout-v2': onOffFlag(segmentThenFraction('staff', 50)),
      headerColor: {
        state: 'ENABLED',
        variants: { red: '#c00', blue: '#00c' },
        defaultVariant: 'red',
        targeting: { if: [{ sem_ver: [{ var: 'appVersion' }, '>=', '2.0.0'] }, 'blue', null] },
        metadata: { team: 'web' },
      },
    },
  };
  const contexts = [
    { targetingKey: 'acme', email: 'ann@shop.example', appVersion: '2.1.0' },
    { targetingKey: 'globex', email: 'bob@globex.example', appVersion: '1.9.9' },
    { targetingKey: 'initech', email: 'cy@initech.example', appVersion: 'v2' },
    { targetingKey: 'umbrella', appVersion: 'not-a-version' },
  ];

  it('answers the same through OFREP and the SDK, survives export and re-import, and reverts a rule change', async () => {
    const imported = await stack.call('POST', `${S}/flags/import`, file);
    expect(imported.status, imported.text).toBe(200);
    await using client = createClient({
      namespace: ns,
      environment: 'staging',
      redis: stack.redisUrl,
      prefix: stack.prefix,
    });
    await client.ready();
    await client.waitFor(imported.body.position as number, 30_000);

    const ofrep = async (key: string, context: Record<string, unknown>) =>
      (
        await stack.call('POST', `/ofrep/v1/evaluate/flags/${key}`, {
          context: { namespace: ns, environment: 'staging', ...context },
        })
      ).body;
    for (const context of contexts) {
      const viaSdk = client.getBooleanDetails('checkout-v2', context, false);
      const viaOfrep = await ofrep('checkout-v2', context);
      expect({ value: viaOfrep.value, variant: viaOfrep.variant, reason: viaOfrep.reason }).toEqual({
        value: viaSdk.value,
        variant: viaSdk.variant,
        reason: viaSdk.reason,
      });
      const color = client.getStringDetails('headerColor', context, '#000');
      expect((await ofrep('headerColor', context)).value).toBe(color.value);
    }
    expect(client.getBooleanDetails('checkout-v2', contexts[0], false)).toMatchObject({
      value: true,
      reason: 'TARGETING_MATCH',
    });
    expect(client.getStringDetails('headerColor', contexts[0], '#000')).toMatchObject({
      value: '#00c',
      flagMetadata: { team: 'web' },
    });
    expect(client.getString('headerColor', contexts[1], '#000')).toBe('#c00');

    const exported = await stack.call('GET', `${S}/flags/export`);
    expect(exported.body.flags).toEqual(file.flags);
    expect(exported.body.$evaluators).toEqual(file.$evaluators);
    const again = await stack.call('POST', `${S}/flags/import`, exported.body);
    expect(again.status, again.text).toBe(200);
    const sameDiff = await stack.call('GET', `${S}/diff?from=${imported.body.position}&to=${again.body.position}`);
    expect(sameDiff.body.changes).toEqual([]);

    const before = again.body.position as number;
    const changed = await stack.call('PUT', `${S}/flags/headerColor`, {
      ...file.flags.headerColor,
      targeting: { if: [true, 'blue', null] },
      reason: 'everyone blue',
    });
    expect(changed.status, changed.text).toBe(200);
    await client.waitFor(changed.body.position as number, 30_000);
    expect(client.getString('headerColor', contexts[1], '#000')).toBe('#00c');
    const reverted = await stack.call('POST', `${S}/revert`, { to: { position: before }, reason: 'too blue' });
    expect(reverted.status, reverted.text).toBe(200);
    await client.waitFor(reverted.body.position as number, 30_000);
    expect(client.getString('headerColor', contexts[1], '#000')).toBe('#c00');
    expect((await ofrep('headerColor', contexts[1]!)).value).toBe('#c00');
    const history = await stack.call('GET', `/v1/events?namespace=${ns}&env=staging&type=FlagDefinitionSet&limit=100`);
    expect(history.body.events.at(-1)).toMatchObject({ metadata: { source: 'revert' }, data: { flag: 'headerColor' } });
  });
});
