import { describe, expect, it } from 'vitest';
import { bucket as bucketOf } from '@strata/core';
import { ruleState, whoFlipsReport, type FlagRule } from './who-flips.js';

const whoFlips = (
  flag: string,
  tenants: readonly string[],
  from: FlagRule,
  to: FlagRule,
  overrides?: ReadonlyMap<string, 'enabled' | 'disabled'>,
) => whoFlipsReport(ruleState('shop', 'prod', flag, from, overrides), flag, tenants, to);

describe('bucket (core)', () => {
  it("matches Python's int(sha256('<tenant>:<flag>').hexdigest()[:8], 16) % 100", () => {
    // Computed with python3 hashlib.
    expect(bucketOf('tenant-001', 'new_checkout')).toBe(70);
    expect(bucketOf('acme', 'new_checkout')).toBe(18);
    expect(bucketOf('shelfwise-042', 'dark_mode')).toBe(3);
    expect(bucketOf('t:1', 'x.y')).toBe(45);
  });
});

describe('whoFlips', () => {
  const tenants = Array.from({ length: 200 }, (_, i) => `tenant-${String(i).padStart(3, '0')}`);

  it('ramping up only turns tenants on, exactly those with from <= bucket < to', () => {
    const result = whoFlips('new_checkout', tenants, { rollout: 5, enabled: true }, { rollout: 25, enabled: true });
    expect(result.off).toEqual([]);
    expect(result.on.length).toBeGreaterThan(0);
    for (const f of result.on) expect(f.bucket >= 5 && f.bucket < 25).toBe(true);
    expect(result.on.length + result.unchanged).toBe(tenants.length);
    const expected = tenants.filter((t) => bucketOf(t, 'new_checkout') >= 5 && bucketOf(t, 'new_checkout') < 25);
    expect(result.on.map((f) => f.tenant)).toEqual(expected);
  });

  it('ramping down turns tenants off; overrides never flip', () => {
    const first = tenants.find((t) => bucketOf(t, 'f') < 50) as string;
    const result = whoFlips(
      'f',
      tenants,
      { rollout: 50, enabled: true },
      { rollout: 0, enabled: true },
      new Map([[first, 'enabled']]),
    );
    expect(result.on).toEqual([]);
    expect(result.off.map((f) => f.tenant)).not.toContain(first);
    expect(result.overridden).toBe(1);
    expect(result.off.every((f) => f.bucket < 50)).toBe(true);
  });

  it('with the kill switch off nobody flips', () => {
    const result = whoFlips('f', tenants, { rollout: 0, enabled: false }, { rollout: 100, enabled: false });
    expect(result.on).toEqual([]);
    expect(result.unchanged).toBe(tenants.length);
  });
});
