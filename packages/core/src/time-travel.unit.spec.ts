import { describe, expect, it } from 'vitest';
import type { NewEvent, RecordedEvent } from './events.js';
import { ev } from './testing/event-builders.js';
import { recorded } from './testing/given.js';
import { fold, type NamespaceEnvState } from './scope-state.js';
import { diffStates, planRevert, stateAt, stateAtTime, type RevertPlan } from './time-travel.js';

const scope = { namespace: 'shop', environment: 'prod' };

const before: NewEvent[] = [
  ev.manifest(),
  ev.set(null, 'rate_limit.requests_per_minute', 200),
  ev.set('tenant_001', 'rate_limit.requests_per_minute', 30),
  ev.set('tenant_001', 'search.provider', 'algolia'),
  ev.set('tenant_002', 'billing.currency', 'EUR'),
  ev.rollout('new_checkout', 25),
  ev.rollout('pricing_page', 100, true, [
    { value: 'a', weight: 50 },
    { value: 'b', weight: 50 },
  ]),
  ev.override('tenant_001', 'new_checkout', 'enabled'),
  ev.secret('tenant_001', 'db_password', 1),
  ev.secret(null, 'stripe_api_key', 1),
]; // positions 1-10
const after: NewEvent[] = [
  ev.set(null, 'rate_limit.requests_per_minute', 500),
  ev.unset('tenant_001', 'search.provider'),
  ev.set('tenant_003', 'ui.theme_color', '#000000'),
  ev.rollout('new_checkout', 80, false),
  ev.rollout('pricing_page', 100, true),
  ev.override('tenant_001', 'new_checkout', null),
  ev.override('tenant_002', 'new_checkout', 'disabled'),
  ev.secret('tenant_001', 'db_password', 2),
  ev.deleteSecret(null, 'stripe_api_key'),
]; // positions 11-19
const log = recorded([...before, ...after]);
const target = stateAt(log, 10, scope);
const current = stateAt(log, 99, scope);

/** Appends a plan's events after the state's position, as the log would. */
const apply = (state: NamespaceEnvState, plan: RevertPlan): NamespaceEnvState =>
  fold(
    state,
    recorded(
      plan.streams.flatMap((s) => s.events),
      state.position,
    ),
  );

const eventsOf = (plan: RevertPlan) => plan.streams.flatMap((s) => s.events);

describe('stateAt / stateAtTime', () => {
  it('folds only the events at or before the position or time', () => {
    expect(target.position).toBe(10);
    expect(target.environmentValues.get('rate_limit.requests_per_minute')?.value).toBe(200);
    expect(current.environmentValues.get('rate_limit.requests_per_minute')?.value).toBe(500);
    // recorded(): position n at 2024-01-01T00:(n-1):00Z
    const atTime = stateAtTime(log, '2024-01-01T00:09:30.000Z', scope);
    expect(atTime.position).toBe(10);
    expect(diffStates(atTime, target)).toEqual([]);
  });
});

describe('diffStates', () => {
  it('lists config, flag, override and secret changes with before/after, never secret values', () => {
    const changes = diffStates(target, current);
    expect(changes).toEqual([
      {
        kind: 'config',
        tenant: null,
        key: 'rate_limit.requests_per_minute',
        before: { value: 200, position: 2 },
        after: { value: 500, position: 11 },
      },
      {
        kind: 'config',
        tenant: 'tenant_001',
        key: 'search.provider',
        before: { value: 'algolia', position: 4 },
        after: null,
      },
      {
        kind: 'config',
        tenant: 'tenant_003',
        key: 'ui.theme_color',
        before: null,
        after: { value: '#000000', position: 13 },
      },
      {
        kind: 'flag',
        flag: 'new_checkout',
        before: { rollout: 25, enabled: true, position: 6 },
        after: { rollout: 80, enabled: false, position: 14 },
      },
      {
        kind: 'flag',
        flag: 'pricing_page',
        before: {
          rollout: 100,
          enabled: true,
          variants: [
            { value: 'a', weight: 50 },
            { value: 'b', weight: 50 },
          ],
          position: 7,
        },
        after: { rollout: 100, enabled: true, position: 15 },
      },
      {
        kind: 'override',
        tenant: 'tenant_001',
        flag: 'new_checkout',
        before: { override: 'enabled', position: 8 },
        after: null,
      },
      {
        kind: 'override',
        tenant: 'tenant_002',
        flag: 'new_checkout',
        before: null,
        after: { override: 'disabled', position: 17 },
      },
      {
        kind: 'secret',
        tenant: null,
        name: 'stripe_api_key',
        before: { version: 1, deleted: false, position: 10 },
        after: { version: 1, deleted: true, position: 19 },
      },
      {
        kind: 'secret',
        tenant: 'tenant_001',
        name: 'db_password',
        before: { version: 1, deleted: false, position: 9 },
        after: { version: 2, deleted: false, position: 18 },
      },
    ]);
    expect(JSON.stringify(changes)).not.toContain('ct-');
    expect(diffStates(current, current)).toEqual([]);
  });
});

