import type { FlagdDefinition, FlagVariant, ManifestDocument } from './events.js';
import {
  compileFlag,
  flagNotFound,
  shorthandDefinition,
  type EvaluationContext,
  type FlagResolution,
  type Segments,
} from './flag-definition.js';
import type { FlagEntry, NamespaceEnvState, OverrideEntry, SegmentEntry } from './scope-state.js';
import { jsonEqual } from './json-value.js';
import { sha256FirstWord } from './sha256.js';

/**
 * Feature flag evaluation. Buckets are the Python system's, bit for bit:
 * `int(sha256("<tenant_id>:<flag_key>").hexdigest()[:8], 16) % 100`, and a tenant is in the
 * rollout when `bucket < rollout`, so ramping up never turns a tenant off.
 */

/** The tenant's bucket (0–99) for a flag. Pure and stable: callers on hot paths may memoise it. */
export const bucket = (tenantId: string, flagKey: string): number => sha256FirstWord(`${tenantId}:${flagKey}`) % 100;

export type FlagReason = 'override' | 'rollout' | 'targeting' | 'disabled' | 'default';

export interface FlagEvaluation {
  enabled: boolean;
  /**
   * `override`: the tenant's explicit override; `disabled`: the kill switch is off; `rollout`:
   * decided by bucket < rollout; `targeting`: decided by the flag's definition; `default`: the flag has never been set in this environment (or is
   * unknown), so the manifest default applies (`false` unless declared).
   */
  reason: FlagReason;
  /** The variant value, when the flag has variants and the tenant is enabled. */
  variant?: unknown;
  /** Position of the event that decided: the override's or the flag's; the manifest's for `default`. */
  position: number;
  /** The rollout percentage, when the rollout decided: a remote client tells a split from everyone-on by it. */
  rollout?: number;
}

/**
 * Picks the variant for a bucket: cumulative weights over 0–99, in declaration order, on the same
 * bucket as the rollout (so a tenant keeps its variant while the rollout ramps). Weights summing to
 * less than 100 leave the top buckets without a variant.
 */
export const pickVariant = (
  variants: readonly FlagVariant[] | undefined,
  tenantBucket: number,
): FlagVariant | undefined => {
  if (!variants) return undefined;
  let upper = 0;
  for (const variant of variants) {
    upper += variant.weight;
    if (tenantBucket < upper) return variant;
  }
  return undefined;
};

/**
 * Evaluates a flag from its parts. The SDK and the projector use this directly on their own
 * views; `evaluateFlag` is the same on a folded state. Never throws.
 */
export const evaluateFlagRule = (
  flag: string,
  tenant: string,
  entry: Pick<FlagEntry, 'rollout' | 'enabled' | 'variants' | 'position' | 'definition'> | undefined,
  override: Pick<OverrideEntry, 'override' | 'variant' | 'position'> | undefined,
  defaults: { enabled?: boolean; position?: number } = {},
  tenantBucket?: number,
  segments: Segments = noSegments,
): FlagEvaluation => {
  if (entry?.definition) {
    const r = compileFlag(flag, entry.definition, segments)(
      undefined,
      tenant,
      override?.override,
      undefined,
      override?.variant,
    );
    const position = override ? override.position : entry.position;
    const reason: FlagReason = override ? 'override' : r.reason === 'DISABLED' ? 'disabled' : 'targeting';
    if (typeof r.value === 'boolean' || r.value === undefined) return { enabled: r.value === true, reason, position };
    return { enabled: true, reason, variant: r.value, position };
  }
  const withVariant = (result: FlagEvaluation): FlagEvaluation => {
    if (result.enabled && entry?.variants) {
      const variant = pickVariant(entry.variants, tenantBucket ?? bucket(tenant, flag));
      if (variant) result.variant = variant.value;
    }
    return result;
  };
  // A variant override of the shorthand names its `on` or `off` variant.
  if (override)
    return withVariant({
      enabled: override.override === 'enabled' && override.variant !== 'off',
      reason: 'override',
      position: override.position,
    });
  if (!entry) return { enabled: defaults.enabled ?? false, reason: 'default', position: defaults.position ?? 0 };
  if (!entry.enabled) return { enabled: false, reason: 'disabled', position: entry.position };
  const b = tenantBucket ?? bucket(tenant, flag);
  return withVariant({
    enabled: b < entry.rollout,
    reason: 'rollout',
    position: entry.position,
    rollout: entry.rollout,
  });
};

const noSegments: Segments = new Map();

const shorthands = new WeakMap<object, FlagdDefinition>();

/**
 * The definition an entry evaluates by: its own, or the one its `{rollout, enabled}` shorthand
 * maps to (the shorthand's weighted legacy `variants` have no flagd form and are left out).
 */
export const definitionOf = (entry: FlagEntry): FlagdDefinition => {
  if (entry.definition) return entry.definition;
  let definition = shorthands.get(entry);
  if (!definition) shorthands.set(entry, (definition = shorthandDefinition(entry.rollout, entry.enabled)));
  return definition;
};

/** What typed evaluation needs of a state: flags, segments and overrides (a view has them too). */
export type FlagScope = Pick<NamespaceEnvState, 'flags' | 'segments' | 'overrides'>;

/**
 * Typed evaluation of a flag against a context, flagd's semantics plus Strata's layers: the
 * tenant's override always wins; the tenant (`options.tenant`) is the targeting key unless the
 * context carries one. Never throws; `value` undefined means "the caller's default".
 */
