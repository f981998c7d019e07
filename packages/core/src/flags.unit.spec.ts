import { describe, expect, it } from 'vitest';
import { bucket, evaluateFlag, pickVariant, staleFlags, whoFlips } from './flags.js';
import { ev } from './testing/event-builders.js';
import { foldNew, recorded } from './testing/given.js';
import { fold, initialState } from './scope-state.js';

const tenants = Array.from({ length: 200 }, (_, i) => `tenant_${String(i + 1).padStart(3, '0')}`);

describe('evaluateFlag', () => {
  it('given a rollout, when evaluating, then a tenant is enabled exactly when bucket < rollout', () => {
    const state = foldNew([ev.manifest(), ev.rollout('new_checkout', 25)]);
    for (const tenant of tenants) {
      const result = evaluateFlag(state, 'new_checkout', tenant);
      expect(result).toEqual({
        enabled: bucket(tenant, 'new_checkout') < 25,
        reason: 'rollout',
        position: 2,
        rollout: 25,
      });
    }
  });

  it('given an override, then it wins over the rollout and the kill switch', () => {
    const tenant = tenants.find((t) => bucket(t, 'new_checkout') >= 50)!;
    const state = foldNew([
      ev.manifest(),
      ev.rollout('new_checkout', 50, false),
      ev.override(tenant, 'new_checkout', 'enabled'),
    ]);
    expect(evaluateFlag(state, 'new_checkout', tenant)).toEqual({ enabled: true, reason: 'override', position: 3 });
    const forcedOff = fold(
      state,
      recorded([ev.rollout('new_checkout', 100, true), ev.override(tenant, 'new_checkout', 'disabled')], 3),
    );
    expect(evaluateFlag(forcedOff, 'new_checkout', tenant)).toEqual({
      enabled: false,
      reason: 'override',
      position: 5,
    });
  });

  it('given the kill switch off, then everyone without an override is disabled', () => {
    const state = foldNew([ev.manifest(), ev.rollout('new_checkout', 100, false)]);
    expect(tenants.map((t) => evaluateFlag(state, 'new_checkout', t).reason)).toEqual(tenants.map(() => 'disabled'));
    expect(evaluateFlag(state, 'new_checkout', 'tenant_001').enabled).toBe(false);
  });

  it('given a flag never set, then the manifest default applies with reason default', () => {
    const state = foldNew([ev.manifest()]);
    expect(evaluateFlag(state, 'new_checkout', 'tenant_001')).toEqual({
      enabled: false,
      reason: 'default',
      position: 1,
    });
    expect(evaluateFlag(state, 'search_v2', 'tenant_001')).toEqual({ enabled: true, reason: 'default', position: 1 });
    expect(evaluateFlag(initialState('shop', 'prod'), 'unknown', 't')).toEqual({
      enabled: false,
      reason: 'default',
      position: 0,
    });
  });

  it('ramping 5 → 25 → 100 never turns a tenant off', () => {
    let state = foldNew([ev.manifest(), ev.rollout('new_checkout', 5)]);
    let on = new Set(tenants.filter((t) => evaluateFlag(state, 'new_checkout', t).enabled));
    for (const [i, pct] of [25, 60, 100].entries()) {
      state = fold(state, recorded([ev.rollout('new_checkout', pct)], 2 + i));
      const next = new Set(tenants.filter((t) => evaluateFlag(state, 'new_checkout', t).enabled));
      for (const t of on) expect(next.has(t)).toBe(true);
      on = next;
    }
    expect(on.size).toBe(200);
  });

  it('given variants, then tenants split by cumulative weights on the same bucket', () => {
    const variants = [
      { value: 'control', weight: 50 },
      { value: 'annual_first', weight: 30 },
      { value: 'monthly_first', weight: 20 },
    ];
    const state = foldNew([ev.manifest(), ev.rollout('pricing_page', 100, true, variants)]);
    for (const tenant of tenants) {
      const b = bucket(tenant, 'pricing_page');
      const expected = b < 50 ? 'control' : b < 80 ? 'annual_first' : 'monthly_first';
      expect(evaluateFlag(state, 'pricing_page', tenant)).toMatchObject({ enabled: true, variant: expected });
    }
    expect(pickVariant([{ value: 1, weight: 10 }], 10)).toBeUndefined();
    expect(pickVariant([{ value: { a: 1 }, weight: 10 }], 9)).toEqual({ value: { a: 1 }, weight: 10 });
  });
});

describe('whoFlips', () => {
  it('lists exactly the tenants whose result changes, skipping overridden ones', () => {
    const overridden = tenants.find((t) => {
      const b = bucket(t, 'new_checkout');
      return b >= 10 && b < 40;
    })!;
    const state = foldNew([
      ev.manifest(),
      ev.rollout('new_checkout', 10),
      ev.override(overridden, 'new_checkout', 'disabled'),
    ]);
    const flips = whoFlips(state, 'new_checkout', tenants, 40);
    const expected = tenants.filter(
      (t) => t !== overridden && bucket(t, 'new_checkout') >= 10 && bucket(t, 'new_checkout') < 40,
    );
    expect(flips.map((f) => f.tenant)).toEqual(expected);
    expect(flips.every((f) => !f.before && f.after)).toBe(true);
    expect(whoFlips(state, 'new_checkout', tenants, 10)).toEqual([]);
    const off = whoFlips(state, 'new_checkout', tenants, 10, false);
    expect(off.map((f) => f.tenant)).toEqual(tenants.filter((t) => bucket(t, 'new_checkout') < 10));
  });
});

describe('staleFlags', () => {
  it('reports flags at 0 or 100% unchanged for longer than the maximum age', () => {
    // recorded(): positions 1.. one minute apart from 2024-01-01T00:00Z.
    const state = foldNew([
      ev.manifest(),
      ev.rollout('new_checkout', 100),
      ev.rollout('search_v2', 50),
      ev.rollout('pricing_page', 0),
    ]);
    const now = '2024-01-31T00:00:00.000Z';
    const stale = staleFlags(state, now, 7 * 24 * 3600_000);
    expect(stale.map((s) => s.flag)).toEqual(['new_checkout', 'pricing_page']);
    expect(stale[0]).toMatchObject({ rollout: 100, changedAt: '2024-01-01T00:01:00.000Z' });
    expect(staleFlags(state, '2024-01-01T00:05:00.000Z', 7 * 24 * 3600_000)).toEqual([]);
  });
});
