import type { EnvVarError } from '@strata/core';
import type { ReadModel } from './read-model.js';

/**
 * The seam between a client's read side and what feeds it (the Redis views, the HTTP API, or
 * events folded in memory): the driver keeps a model current and reports through the sink.
 */

/**
 * One change, fired after the in-memory state holds it. Keys: `value`/`previous` are the resolved
 * values at that scope. Flags: for a tenant (override changed) the tenant's `enabled`; for the
 * environment (`tenant: null`) the rule `{ enabled, rollout, variants, definition }`, undefined
 * when removed. A changed segment fires one environment event per flag whose targeting references
 * it (directly or through another segment); its `value` and `previous` are then the same rule,
 * because what changed is the segment the rule uses.
 */
export interface ChangeEvent {
  kind: 'key' | 'flag';
  key: string;
  /** null: the environment layer, i.e. every tenant without its own value. */
  tenant: string | null;
  value: unknown;
  previous: unknown;
  position: number;
  /** Time from the log recording the change to this process applying it (clocks of two hosts). */
  latencyMs?: number;
}

/** Feeds a client: loads, keeps the model current and reports through the sink. */
export interface ClientDriver {
  readonly model: ReadModel;
  /** Resolves once the first state is loaded; keeps retrying in the background after a failure. */
  start(sink: ClientSink): Promise<void>;
  /** Check now whether the local state is behind (used by `waitFor`). */
  poke(): void;
  close(): Promise<void>;
  /** Invalid environment variables, reported by `ready()`. */
  envVarErrors(): readonly EnvVarError[];
}

export interface ClientSink {
  /** Drop memos: one tenant's, the environment's and every tenant's for `undefined`. */
  invalidate(tenant?: string): void;
  /** The model moved to `position` (events may be empty); fires listeners, waiters and hooks. */
  changed(events: readonly ChangeEvent[], position: number, ms: number): void;
  /** The state was confirmed current without a change. */
  confirmed(position: number): void;
  setStale(since: Date | null): void;
  error(error: unknown): void;
}
