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
 * which may lag): the namespace's manifest stream plus the scope's own streams, folded with core's
 * `fold`. Folded states are cached per scope with the stream versions they hold, and a write
 * advances one with what its streams gained since, all streams in one `readStreams` (one
 * statement, so one snapshot of the log): appends commit in position order, so what that read
 * brings lies after everything already folded, and the state needs no events kept in memory. A
 * scope's streams may grow without bound (a busy environment over years); a write still reads only
 * what is new. Streams read whole (`stream`: the manifest in force, a history entry's stream)
 * keep their events cached and caught up with `readStream(fromVersion)`.
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
    let cache = this.#streams.get(streamId);
    if (!cache) {
      cache = { events: [], version: 0 };
      this.#streams.set(streamId, cache);
    }
    const fresh = await this.log.readStream(streamId, cache.version + 1);
    let grew = false;
    for (const event of fresh) {
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
    return cache;
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
    const key = ids.join('|');
    const cached = this.#states.get(key);
    const since = (id: string) => cached?.versions.get(id) ?? 0;
    let fresh = await this.log.readStreams(ids.map((streamId) => ({ streamId, fromVersion: since(streamId) + 1 })));
    let events = fresh.flat().sort((a, b) => a.position - b.position);
    let state: NamespaceEnvState;
    if (!cached) state = fold(initialState(namespace, environment), events);
    else if (events.length === 0) state = cached.state;
    else if (events[0]!.position > cached.state.position) state = fold(cached.state, events);
    else {
      // Only if appends ever committed out of position order: `evolve` skips what lies at or below
      // the state's position, so the scope is folded again from the start.
      fresh = await this.log.readStreams(ids.map((streamId) => ({ streamId, fromVersion: 1 })));
      events = fresh.flat().sort((a, b) => a.position - b.position);
      state = fold(initialState(namespace, environment), events);
    }
    const versions = new Map(ids.map((id, i) => [id, fresh[i]!.at(-1)?.streamVersion ?? since(id)]));
    this.#states.set(key, { state, versions });
    const streamId = ids[ids.length - 1]!;
    return { state, streamId, streamVersion: versions.get(streamId)!, manifestVersion: versions.get(manifestId)! };
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