describe('planRevert', () => {
  const options = { actor: 'ops', reason: 'bad deploy', revertTo: 10 };

  it('plans compensating events that make current equal to target, and reverting the revert restores current', () => {
    const plan = planRevert(current, target, options);
    expect(plan.skipped).toEqual([]);
    const reverted = apply(current, plan);
    expect(diffStates(reverted, target)).toEqual([]);
    // History is untouched: the revert only appended.
    expect(reverted.position).toBe(19 + eventsOf(plan).length);

    const back = planRevert(reverted, current, { ...options, revertTo: 19 });
    expect(diffStates(apply(reverted, back), current)).toEqual([]);
  });

  it('groups events by stream, environment first, and marks them as a revert', () => {
    const plan = planRevert(current, target, options);
    expect(plan.streams.map((s) => s.streamId)).toEqual([
      'env:shop/prod',
      'tenant:shop/prod/tenant_001',
      'tenant:shop/prod/tenant_002',
      'tenant:shop/prod/tenant_003',
    ]);
    for (const { streamId, events } of plan.streams) {
      for (const event of events) {
        expect(event.metadata).toEqual({ actor: 'ops', reason: 'bad deploy', source: 'revert', revertTo: 10 });
        const tenant = (event.data as { tenant?: string | null }).tenant ?? null;
        expect(streamId).toBe(tenant === null ? 'env:shop/prod' : `tenant:shop/prod/${tenant}`);
      }
    }
    const secret = eventsOf(plan).find((e) => e.type === 'SecretVersionAdded' && e.data.tenant === 'tenant_001');
    // Re-adds version 1's ciphertext as version 3: history keeps 1 and 2.
    expect(secret?.data).toMatchObject({
      name: 'db_password',
      version: 3,
      envelope: { ciphertext: 'ct-db_password-1' },
    });
  });

  it('reverts only the chosen tenants and keys', () => {
    const plan = planRevert(current, target, {
      ...options,
      tenants: ['tenant_001'],
      keys: ['search.provider'],
      flags: [],
      secrets: [],
    });
    expect(eventsOf(plan)).toEqual([
      expect.objectContaining({
        type: 'ConfigValueSet',
        data: { ...scope, tenant: 'tenant_001', key: 'search.provider', value: 'algolia' },
      }),
    ]);
    const reverted = apply(current, plan);
    expect(diffStates(reverted, current).map((c) => c.kind === 'config' && [c.tenant, c.key])).toEqual([
      ['tenant_001', 'search.provider'],
    ]);
    expect(diffStates(reverted, target).some((c) => c.kind === 'config' && c.tenant === 'tenant_001')).toBe(false);
  });

  it('skips immutable keys, and re-seals secret envelopes for their new version when asked', () => {
    const log2: RecordedEvent[] = recorded([
      ...before,
      ev.unset('tenant_002', 'billing.currency'),
      ev.set('tenant_002', 'billing.currency', 'USD'),
    ]);
    const plan = planRevert(stateAt(log2, 99, scope), stateAt(log2, 10, scope), options);
    expect(plan.skipped).toEqual([
      {
        kind: 'config',
        tenant: 'tenant_002',
        key: 'billing.currency',
        reason: 'immutable key: it cannot change once set',
      },
    ]);
    expect(eventsOf(plan)).toEqual([]);

    const calls: unknown[] = [];
    const resealed = planRevert(current, target, {
      ...options,
      secrets: ['db_password'],
      reseal: (req) => {
        calls.push({ name: req.name, from: req.fromVersion, to: req.toVersion, tenant: req.tenant });
        return { ...req.envelope, ciphertext: 'resealed' };
      },
    });
    expect(calls).toEqual([{ name: 'db_password', from: 1, to: 3, tenant: 'tenant_001' }]);
    expect(eventsOf(resealed).find((e) => e.type === 'SecretVersionAdded')?.data).toMatchObject({
      version: 3,
      envelope: { ciphertext: 'resealed' },
    });
  });

  it('turns a flag that did not exist at the target off (no event removes a flag)', () => {
    const late = recorded([...before, ev.rollout('search_v2', 50)]);
    const plan = planRevert(stateAt(late, 99, scope), stateAt(late, 10, scope), options);
    expect(eventsOf(plan)).toEqual([
      expect.objectContaining({
        type: 'FlagRolloutChanged',
        data: { ...scope, flag: 'search_v2', rollout: 0, enabled: false },
      }),
    ]);
  });
});
