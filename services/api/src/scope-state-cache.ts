import { LRUCache } from 'lru-cache';
import {
  fold,
  initialState,
  streamIds,
  type EventLog,
  type ManifestDocument,
  type NamespaceEnvState,
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

/** What a namespace's manifest stream holds for deciding: its version, newest position and manifest in force. */
export interface ManifestStream {
  version: number;
  /** Position of the stream's newest event (0: none yet). */
  position: number;
  /** The latest `ManifestPublished`'s manifest; null before the first. */
  manifest: ManifestDocument | null;
}

const noManifest: ManifestStream = { version: 0, position: 0, manifest: null };

/**
 * Current state of a scope for deciding commands, read from the LOG (never from Redis views,
 * which may lag): the namespace's manifest stream plus the scope's own streams, folded with core's
 * `fold`. Folded states are cached per scope with the stream versions they hold, and a write
 * advances one with what its streams gained since, all streams in one `readStreams` (one
 * statement, so one snapshot of the log): appends commit in position order, so what that read
 * brings lies after everything already folded, and the state needs no events kept in memory. A
 * scope's streams may grow without bound (a busy environment over years); a write still reads only
 * what is new. The manifest in force is kept the same way: its stream's version and latest
 * manifest, caught up with what the stream gained since.
 */
export class ScopeStateCache {
  // Bounded by least recent use; a forgotten scope or manifest is refilled from the log on its next read.
  readonly #manifests: LRUCache<string, ManifestStream>;
  readonly #states: LRUCache<string, { state: NamespaceEnvState; versions: Map<string, number> }>;

  constructor(
    private readonly log: EventLog,
    maxScopes = 10_000,
  ) {
    this.#manifests = new LRUCache({ max: maxScopes });
    this.#states = new LRUCache({ max: maxScopes });
  }

  /** The namespace's manifest stream caught up with the log: only the events it gained are read. */
  async manifestStream(namespace: string): Promise<ManifestStream> {
    const known = this.#manifests.get(namespace) ?? noManifest;
    const fresh = await this.log.readStream(streamIds.manifest(namespace), known.version + 1);
    // A new object, never a changed one: a slower concurrent read may set an older one after this,
    // which the next read only catches up from again.
    let caughtUp = known;
    for (const event of fresh) {
      if (event.streamVersion <= caughtUp.version) continue;
      caughtUp = {
        version: event.streamVersion,
        position: event.position,
        manifest: event.type === 'ManifestPublished' ? event.data.manifest : caughtUp.manifest,
      };
    }
    this.#manifests.set(namespace, caughtUp);
    return caughtUp;
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

  /** The namespace's manifest in force; null before the first. */
  async manifest(namespace: string): Promise<ManifestDocument | null> {
    return (await this.manifestStream(namespace)).manifest;
  }
}
