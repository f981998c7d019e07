import { StrataError, type EventLog, type NewEvent } from '@strata/core';
import type { DecisionState, ScopeStateCache } from './scope-state-cache.js';

/** What every write answers: the log position of its last event and the stream's version after it. */
export interface WriteResult {
  position: number;
  version: number;
  /** Number of events appended (0 for a removal of something already absent). */
  appended: number;
  /** True when an Idempotency-Key had been seen: nothing was appended this time. */
  replayed: boolean;
}

export interface WriteOptions {
  /** `If-Match`: the stream version the caller last saw; stale → VERSION_CONFLICT (409). */
  ifMatch: number | null;
  /** `Idempotency-Key`, already namespaced by the caller's identity. */
  idempotencyKey: string | null;
}

const maxAttempts = 5;

/**
 * Runs one command against the log: load the scope's state (from the log, via the cache), decide,
 * append with expectedVersion = the version decided on. A conflict nobody asked for (another
 * writer got in between) is retried on the fresh state; a conflict with the caller's If-Match is
 * the caller's to resolve. A retried Idempotency-Key answers the original result and decides
 * nothing, so it cannot fail on state the first attempt itself changed.
 */
export class CommandRunner {
  constructor(
    private readonly log: EventLog,
    private readonly cache: ScopeStateCache,
    /** Told after every append, with the scope decided on (the API keeps its snapshots up). */
    readonly appended: (namespace: string, environment: string) => void = () => undefined,
  ) {}

  readonly #queues = new Map<string, Promise<unknown>>();

  /**
   * Runs `run` after every earlier command on `streamId` in this process: same-stream commands
   * here never conflict with each other, only with other API instances (which the retry covers).
   */
  async run(
    streamId: string,
    load: () => Promise<DecisionState>,
    decide: (state: DecisionState) => Promise<NewEvent[]> | NewEvent[],
    options: WriteOptions,
  ): Promise<WriteResult> {
    const previous = this.#queues.get(streamId) ?? Promise.resolve();
    const current = previous.catch(() => undefined).then(() => this.#run(load, decide, options));
    const settled = current.catch(() => undefined);
    this.#queues.set(streamId, settled);
    void settled.then(() => {
      if (this.#queues.get(streamId) === settled) this.#queues.delete(streamId);
    });
    return current;
  }

  async #run(
    load: () => Promise<DecisionState>,
    decide: (state: DecisionState) => Promise<NewEvent[]> | NewEvent[],
    options: WriteOptions,
  ): Promise<WriteResult> {
    if (options.idempotencyKey) {
      const previous = await this.replay(options.idempotencyKey);
      if (previous) return previous;
    }
    for (let attempt = 1; ; attempt++) {
      const current = await load();
      if (options.ifMatch !== null && options.ifMatch !== current.streamVersion)
        throw staleIfMatch(options.ifMatch, current.streamVersion);
      const events = await decide(current);
      if (events.length === 0) {
        return { position: current.state.position, version: current.streamVersion, appended: 0, replayed: false };
      }
      const result = await this.log.append(current.streamId, events, {
        expectedVersion: current.streamVersion,
        ...(options.idempotencyKey ? { idempotencyKey: options.idempotencyKey } : {}),
      });
      if (result.ok) {
        if (!result.replayed) this.appended(current.state.namespace, current.state.environment);
        return {
          position: result.positions[result.positions.length - 1] ?? current.state.position,
          version: result.streamVersion,
          appended: result.replayed ? 0 : result.positions.length,
          replayed: result.replayed,
        };
      }
      if (options.ifMatch !== null) throw staleIfMatch(options.ifMatch, result.currentVersion);
      if (attempt >= maxAttempts) {
        throw new StrataError('VERSION_CONFLICT', `${current.streamId} kept changing; retry the request`, {
          currentVersion: result.currentVersion,
        });
      }
    }
  }

  /** The original result of an idempotency key, null when it is unseen. */
  async replay(key: string): Promise<WriteResult | null> {
    const original = await this.log.idempotentResult(key);
    if (!original) return null;
    const { positions, streamVersion } = original;
    return { position: positions[positions.length - 1] ?? 0, version: streamVersion, appended: 0, replayed: true };
  }

  get stateCache(): ScopeStateCache {
    return this.cache;
  }
}

const staleIfMatch = (expected: number, current: number): StrataError =>
  new StrataError('VERSION_CONFLICT', `If-Match ${expected} is stale: the current version is ${current}`, {
    expectedVersion: expected,
    currentVersion: current,
  });
