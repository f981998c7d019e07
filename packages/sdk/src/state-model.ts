import {
  bucket,
  evaluateFlagRule,
  resolveConfig,
  compileFlag,
  type CompiledFlag,
  type EvaluationContext,
  type FlagdDefinition,
  type Segments,
  type FlagResolution,
  type EnvVarLayer,
  type ManifestDocument,
  type NamespaceEnvState,
} from '@strata/core';
import { LRUCache } from 'lru-cache';
import type { ModelConfig, ModelFlag, ReadModel } from './read-model.js';

const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * The read model over a folded core state: resolution and flag rules are core's (`resolveConfig`,
 * `evaluateFlagRule`), buckets are memoised because SHA-256 is the one costly step. The Redis
 * driver feeds it from the views; `createInMemoryClient` from events, for tests and fixtures.
 */
export class StateModel implements ReadModel {
  /** Bounded: a process may see far more tenants than it reads often (lazy tenants). */
  private readonly buckets = new LRUCache<string, number>({ max: 100_000 });
  private readonly compiledFlags = new Map<
    string,
    { definition: FlagdDefinition; segments: Segments; fn: CompiledFlag }
  >();

  constructor(
    private readonly current: () => NamespaceEnvState,
    private readonly envVars: () => EnvVarLayer | undefined = () => undefined,
    /** False for a tenant whose layers are not loaded yet (lazy tenants): the answer is then undefined. */
    private readonly loaded: (tenant: string) => boolean = () => true,
  ) {}

  get manifest(): ManifestDocument | null {
    return this.current().manifest;
  }

  resolveAll(tenant: string | null): ModelConfig | undefined {
    if (tenant !== null && !this.loaded(tenant)) return undefined;
    const resolved = resolveConfig(this.current(), tenant, { envVars: this.envVars() });
    return { values: new Map(Object.entries(resolved.values)) };
  }

  evaluate(flag: string, tenant: string | null): ModelFlag | undefined {
    if (tenant !== null && !this.loaded(tenant)) return undefined;
    const state = this.current();
    const entry = state.flags.get(flag);
    const override = tenant === null ? undefined : state.overrides.get(tenant)?.get(flag);
    const splitVariants = (entry?.variants?.filter((v) => v.weight > 0).length ?? 0) > 1;
    const base = { known: entry !== undefined || override !== undefined, rollout: entry?.rollout, splitVariants };
    if (
      tenant === null &&
      !override &&
      entry?.enabled &&
      ((entry.rollout > 0 && entry.rollout < 100) || splitVariants)
    ) {
      return { enabled: false, reason: 'rollout', position: entry.position, ...base, tenantMissing: true };
    }
    const declared =
      state.manifest && Object.hasOwn(state.manifest.flags, flag) ? state.manifest.flags[flag] : undefined;
    const evaluation = evaluateFlagRule(
      flag,
      tenant ?? '',
      entry,
      override,
      { enabled: declared?.default === true, position: state.manifestPosition },
      tenant === null ? 0 : this.bucketOf(tenant, flag),
    );
    return { ...evaluation, ...base };
  }

  resolveDefinition(
    flag: string,
    context: EvaluationContext | undefined,
    tenant: string | undefined,
  ): FlagResolution | null {
    const state = this.current();
    const definition = state.flags.get(flag)?.definition;
    if (definition === undefined) return null;
    const override = tenant === undefined ? undefined : state.overrides.get(tenant)?.get(flag);
    return this.compiled(flag, definition, state.segments)(
      context,
      tenant,
      override?.override,
      nowSeconds,
      override?.variant,
    );
  }

  /** Compiled definitions by flag: a string-keyed map is cheaper on the hot path than core's WeakMap. */
  private compiled(flag: string, definition: FlagdDefinition, segments: Segments): CompiledFlag {
    const hit = this.compiledFlags.get(flag);
    if (hit !== undefined && hit.definition === definition && hit.segments === segments) return hit.fn;
    const fn = compileFlag(flag, definition, segments);
    this.compiledFlags.set(flag, { definition, segments, fn });
    return fn;
  }

  bucketOf(tenant: string, flag: string): number {
    const id = `${tenant}\n${flag}`;
    let b = this.buckets.get(id);
    if (b === undefined) this.buckets.set(id, (b = bucket(tenant, flag)));
    return b;
  }
}
