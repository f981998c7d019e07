import type { z } from 'zod';
import {
  keySchema,
  validateAgainstSchema,
  type EnvVarError,
  type FlagDefinition,
  type FlagReason,
  type ManifestDocument,
  type ValueSource,
} from '@strata/core';
import type { ModelFlag, ReadModel } from './read-model.js';

/** Why a read did not come from the store. */
export type ReadReason =
  /** The client has not loaded its view yet. */
  | 'not_ready'
  /** Lazy tenants: this tenant's layers are being loaded; the environment's values answer meanwhile. */
  | 'tenant_loading'
  /** Neither the store's manifest nor the local one declares the key. */
  | 'unknown_key'
  /** The stored value does not parse with the local (zod) manifest. */
  | 'invalid'
  /** Declared, but no layer has a value and there is no default. */
  | 'missing';

export interface Resolution<T = unknown> {
  readonly value: T;
  /** `none`: nothing resolved, `value` is undefined. */
  readonly source: ValueSource | 'none';
  /** Log position of the event that set the value (0 for local defaults and env vars). */
  readonly position: number;
  /** True while the client cannot confirm it is current (Redis unreachable, tenant loading, not ready). */
  readonly stale: boolean;
  readonly reason?: ReadReason;
  /** For `invalid`: what the local manifest rejected (never a secret value). */
  readonly error?: string;
}

export interface FlagResult {
  readonly flag: string;
  readonly tenant: string | null;
  readonly enabled: boolean;
  /** Strata's own reason (core `evaluateFlag`). */
  readonly reason: FlagReason;
  /** The variant value when the flag has variants and the tenant is enabled. */
  readonly variant: unknown;
  readonly position: number;
  readonly stale: boolean;
  /** The store holds a rule or an override for the flag. */
  readonly known: boolean;
  /** The flag's declaration in the store's manifest, else the local one. */
  readonly declared: FlagDefinition | undefined;
  /** The result depends on the tenant's bucket (partial rollout or several weighted variants). */
  readonly split: boolean;
  /** The rule needs a tenant bucket and no tenant was given: `enabled` is false. */
  readonly tenantMissing: boolean;
  readonly notReady: boolean;
}

/** Evaluations of one flag, for `stats()`. */
export interface FlagCounter {
  evaluations: number;
  enabled: number;
}

/** One tenant's (or the environment's) answers, built on first use and dropped by a change. */
export class TenantMemo {
  readonly values = new Map<string, Resolution>();
  readonly flags = new Map<string, FlagResult & { readonly counter: FlagCounter }>();
  all: Readonly<Record<string, unknown>> | undefined;
  constructor(readonly tenant: string | null) {}
}

/** Whether the client has loaded its view, and whether it can confirm it is current. */
export interface ReadStatus {
  readonly loaded: boolean;
  readonly stale: boolean;
}

/**
 * The per-tenant memos behind every read: a read is one `memo(tenant)` and one map lookup, so
 * the hot path allocates nothing; building a memo (resolution, local zod parsing, defaults) is
 * off the hot path and happens again only after a change dropped it.
 */
export class ReadMemos {
  private readonly tenants = new Map<string, TenantMemo>();
  private env: TenantMemo | undefined;
  readonly counters = new Map<string, FlagCounter>();

  constructor(
    private readonly model: ReadModel,
    /** The local zod manifest's key schemas. */
    private readonly local: Readonly<Record<string, z.ZodType>>,
    private readonly localDoc: ManifestDocument | null,
    private readonly status: () => ReadStatus,
  ) {}

  /** The memo of a tenant (the environment's for `undefined`), built on first use. */
  memo(tenant: string | undefined): TenantMemo {
    return tenant === undefined ? (this.env ?? this.build(null)) : (this.tenants.get(tenant) ?? this.build(tenant));
  }

  value(memo: TenantMemo, key: string): Resolution {
    return memo.values.get(key) ?? this.unknownKey(memo, key);
  }

  flag(memo: TenantMemo, flag: string): FlagResult & { readonly counter: FlagCounter } {
    return memo.flags.get(flag) ?? this.buildFlag(memo, flag);
  }

  /** Every resolved value of the memo's tenant, as one frozen object (the same until a change). */
  all(memo: TenantMemo): Readonly<Record<string, unknown>> {
    if (memo.all === undefined) {
      const all: Record<string, unknown> = {};
      for (const [key, r] of memo.values) if (r.reason !== 'unknown_key') all[key] = r.value;
      memo.all = Object.freeze(all);
    }
    return memo.all;
  }

  /** Drops one tenant's memo, or every memo for `undefined`. */
  invalidate(tenant?: string): void {
    if (tenant === undefined) {
      this.tenants.clear();
      this.env = undefined;
    } else this.tenants.delete(tenant);
  }

  get tenantCount(): number {
    return this.tenants.size;
  }

