import { createHash } from 'node:crypto';

/**
 * Who a rollout change turns on or off, computed locally with the bucket rule of BRIEF.md (the
 * Python system's, bit for bit): `int(sha256("<tenant>:<flag>").hexdigest()[:8], 16) % 100`, in
 * the rollout when `bucket < rollout`. Tenants with an explicit override never flip.
 */

export const bucketOf = (tenant: string, flag: string): number =>
  createHash('sha256').update(`${tenant}:${flag}`, 'utf8').digest().readUInt32BE(0) % 100;

export interface FlagRule {
  rollout: number;
  enabled: boolean;
}

export const enabledFor = (
  tenant: string,
  flag: string,
  rule: FlagRule,
  override?: 'enabled' | 'disabled' | null,
): boolean => {
  if (override === 'enabled') return true;
  if (override === 'disabled') return false;
  return rule.enabled && bucketOf(tenant, flag) < rule.rollout;
};

export interface Flip {
  tenant: string;
  bucket: number;
}

export interface WhoFlips {
  on: Flip[];
  off: Flip[];
  unchanged: number;
  /** Tenants pinned by an override: they keep their state whatever the rollout. */
  overridden: number;
}

export const whoFlips = (
  flag: string,
  tenants: readonly string[],
  from: FlagRule,
  to: FlagRule,
  overrides: ReadonlyMap<string, 'enabled' | 'disabled'> = new Map(),
): WhoFlips => {
  const result: WhoFlips = { on: [], off: [], unchanged: 0, overridden: 0 };
  for (const tenant of tenants) {
    const override = overrides.get(tenant);
    if (override) {
      result.overridden++;
      continue;
    }
    const before = enabledFor(tenant, flag, from);
    const after = enabledFor(tenant, flag, to);
    if (before === after) result.unchanged++;
    else (after ? result.on : result.off).push({ tenant, bucket: bucketOf(tenant, flag) });
  }
  return result;
};
