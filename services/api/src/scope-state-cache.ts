import { LRUCache } from 'lru-cache';
import {
  fold,
  initialState,
  streamIds,
  type EventLog,
  type ManifestDocument,
  type NamespaceEnvState,
  type RecordedEvent,
} from '@strata/core';

/** The folded state a command is decided on, and the version of the stream it will append to. */
export interface DecisionState {
  state: NamespaceEnvState;
  /** Stream the command's events go to (environment or tenant stream). */
  streamId: string;
  /** Its version as folded: the expectedVersion of the append. */
  streamVersion: number;
  manifestVersion: number;
}

interface StreamCache {
  events: RecordedEvent[];
  version: number;
}

/**
 * Current state of a scope for deciding commands, read from the LOG (never from Redis views,
 * which may lag): the namespace's manifest stream plus the scope's own stream, folded with core's
 * `fold`. Each stream's events are cached in memory and caught up with `readStream(fromVersion)`,
 * so a write costs one small read of the log for all of them. Folded states are cached per scope and advanced
 * incrementally; when a catch-up brings an event older than the folded position (streams read a
 * moment apart), the scope is refolded from the cached events, because `evolve` skips anything at
 * or below the state's position.
 */
export class ScopeStateCache {
  // Bounded by least recent use, the streams also by the events they hold in all (a stream grows with
  // every write, and a long-running API writes without end); a forgotten stream or state is refilled
  // from the log on its next read.
  readonly #streams: LRUCache<string, StreamCache>;
  readonly #states: LRUCache<string, { state: NamespaceEnvState; versions: Map<string, number> }>;

  constructor(
    private readonly log: EventLog,
    maxStreams = 10_000,
    /** Events kept in all streams together (a few hundred bytes each). */
    maxEvents = 100_000,
  ) {
    this.#streams = new LRUCache({ max: maxStreams, maxSize: maxEvents, sizeCalculation: (c) => c.events.length + 1 });
    this.#states = new LRUCache({ max: maxStreams });
  }

  /** Events held in memory, over every cached stream (at most `maxEvents`). */
  get cachedEvents(): number {
    let events = 0;
    for (const cache of this.#streams.values()) events += cache.events.length;
    return events;
  }

  /** Catches the stream up with the log; returns its cached events, oldest first. */
  async stream(streamId: string): Promise<StreamCache> {
    return (await this.streams([streamId]))[0]!;
  }

  /** `stream` for several streams, caught up in one read of the log. */
  async streams(streamIds: readonly string[]): Promise<StreamCache[]> {
    const caches = streamIds.map((streamId) => {
      let cache = this.#streams.get(streamId);
      if (!cache) {
        cache = { events: [], version: 0 };
        this.#streams.set(streamId, cache);
      }
      return cache;
    });
    const fresh = await this.log.readStreams(
      streamIds.map((streamId, i) => ({ streamId, fromVersion: caches[i]!.version + 1 })),
    );
    streamIds.forEach((streamId, i) => {
      const cache = caches[i]!;
      let grew = false;
      for (const event of fresh[i]!) {
        if (event.streamVersion <= cache.version) continue;
        cache.events.push(event);
        cache.version = event.streamVersion;
        grew = true;
      }
      // Sized again (which may evict the least recently used streams): lru-cache keeps the size of a
      // value set again as it was, so it is taken out first. A stream larger than the whole bound is
      // not kept, and is read from the log whenever it is needed.
      if (grew && this.#streams.get(streamId) === cache) {
        this.#streams.delete(streamId);
        this.#streams.set(streamId, cache);
      }
    });
    return caches;
  }

  /**
   * The state of `namespace/environment` holding the manifest, the environment layer and flags,
   * and — when `tenant` is given — that tenant's layer, overrides and secrets.
   */
  async load(namespace: string, environment: string, tenant: string | null): Promise<DecisionState> {
    const manifestId = streamIds.manifest(namespace);
    const envId = streamIds.environment(namespace, environment);
    const ids =
      tenant === null ? [manifestId, envId] : [manifestId, envId, streamIds.tenant(namespace, environment, tenant)];
    const caches = await this.streams(ids);
    const key = ids.join('|');
    const cached = this.#states.get(key);
    let state: NamespaceEnvState;
    if (cached) {
      const fresh: RecordedEvent[] = [];
      ids.forEach((id, i) => {
        const from = cached.versions.get(id) ?? 0;
        for (const e of caches[i]!.events) if (e.streamVersion > from) fresh.push(e);
      });
      fresh.sort((a, b) => a.position - b.position);
      state =
        fresh.length === 0
          ? cached.state
          : fresh[0]!.position > cached.state.position
            ? fold(cached.state, fresh)
            : foldAll(
                namespace,
                environment,
                caches.map((c) => c.events),
              );
    } else
      state = foldAll(
        namespace,
        environment,
        caches.map((c) => c.events),
      );
    this.#states.set(key, { state, versions: new Map(ids.map((id, i) => [id, caches[i]!.version])) });
    const scopeCache = caches[caches.length - 1]!;
    return {
      state,
      streamId: ids[ids.length - 1]!,
      streamVersion: scopeCache.version,
      manifestVersion: caches[0]!.version,
    };
  }

  /** The namespace's manifest in force, from its (cached) manifest stream; null before the first. */
  async manifest(namespace: string): Promise<ManifestDocument | null> {
    const { events } = await this.stream(streamIds.manifest(namespace));
    for (let i = events.length - 1; i >= 0; i--) {
      const e = events[i]!;
      if (e.type === 'ManifestPublished') return e.data.manifest;
    }
    return null;
  }
}

const foldAll = (namespace: string, environment: string, streams: RecordedEvent[][]): NamespaceEnvState =>
  fold(
    initialState(namespace, environment),
    streams.flat().sort((a, b) => a.position - b.position),
  );
