import { describe, expect, it } from 'vitest';
import type { HistoryEvent } from '@strata/contracts';
import { exportDocument, parseDocumentText } from './config-document.js';
import { foldEvents } from './environment-state.js';
import { dropsVariants, formatPlan, planChanges, unappliable } from './plan-changes.js';
import { plaintextProblems, validateDocument } from './validate-document.js';
import { colorsFor } from './output.js';

let position = 0;
const versions = new Map<string, number>();
const event = (type: string, data: Record<string, unknown>): HistoryEvent => {
  const tenant = data['tenant'] as string | null | undefined;
  const streamId = tenant ? `tenant:shop/prod/${tenant}` : 'env:shop/prod';
  const streamVersion = (versions.get(streamId) ?? 0) + 1;
  versions.set(streamId, streamVersion);
  return {
    type,
    data: { namespace: 'shop', environment: 'prod', ...data },
    position: ++position,
    streamId,
    streamVersion,
    recordedAt: '2026-05-01T00:00:00Z',
    metadata: { actor: 'admin' },
  } as unknown as HistoryEvent;
};

const history = [
  event('ConfigValueSet', { tenant: null, key: 'checkout.max_items', value: 50 }),
  event('ConfigValueSet', { tenant: null, key: 'db.password', value: 'hunter2' }),
  event('ConfigValueSet', { tenant: null, key: 'old.key', value: true }),
  event('ConfigValueUnset', { tenant: null, key: 'old.key' }),
  event('FlagRolloutChanged', { flag: 'new_checkout', rollout: 25, enabled: true }),
  event('ConfigValueSet', { tenant: 'acme', key: 'checkout.max_items', value: 100 }),
  event('FlagOverrideSet', { tenant: 'acme', flag: 'new_checkout', override: 'enabled' }),
  event('SecretVersionAdded', { tenant: null, name: 'stripe.key', version: 1 }),
  event('SecretVersionAdded', { tenant: null, name: 'stripe.key', version: 2 }),
  {
    ...event('ConfigValueSet', { tenant: null, key: 'x', value: 1 }),
    data: { namespace: 'other', environment: 'prod', tenant: null, key: 'x', value: 1 },
  } as HistoryEvent,
];
const manifest = {
  keys: { 'checkout.max_items': { type: 'integer' }, 'db.password': { type: 'string', secret: true } },
};
const colors = colorsFor({ write: () => true }, {});