  /**
   * What keeps the client from starting: invalid environment variables, and every key the
   * store's or the local manifest marks `required` without a valid value.
   */
  requiredProblems(envVarErrors: readonly EnvVarError[]): string[] {
    const problems = envVarErrors.map((e) => e.error.message);
    const stored = this.model.manifest;
    const required = new Set<string>();
    for (const doc of [stored, this.localDoc]) {
      for (const [key, schema] of Object.entries(doc?.keys ?? {})) if (schema['required'] === true) required.add(key);
    }
    const env = this.build(null);
    for (const key of [...required].sort()) {
      const r = env.values.get(key) ?? this.fallback(key, 'missing', false);
      if (r.reason === 'invalid') problems.push(`${key}: invalid: ${r.error ?? 'rejected by the local manifest'}`);
      else if (r.source === 'none') problems.push(`${key}: missing (no value in any layer and no default)`);
      else {
        const schema = keySchema(stored, key);
        const valid = schema ? validateAgainstSchema(key, schema, r.value) : { ok: true as const };
        if (!valid.ok) problems.push(`${key}: invalid: ${valid.error.message}`);
      }
    }
    return problems;
  }

  private build(tenant: string | null): TenantMemo {
    const { loaded, stale: disconnected } = this.status();
    const memo = new TenantMemo(tenant);
    const config = loaded ? this.model.resolveAll(tenant) : undefined;
    // A lazy tenant that is still loading reads the environment's values meanwhile.
    const fallback = config ?? (loaded ? this.model.resolveAll(null) : undefined);
    const stale = disconnected || config === undefined;
    const pendingReason: ReadReason | undefined = !loaded
      ? 'not_ready'
      : config === undefined
        ? 'tenant_loading'
        : undefined;
    for (const [key, entry] of fallback?.values ?? new Map()) {
      const schema = this.local[key];
      const parsed = schema?.safeParse(entry.value);
      if (parsed && !parsed.success) {
        memo.values.set(
          key,
          this.fallback(key, 'invalid', stale, parsed.error.issues.map((i) => i.message).join('; ')),
        );
        continue;
      }
      memo.values.set(
        key,
        freeze({
          value: parsed ? parsed.data : entry.value,
          source: entry.source,
          position: entry.position,
          stale,
          reason: pendingReason,
        }),
      );
    }
    for (const key of Object.keys(this.local))
      if (!memo.values.has(key)) memo.values.set(key, this.fallback(key, pendingReason ?? 'missing', stale));
    if (tenant === null) this.env = memo;
    else this.tenants.set(tenant, memo);
    return memo;
  }

  private fallback(key: string, reason: ReadReason, stale: boolean, error?: string): Resolution {
    const parsed = this.local[key]?.safeParse(undefined);
    const resolution: Resolution =
      parsed?.success && parsed.data !== undefined
        ? { value: parsed.data, source: 'default', position: 0, stale, reason }
        : { value: undefined, source: 'none', position: 0, stale, reason };
    return freeze(error === undefined ? resolution : { ...resolution, error });
  }

  private unknownKey(memo: TenantMemo, key: string): Resolution {
    const { loaded, stale } = this.status();
    const resolution = this.fallback(key, loaded ? 'unknown_key' : 'not_ready', stale || !loaded);
    memo.values.set(key, resolution);
    return resolution;
  }

  private buildFlag(memo: TenantMemo, flag: string): FlagResult & { readonly counter: FlagCounter } {
    const { loaded, stale } = this.status();
    let counter = this.counters.get(flag);
    if (!counter) this.counters.set(flag, (counter = { evaluations: 0, enabled: 0 }));
    const declared = declaredFlag(this.model.manifest, flag) ?? declaredFlag(this.localDoc, flag);
    const raw: ModelFlag | undefined = loaded ? this.model.evaluate(flag, memo.tenant) : undefined;
    const result = freeze({
      flag,
      tenant: memo.tenant,
      enabled: raw ? raw.enabled : declared?.default === true,
      reason: raw ? raw.reason : 'default',
      variant: raw?.variant,
      position: raw?.position ?? 0,
      stale: stale || raw === undefined,
      known: raw?.known ?? false,
      declared,
      split:
        raw !== undefined &&
        raw.reason === 'rollout' &&
        ((raw.rollout !== undefined && raw.rollout > 0 && raw.rollout < 100) || raw.splitVariants === true),
      tenantMissing: raw?.tenantMissing ?? false,
      notReady: !loaded,
      counter,
    });
    memo.flags.set(flag, result);
    return result;
  }
}

const freeze = <T extends object>(value: T): T => {
  // Leave out `reason: undefined` so results compare and print cleanly.
  for (const k of Object.keys(value) as (keyof T)[])
    if (value[k] === undefined && k !== 'value' && k !== 'variant' && k !== 'declared') delete value[k];
  return Object.freeze(value);
};

const declaredFlag = (manifest: ManifestDocument | null, flag: string): FlagDefinition | undefined =>
  manifest && Object.hasOwn(manifest.flags, flag) ? (manifest.flags[flag] as FlagDefinition) : undefined;