export const resolveFlag = (
  scope: FlagScope,
  flag: string,
  context: EvaluationContext | undefined,
  options: { tenant?: string | undefined; now?: () => number } = {},
): FlagResolution => {
  const entry = scope.flags.get(flag);
  if (!entry) return flagNotFound(flag);
  const key = context?.targetingKey;
  const tenant = options.tenant ?? (typeof key === 'string' ? key : undefined);
  const override = tenant === undefined ? undefined : scope.overrides.get(tenant)?.get(flag);
  const segments: ReadonlyMap<string, SegmentEntry> = scope.segments;
  return compileFlag(flag, definitionOf(entry), segments)(
    context,
    tenant,
    override?.override,
    options.now,
    override?.variant,
  );
};

const manifestDefault = (manifest: ManifestDocument | null, flag: string): boolean =>
  manifest !== null && Object.hasOwn(manifest.flags, flag) && manifest.flags[flag]?.default === true;

/** Evaluates a flag for a tenant: override → kill switch → bucket < rollout. Never throws. */
export const evaluateFlag = (state: NamespaceEnvState, flag: string, tenant: string): FlagEvaluation =>
  evaluateFlagRule(
    flag,
    tenant,
    state.flags.get(flag),
    state.overrides.get(tenant)?.get(flag),
    { enabled: manifestDefault(state.manifest, flag), position: state.manifestPosition },
    undefined,
    state.segments,
  );

export interface FlagFlip {
  tenant: string;
  before: boolean;
  after: boolean;
}

/**
 * The tenants whose result would change if the flag's rollout (and optionally its kill switch)
 * became the proposed one. Overridden tenants never flip.
 */
export const whoFlips = (
  state: NamespaceEnvState,
  flag: string,
  tenants: Iterable<string>,
  proposedRollout: number,
  proposedEnabled?: boolean,
): FlagFlip[] => {
  const current = state.flags.get(flag);
  const proposed = {
    rollout: proposedRollout,
    enabled: proposedEnabled ?? current?.enabled ?? true,
    variants: current?.variants,
    position: 0,
  };
  const defaults = { enabled: manifestDefault(state.manifest, flag) };
  const flips: FlagFlip[] = [];
  for (const tenant of tenants) {
    const override = state.overrides.get(tenant)?.get(flag);
    if (override) continue;
    const b = bucket(tenant, flag);
    const before = evaluateFlagRule(flag, tenant, current, undefined, defaults, b).enabled;
    const after = evaluateFlagRule(flag, tenant, proposed, undefined, defaults, b).enabled;
    if (before !== after) flips.push({ tenant, before, after });
  }
  return flips;
};

export interface StaleFlag {
  flag: string;
  rollout: number;
  enabled: boolean;
  changedAt: string;
  ageMs: number;
}

/**
 * Flags fully rolled out or fully off (rollout 0 or 100) and unchanged for longer than
 * `maxAgeMs`: candidates for removal from code. `nowIso` comes in because core has no clock.
 */
export const staleFlags = (state: NamespaceEnvState, nowIso: string, maxAgeMs: number): StaleFlag[] => {
  const now = Date.parse(nowIso);
  const stale: StaleFlag[] = [];
  for (const [flag, entry] of state.flags) {
    if (entry.definition) continue;
    if (entry.rollout !== 0 && entry.rollout !== 100) continue;
    const ageMs = now - Date.parse(entry.changedAt);
    if (ageMs > maxAgeMs)
      stale.push({ flag, rollout: entry.rollout, enabled: entry.enabled, changedAt: entry.changedAt, ageMs });
  }
  return stale.sort((a, b) => b.ageMs - a.ageMs || a.flag.localeCompare(b.flag));
};

/** One context whose answer would change. */
export interface VariantFlip {
  /** The tenant (or the context's targetingKey) when there is one. */
  tenant: string | null;
  context: EvaluationContext;
  from: { variant: string | null; value: unknown; reason: string };
  to: { variant: string | null; value: unknown; reason: string };
}

/**
 * Who flips, before saving: which contexts would get another variant (or value) if the flag's
 * definition became `proposed` (already validated). Overrides apply on both sides, so an
 * overridden tenant never flips.
 */
export const previewDefinition = (
  scope: FlagScope,
  flag: string,
  proposed: FlagdDefinition,
  contexts: ReadonlyArray<{ context: EvaluationContext; tenant?: string | undefined }>,
  now?: () => number,
): VariantFlip[] => {
  const next: FlagScope = {
    ...scope,
    flags: new Map(scope.flags).set(flag, {
      definition: proposed,
      rollout: 0,
      enabled: proposed.state === 'ENABLED',
      variants: undefined,
      position: 0,
      changedAt: '',
    }),
  };
  const side = (r: FlagResolution) => ({ variant: r.variant ?? null, value: r.value ?? null, reason: r.reason });
  const flips: VariantFlip[] = [];
  for (const { context, tenant } of contexts) {
    const options = now ? { tenant, now } : { tenant };
    const before = resolveFlag(scope, flag, context, options);
    const after = resolveFlag(next, flag, context, options);
    if (before.variant === after.variant && jsonEqual(before.value ?? null, after.value ?? null)) continue;
    const key = context.targetingKey;
    flips.push({
      tenant: tenant ?? (typeof key === 'string' ? key : null),
      context,
      from: side(before),
      to: side(after),
    });
  }
  return flips;
};

/** Tenants the environment has seen: any with config values, overrides or secrets. */
export const tenantsSeen = (state: NamespaceEnvState): string[] =>
  [
    ...new Set([
      ...state.tenantValues.keys(),
      ...state.overrides.keys(),
      ...[...state.secrets.keys()].filter((t): t is string => t !== null),
    ]),
  ].sort();