describe('export', () => {
  const state = foldEvents('shop', 'prod', history);
  const doc = exportDocument(state, manifest);

  it('folds the environment, never a secret value, and ignores other scopes', () => {
    expect(doc).toEqual({
      namespace: 'shop',
      environment: 'prod',
      position: 9,
      config: { 'checkout.max_items': 50, 'db.password': { secretRef: 'db.password', position: 2 } },
      flags: { new_checkout: { rollout: 25, enabled: true } },
      secrets: { 'stripe.key': { secretRef: 'stripe.key', version: 2 } },
      tenants: { acme: { config: { 'checkout.max_items': 100 }, flags: { new_checkout: 'enabled' } } },
    });
    expect(JSON.stringify(doc)).not.toContain('hunter2');
    expect(state.streamVersions.get('env:shop/prod')).toBe(7);
    expect(state.streamVersions.get('tenant:shop/prod/acme')).toBe(2);
  });

  it('plans no change for its own export', () => {
    const plan = planChanges(validateDocument(doc, 'f', {}), state);
    expect(plan.changes).toEqual([]);
    expect(formatPlan(plan, colors)).toMatch(/no changes/);
  });

  it('plans sets, unsets, flag and override changes with the stream each goes to', () => {
    const edited = structuredClone(doc);
    edited.config = { ...edited.config, 'checkout.max_items': 60, 'new.key': 'x' };
    edited.flags = { new_checkout: { rollout: 50, enabled: true } };
    edited.tenants = { globex: { flags: { new_checkout: 'disabled' } } };
    const plan = planChanges(validateDocument(edited, 'f', {}), state);
    expect(plan.changes.map((c) => ({ ...c }))).toEqual([
      { kind: 'set', tenant: null, key: 'checkout.max_items', before: 50, after: 60, streamId: 'env:shop/prod' },
      { kind: 'set', tenant: null, key: 'new.key', before: undefined, after: 'x', streamId: 'env:shop/prod' },
      {
        kind: 'flag',
        flag: 'new_checkout',
        before: { rollout: 25, enabled: true },
        after: { rollout: 50, enabled: true },
        streamId: 'env:shop/prod',
      },
      { kind: 'unset', tenant: 'acme', key: 'checkout.max_items', before: 100, streamId: 'tenant:shop/prod/acme' },
      {
        kind: 'override',
        tenant: 'acme',
        flag: 'new_checkout',
        before: 'enabled',
        after: null,
        streamId: 'tenant:shop/prod/acme',
      },
      {
        kind: 'override',
        tenant: 'globex',
        flag: 'new_checkout',
        before: null,
        after: 'disabled',
        streamId: 'tenant:shop/prod/globex',
      },
    ]);
    expect(unappliable(plan)).toEqual([]);
    expect(formatPlan(plan, colors)).toContain('~ config.checkout.max_items: 50 → 60');
  });

  it('reports secret drift as something apply cannot fix', () => {
    const edited = structuredClone(doc);
    edited.secrets = { 'stripe.key': { secretRef: 'stripe.key', version: 1 } };
    const plan = planChanges(validateDocument(edited, 'f', {}), state);
    expect(unappliable(plan)).toHaveLength(1);
    expect(formatPlan(plan, colors)).toContain('stripe.key: file has version 1, store has version 2');
  });
});

describe('flags in documents', () => {
  const definition = {
    state: 'ENABLED',
    variants: { classic: 'v1', vector: 'v2' },
    defaultVariant: 'classic',
    targeting: { if: [{ $ref: 'beta' }, 'vector', null] },
  };
  const variants = [
    { value: 'blue', weight: 70 },
    { value: 'green', weight: 30 },
  ];
  const source = foldEvents('shop', 'prod', [
    event('SegmentSet', { segment: 'beta', logic: { in: [{ var: 'targetingKey' }, ['acme']] } }),
    event('FlagDefinitionSet', { flag: 'search.engine', definition }),
    event('FlagRolloutChanged', { flag: 'new_checkout', rollout: 40, enabled: true, variants }),
    event('FlagOverrideSet', { tenant: 'globex', flag: 'search.engine', override: 'enabled', variant: 'vector' }),
    event('FlagOverrideSet', { tenant: 'initech', flag: 'search.engine', override: 'disabled' }),
  ]);
  const doc = exportDocument(source, null);

  it('exports definitions, segments, weighted variants and pinned variants as stored', () => {
    expect(doc).toMatchObject({
      flags: { 'search.engine': definition, new_checkout: { rollout: 40, enabled: true, variants } },
      segments: { beta: { in: [{ var: 'targetingKey' }, ['acme']] } },
      tenants: {
        globex: { flags: { 'search.engine': { variant: 'vector' } } },
        initech: { flags: { 'search.engine': 'disabled' } },
      },
    });
  });

  it('plans a fresh environment segments first, then flags, then pins; and nothing for its own export', () => {
    expect(planChanges(validateDocument(doc, 'f', {}), source).changes).toEqual([]);
    const fresh = foldEvents('shop', 'prod', []);
    const plan = planChanges(validateDocument(doc, 'f', {}), fresh);
    expect(plan.changes.map((c) => [c.kind, 'segment' in c ? c.segment : 'flag' in c ? c.flag : ''])).toEqual([
      ['segment', 'beta'],
      ['flag', 'new_checkout'],
      ['flag', 'search.engine'],
      ['override', 'search.engine'],
      ['override', 'search.engine'],
    ]);
    expect(formatPlan(plan, colors)).toContain(
      '~ flags.search.engine: unset → definition on, variants classic/vector, default classic, targeted',
    );
    expect(formatPlan(plan, colors)).toContain('~ flags.new_checkout: unset → on 40% over 2 variants');
    expect(formatPlan(plan, colors)).toContain('~ tenants.globex.flags.search.engine: no override → variant vector');
  });

  it('plans a file that drops weighted variants as their removal (apply sends variants: null)', () => {
    const edited = structuredClone(doc);
    edited.flags = { ...edited.flags, new_checkout: { rollout: 40, enabled: true } };
    const plan = planChanges(validateDocument(edited, 'f', {}), source);
    expect(unappliable(plan)).toEqual([]);
    expect(plan.changes.filter(dropsVariants).map((c) => c.kind === 'flag' && c.flag)).toEqual(['new_checkout']);
    expect(formatPlan(plan, colors)).toContain(
      '~ flags.new_checkout: on 40% over 2 variants → on 40%, variants removed',
    );
  });

  it('refuses malformed flags, variants and pins', () => {
    expect(() =>
      validateDocument(
        {
          namespace: 'shop',
          environment: 'prod',
          flags: { d: { state: 'ENABLED' }, v: { rollout: 1, enabled: true, variants: [{ value: 1 }] } },
          segments: [],
          tenants: { a: { flags: { d: { variant: 3 } } } },
        },
        'f.yaml',
        {},
      ),
    ).toThrow(
      'f.yaml: flags.d.variants: a flagd definition needs a map of variants; flags.v.variants: expected a list of {value, weight}; segments: expected a map of segment: targeting rule; tenants.a.flags.d: expected enabled, disabled or {variant: name}',
    );
  });
});

