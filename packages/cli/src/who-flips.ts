import { bucket, initialState, whoFlips, type NamespaceEnvState, type OverrideEntry } from '@strata/core';

/**
 * `flags who-flips`: core's `whoFlips` (the bucket rule of BRIEF.md, the Python system's bit for
 * bit: `int(sha256("<tenant>:<flag>").hexdigest()[:8], 16) % 100 < rollout`), told as the CLI
 * prints it: who turns on, who off (with their buckets), how many stay, how many an override pins.
 */

export interface FlagRule {
  rollout: number;
  enabled: boolean;
}

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

export const whoFlipsReport = (
  state: NamespaceEnvState,
  flag: string,
  tenants: readonly string[],
  to: FlagRule,
): WhoFlips => {
  const flips = whoFlips(state, flag, tenants, to.rollout, to.enabled);
  const side = (after: boolean) =>
    flips.filter((f) => f.after === after).map(({ tenant }) => ({ tenant, bucket: bucket(tenant, flag) }));
  const overridden = tenants.filter((t) => state.overrides.get(t)?.has(flag)).length;
  return { on: side(true), off: side(false), unchanged: tenants.length - overridden - flips.length, overridden };
};

/** A state holding only one flag's rule and overrides: `--from` asks the server nothing. */
export const ruleState = (
  namespace: string,
  env: string,
  flag: string,
  rule: FlagRule,
  overrides: ReadonlyMap<string, 'enabled' | 'disabled'> = new Map(),
): NamespaceEnvState => {
  const entry = { ...rule, variants: undefined, position: 0, changedAt: '' };
  const pinned = new Map<string, ReadonlyMap<string, OverrideEntry>>();
  for (const [tenant, override] of overrides)
    pinned.set(tenant, new Map([[flag, { override, position: 0, changedAt: '' }]]));
  return { ...initialState(namespace, env), flags: new Map([[flag, entry]]), overrides: pinned };
};
