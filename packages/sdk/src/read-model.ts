import type {
  EvaluationContext,
  FlagDefinition,
  FlagReason,
  FlagResolution,
  ManifestDocument,
  ValueSource,
} from '@strata/core';

/**
 * What the read side of a client needs from wherever its data comes from (Redis views in memory,
 * or the HTTP API). `undefined` answers mean "not loaded yet": the client then serves defaults
 * with a reason and the model loads in the background.
 */
export interface ReadModel {
  /** The manifest as published to the store, null before one is known. */
  readonly manifest: ManifestDocument | null;
  /** Every value of one tenant (`null`: the environment's own view). */
  resolveAll(tenant: string | null): ModelConfig | undefined;
  /** The raw decision for a flag; `known: false` when the store has no rule for it. */
  evaluate(flag: string, tenant: string | null): ModelFlag | undefined;
  /**
   * Typed evaluation of a flag that has a flagd definition, by core's one evaluator
   * (`resolveFlag`): `null` for shorthand or unset flags (the client maps `evaluate` then).
   * Optional: a model that cannot evaluate contexts answers every flag the shorthand way.
   */
  resolveDefinition?(
    flag: string,
    context: EvaluationContext | undefined,
    tenant: string | undefined,
  ): FlagResolution | null;
}

export interface ModelConfig {
  values: ReadonlyMap<string, { value: unknown; source: ValueSource; position: number }>;
}

export interface ModelFlag {
  enabled: boolean;
  reason: FlagReason;
  variant?: unknown;
  position: number;
  /** The store holds a rule (rollout / kill switch) or an override for it. */
  known: boolean;
  rollout?: number;
  /** More than one variant with weight: the value depends on the bucket. */
  splitVariants?: boolean;
  /** The decision needed a tenant bucket but no tenant was given. */
  tenantMissing?: boolean;
}

export type DeclaredFlag = FlagDefinition;