describe('plaintextProblems', () => {
  it('refuses literal secrets and values of secret keys, in any layer', () => {
    const doc = parseDocumentText(
      `namespace: shop
environment: prod
config:
  db.password: hunter2
secrets:
  stripe.key: sk_live_123
  ok: { secretRef: ok, version: 1 }
  sneaky: { secretRef: sneaky, version: 1, value: sk_live_456 }
tenants:
  acme:
    config: { db.password: { secretRef: db.password, position: 3 } }
    secrets: { own: { value: x } }
`,
      'f.yaml',
    );
    expect(plaintextProblems(doc, manifest)).toEqual([
      'secrets.stripe.key holds a literal value; secrets may only appear as {secretRef: stripe.key, version: n}',
      'secrets.sneaky holds a literal value; secrets may only appear as {secretRef: sneaky, version: n}',
      'config.db.password is marked secret: true in the manifest but the file holds a literal value',
      'tenants.acme.secrets.own holds a literal value; secrets may only appear as {secretRef: own, version: n}',
    ]);
  });

  it("uses the file's own manifest too", () => {
    expect(
      plaintextProblems(
        { manifest: { keys: { api_key: { type: 'string', secret: true } } }, config: { api_key: 'k' } },
        null,
      ),
    ).toHaveLength(1);
  });
});

describe('validateDocument', () => {
  it('lists every problem in one error', () => {
    expect(() =>
      validateDocument(
        { namespace: 'shop', flags: { f: { rollout: 101 } }, tenants: { a: { flagz: {} } }, extra: 1 },
        'f.yaml',
        { env: undefined },
      ),
    ).toThrow(
      /f.yaml: extra: unknown section; environment: missing .*; flags.f.rollout: expected 0-100; flags.f.enabled: expected true or false; tenants.a.flagz: unknown section/,
    );
  });

  it('refuses a file for another scope than the one asked for', () => {
    expect(() => validateDocument({ namespace: 'shop', environment: 'prod' }, 'f', { env: 'staging' })).toThrow(
      /for prod, not staging/,
    );
  });

  it('takes namespace and environment from the options when the file has none', () => {
    expect(validateDocument({ config: { a: 1 } }, 'f', { namespace: 'shop', env: 'dev' })).toMatchObject({
      namespace: 'shop',
      environment: 'dev',
    });
  });
});
