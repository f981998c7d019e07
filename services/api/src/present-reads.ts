import { LRUCache } from 'lru-cache';
import {
  environmentEventTypes,
  evaluateFlag,
  namespaceWideEventTypes,
  resolveConfig,
  resolveFlag,
  StrataError,
  type EvaluationContext,
  type FlagResolution,
  type EventLog,
  type FlagEvaluation,
  type NamespaceEnvState,
  type ViewReader,
} from '@strata/core';
import { isRedisUnavailable } from '@strata/redis-views';
import type { PointInTime } from './point-in-time.js';
import { answerBody, type ResolvedBody, type ResolvedConfigCache } from './resolved-config-cache.js';

/** A flag's answer: a definition's typed resolution, or the shorthand's decision. */
export type FlagAnswer =
  | { kind: 'definition'; resolution: FlagResolution; position: number }
  | { kind: 'shorthand'; evaluation: FlagEvaluation };

/** Where a present read was answered from: the Redis views, or the log while they are unavailable. */
export type ReadSource = 'views' | 'log';

export interface PresentReadsOptions {
  views: ViewReader;
  /** Resolved config answers cached per view version; null reads the views each time. */
  resolvedReads: ResolvedConfigCache | null;
  log: EventLog;
  pointInTime: PointInTime;
  /** False while the views' Redis connection is down: read the log at once instead of waiting for retries. */
  viewsAvailable: () => boolean;
  /** Longest wait for `minPosition` before TIMEOUT. */
  readWaitMs: number;
}

/**
 * A position beyond the head names an event no write has answered (an answered write is committed,
 * so every reader's head includes it): waiting could only end in a 504, so it is the caller's error.
 */
const beyondHead = (position: number, head: number) =>
  new StrataError(
    'BAD_REQUEST',
    `minPosition ${position} is beyond the log head ${head}: pass a position a write answered`,
    {
      minPosition: position,
      head,
    },
  );

/** States at the head kept for reads from the log, per scope (a Redis outage reads the same few over and over). */
const logStatesKept = 256;

/**
 * Resolved reads of the present (config, flags). They come from the Redis views; while those are
 * unavailable (Redis down or restarted empty, no generation live) from the log instead — the
 * state at the head, folded from the nearest snapshot (PointInTime) — and say so (`source: 'log'`).
 * Each request tries the views first, so reads go back to Redis as soon as it answers.
 *
 * `minPosition = n` asks for a view that reflects every event of the log up to n. A view of a
 * scope that has no event in (its position, n] already does, whatever happened elsewhere in the
 * log: one indexed lookup in the log names the newest event of the scope at or below n, and only
 * a view that has not applied that one waits (bounded).
 */
export class PresentReads {
  readonly #atHead = new LRUCache<string, { head: number; state: NamespaceEnvState }>({ max: logStatesKept });

  constructor(private readonly options: PresentReadsOptions) {}

  /**
   * The present's resolved config when it is already built for the version this process knows
   * (see ResolvedConfigCache.cached): no promise, no round trip. Undefined for everything else —
   * views unavailable, a `minPosition` to wait for, a version not known — which `config` answers.
   */
  cachedConfig(namespace: string, environment: string, tenant: string | null): ResolvedBody | undefined {
    const { resolvedReads } = this.options;
    return resolvedReads !== null && this.options.viewsAvailable()
      ? resolvedReads.cached(namespace, environment, tenant)
      : undefined;
  }

  async config(
    namespace: string,
    environment: string,
    tenant: string | null,
    minPosition: number | null,
  ): Promise<ResolvedBody & { source: ReadSource }> {
    const fromViews = await this.#fromViews(namespace, environment, minPosition, async () => {
      const { resolvedReads, views } = this.options;
      // A view just confirmed current for minPosition must not be answered from an older known version.
      if (resolvedReads)
        return resolvedReads.read(namespace, environment, tenant, minPosition !== null && minPosition > 0);
      const resolved = await views.resolvedConfig(namespace, environment, tenant);
      return answerBody(resolved.position, resolved.values);
    });
    if (fromViews) return { ...fromViews, source: 'views' };
    const state = await this.#stateAtHead(namespace, environment, minPosition);
    return { ...answerBody(state.position, resolveConfig(state, tenant).values), source: 'log' };
  }

  async flag(
    namespace: string,
    environment: string,
    flag: string,
    tenant: string,
    minPosition: number | null,
  ): Promise<FlagEvaluation & { source: ReadSource }> {
    const { evaluations, source } = await this.flags(namespace, environment, [flag], tenant, minPosition);
    return { ...evaluations[0]!, source };
  }

  /** Several flags for one tenant, from one source, after one wait for `minPosition`. */
  async flags(
    namespace: string,
    environment: string,
    flags: readonly string[],
    tenant: string,
    minPosition: number | null,
  ): Promise<{ evaluations: FlagEvaluation[]; source: ReadSource }> {
    const fromViews = await this.#fromViews(namespace, environment, minPosition, () =>
      Promise.all(flags.map((flag) => this.options.views.flag(namespace, environment, flag, tenant))),
    );
    if (fromViews) return { evaluations: fromViews, source: 'views' };
    const state = await this.#stateAtHead(namespace, environment, minPosition);
    return { evaluations: flags.map((flag) => evaluateFlag(state, flag, tenant)), source: 'log' };
  }

  /**
   * Typed answers for OFREP: flags with a flagd definition resolved against the context by core
   * (`resolveFlag`), shorthand flags as `flags` answers them; one source, one wait.
   */
  async flagAnswers(
    namespace: string,
    environment: string,
    flags: readonly string[],
    tenant: string,
    context: EvaluationContext,
    minPosition: number | null,
  ): Promise<{ answers: FlagAnswer[]; source: ReadSource }> {
    const { views } = this.options;
    const fromViews = await this.#fromViews(namespace, environment, minPosition, () =>
      Promise.all(
        flags.map(async (flag): Promise<FlagAnswer> => {
          const typed = await views.resolveFlag(namespace, environment, flag, context, tenant);
          if (typed.definition) return { kind: 'definition', resolution: typed.resolution, position: typed.position };
          return { kind: 'shorthand', evaluation: await views.flag(namespace, environment, flag, tenant) };
        }),
      ),
    );
    if (fromViews) return { answers: fromViews, source: 'views' };
    const state = await this.#stateAtHead(namespace, environment, minPosition);
    const answers = flags.map((flag): FlagAnswer => {
      const entry = state.flags.get(flag);
      if (!entry?.definition) return { kind: 'shorthand', evaluation: evaluateFlag(state, flag, tenant) };
      const override = state.overrides.get(tenant)?.get(flag);
      return {
        kind: 'definition',
        resolution: resolveFlag(state, flag, context, { tenant, now: () => Math.floor(Date.now() / 1000) }),
        position: override?.position ?? entry.position,
      };
    });
    return { answers, source: 'log' };
  }

  /** `read` from the views once they are current for `minPosition`; null when they are unavailable. */
  async #fromViews<T>(
    namespace: string,
    environment: string,
    minPosition: number | null,
    read: () => Promise<T>,
  ): Promise<T | null> {
    if (!this.options.viewsAvailable()) return null;
    try {
      if (minPosition !== null && minPosition > 0) await this.#caughtUp(namespace, environment, minPosition);
      return await read();
    } catch (error) {
      if (viewsUnavailable(error)) return null;
      throw error;
    }
  }

  /** Waits (bounded) until the views of this scope reflect every log event up to `n`. */
  async #caughtUp(namespace: string, environment: string, n: number): Promise<void> {
    const { views, log, readWaitMs } = this.options;
    const current = await views.viewPositions(namespace, environment);
    // Both views at n or beyond: nothing to ask the log.
    if (current.environment >= n && current.namespace >= n) return;
    const {
      head,
      last: [environmentLast = 0, namespaceLast = 0],
    } = await log.lastPositions(n, [
      { namespace, environment, type: environmentEventTypes },
      { namespace, environment: null, type: namespaceWideEventTypes },
    ]);
    if (head < n) throw beyondHead(n, head);
    const targets = { environment: environmentLast, namespace: namespaceLast };
    if (current.environment >= targets.environment && current.namespace >= targets.namespace) return;
    await views.waitForPositions(namespace, environment, targets, readWaitMs);
  }

  /** The scope's state at the head of the log (which reflects every committed event, so any legitimate `minPosition`). */
  async #stateAtHead(namespace: string, environment: string, minPosition: number | null): Promise<NamespaceEnvState> {
    const { log, pointInTime } = this.options;
    const head = await log.headPosition();
    if (minPosition !== null && head < minPosition) throw beyondHead(minPosition, head);
    const key = `${namespace}\0${environment}`;
    const kept = this.#atHead.get(key);
    if (kept && kept.head === head) return kept.state;
    const state = await pointInTime.stateAt(namespace, environment, head);
    this.#atHead.set(key, { head, state });
    return state;
  }
}

/** Redis down, or up without a live generation (restarted empty, being rebuilt): the log answers instead. */
const viewsUnavailable = (error: unknown): boolean =>
  isRedisUnavailable(error) || (error instanceof StrataError && error.code === 'UNAVAILABLE');
