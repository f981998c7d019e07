import { LRUCache } from 'lru-cache';
import {
  fold,
  initialState,
  namespaceWideEventTypes,
  stateFromJson,
  stateToJson,
  StrataError,
  streamIds,
  type EventLog,
  type EventType,
  type NamespaceEnvState,
  type NamespaceEnvStateJson,
  type RecordedEvent,
  type SnapshotStore,
  WriteBehindSnapshotStore,
} from '@strata/core';

const pageSize = 5_000;
/**
 * A snapshot every this many events OF THE SCOPE, or every `entries / 4` for a state holding more
 * entries: a read folds at most that many events (index range scans of the log) on top of the
 * nearest snapshot, so the fold never costs much more than loading the snapshot itself, and the
 * snapshots written stay within a few entries per event of history.
 */
const snapshotEvery = 250;
/** After a write, the scope's snapshots are brought up to the head this much later (writes in between join). */
const keepUpDelayMs = 1_000;
/** Snapshot states kept parsed in memory (they never change: a snapshot is a pure function of the log). */
const statesInMemory = 16;
/** Namespaces whose namespace-wide events are kept in memory, and at most this many events each. */
const wideNamespaces = 64;
const wideEventsCached = 256;
/** Events of a namespace without an environment that still change every environment's state. */
const namespaceWide = namespaceWideEventTypes;

/** A namespace's namespace-wide events, in position order, from the start of the log to `upTo`. */
interface WideEvents {
  upTo: number;
  events: readonly RecordedEvent[];
}

/** Marks a namespace with too many namespace-wide events to keep in memory: it is read range by range. */
const tooManyWide = 'too many';

export interface FoldedScope {
  state: NamespaceEnvState;
  /** Version of every stream of this namespace/environment as folded (for expectedVersion). */
  streamVersions: Map<string, number>;
}

const intervalFor = (state: NamespaceEnvState): number => {
  let entries = state.environmentValues.size + state.flags.size;
  for (const layer of state.tenantValues.values()) entries += layer.size;
  for (const overrides of state.overrides.values()) entries += overrides.size;
  for (const secrets of state.secrets.values()) entries += secrets.size;
  return Math.max(snapshotEvery, Math.ceil(entries / 4));
};

const scopeOf = (namespace: string, environment: string) => `state:${namespace}/${environment}`;

/**
 * States of the past, from the LOG: the fold of a namespace/environment's events up to a position.
 * Only that scope's events are read (the log's `(namespace, environment, position)` index, plus
 * the namespace's manifests), starting at the nearest snapshot (`strata.snapshots`, scope
 * `state:<ns>/<env>`). Every fold saves a snapshot each `snapshotEvery` scope events it passes, so
 * the first read of a long history builds the snapshots in the same pass, and any later read folds
 * at most `snapshotEvery` events. In steady state the API keeps them up after its own writes
 * (`keepUp`), so no read meets a long unsnapshotted tail. Snapshots are derived: a failed save
 * costs only speed.
 */
export class PointInTime {
  /** `scope@position` → state of a snapshot, the least recently used dropped first. */
  readonly #states = new LRUCache<string, NamespaceEnvState>({ max: statesInMemory });
  /**
   * Where snapshots go: saved in the background, a batch per call of the store underneath (JSON
   * text, serialized when taken: states are large, and text costs the GC nothing).
   */
  readonly #snapshots: WriteBehindSnapshotStore;
  /**
   * Namespace → its namespace-wide events (manifests, shreddings) up to `upTo`, the least recently
   * used dropped first. The log is append-only and its head is visible only once every event below
   * it is, so what was read up to an observed head never changes.
   */
  readonly #wide = new LRUCache<string, WideEvents | typeof tooManyWide>({ max: wideNamespaces });
  /** The highest log head observed: positions at or below it are settled. */
  #head = 0;
  /** Scopes with a pending background catch-up, and the runs under way. */
  readonly #keepUp = new Map<string, NodeJS.Timeout | null>();
  readonly #running = new Set<Promise<unknown>>();
  #closed = false;

  constructor(
    private readonly log: EventLog,
    snapshots: SnapshotStore,
    /** Told of background work that failed (snapshots are derived: a failure costs only speed, but is never silent). */
    private readonly onError: (error: unknown, what: string) => void,
  ) {
    this.#snapshots = new WriteBehindSnapshotStore(snapshots, (error, dropped) =>
      onError(error, `${dropped} snapshots not saved`),
    );
  }

  /** A position or an RFC 3339 time → the log position it denotes (never beyond the head). */
  async resolve(at: number | string): Promise<number> {
    const head = await this.#headPosition();
    if (typeof at === 'number') return Math.min(at, head);
    if (Number.isNaN(Date.parse(at))) throw new StrataError('BAD_REQUEST', `not an RFC 3339 time: ${at}`);
    return this.log.positionAt(at);
  }

  /** The state as of `position` (the nearest snapshot plus the scope's events after it). */
  async stateAt(namespace: string, environment: string, position: number): Promise<NamespaceEnvState> {
    const scope = scopeOf(namespace, environment);
    let state = await this.#nearest(scope, namespace, environment, position);
    let sinceSnapshot = 0;
    let interval = intervalFor(state);
    for await (const page of this.#scopePages(namespace, environment, state.position, position)) {
      for (let i = 0; i < page.length;) {
        const take = Math.min(page.length - i, interval - sinceSnapshot);
        state = fold(state, take === page.length ? page : page.slice(i, i + take));
        i += take;
        sinceSnapshot += take;
        if (sinceSnapshot < interval) continue;
        interval = intervalFor(state);
        if (sinceSnapshot < interval) continue;
        this.#snapshot(scope, state);
        sinceSnapshot = 0;
      }
    }
    // A state "as of" a position reports it, even when the last event there was elsewhere.
    return position > state.position ? { ...state, position } : state;
  }

  /**
   * Called after the API appended to `namespace/environment`: shortly after, folds the scope from
   * its latest snapshot to the head in the background, which saves the snapshots the new events
   * call for. One pending run per scope; derived work, so a failure is reported, not retried.
   */
  keepUp(namespace: string, environment: string): void {
    const scope = scopeOf(namespace, environment);
    if (this.#closed || environment === '' || this.#keepUp.has(scope)) return;
    const timer = setTimeout(() => {
      this.#keepUp.set(scope, null);
      const run = this.#headPosition()
        .then((head) => this.stateAt(namespace, environment, head))
        .catch((error: unknown) => this.onError(error, `snapshots of ${scope} not kept up`))
        .finally(() => {
          this.#keepUp.delete(scope);
          this.#running.delete(run);
        });
      this.#running.add(run);
    }, keepUpDelayMs);
    timer.unref();
    this.#keepUp.set(scope, timer);
  }

  /** Stops background work and waits for runs and saves under way (before the pool closes). */
  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#keepUp.values()) if (timer) clearTimeout(timer);
    await Promise.all(this.#running);
    await this.#snapshots.drain();
  }

  /** The current state of a whole environment with its streams' versions, folded from the log (for reverts). */
  async current(namespace: string, environment: string): Promise<FoldedScope> {
    const head = await this.#headPosition();
    let state = initialState(namespace, environment);
    const streamVersions = new Map<string, number>();
    const envPrefix = `tenant:${namespace}/${environment}/`;
    const envStream = streamIds.environment(namespace, environment);
    for await (const page of this.#scopePages(namespace, environment, 0, head)) {
      state = fold(state, page);
      for (const e of page) {
        if (e.streamId === envStream || e.streamId.startsWith(envPrefix))
          streamVersions.set(e.streamId, e.streamVersion);
      }
    }
    return { state, streamVersions };
  }

  /** The current state of every environment of a namespace (a new manifest is checked against all). */
  async environments(namespace: string): Promise<NamespaceEnvState[]> {
    const head = await this.#headPosition();
    const events = new Map<string, RecordedEvent[]>();
    const shared: RecordedEvent[] = [];
    for await (const page of this.#pages({ namespace }, 0, head)) {
      for (const e of page) {
        const env = (e.data as { environment?: unknown }).environment;
        if (typeof env !== 'string') shared.push(e);
        else {
          const list = events.get(env);
          if (list) list.push(e);
          else events.set(env, [e]);
        }
      }
    }
    return [...events].map(([env, list]) =>
      fold(
        initialState(namespace, env),
        [...shared, ...list].sort((a, b) => a.position - b.position),
      ),
    );
  }

  /** The nearest snapshot at or before `position` (from memory when held), else the empty state. */
  async #nearest(scope: string, namespace: string, environment: string, position: number): Promise<NamespaceEnvState> {
    let at = await this.#snapshots.positionAtOrBefore(scope, position);
    // A state this process took is held parsed, even once its save has failed.
    for (const key of this.#states.keys()) {
      if (!key.startsWith(`${scope}@`)) continue;
      const p = Number(key.slice(scope.length + 1));
      if (p <= position && (at === null || p > at)) at = p;
    }
    if (at === null) return initialState(namespace, environment);
    const key = `${scope}@${at}`;
    const held = this.#states.get(key);
    if (held) return held;
    const snapshot = await this.#snapshots.loadAtOrBefore<NamespaceEnvStateJson>(scope, at);
    if (!snapshot) return initialState(namespace, environment);
    const state = stateFromJson(snapshot.state);
    this.#states.set(`${scope}@${snapshot.position}`, state);
    return state;
  }

  /** Keeps the state in memory and queues it for saving in the background. */
  #snapshot(scope: string, state: NamespaceEnvState): void {
    const key = `${scope}@${state.position}`;
    if (this.#states.has(key)) return;
    this.#states.set(key, state);
    void this.#snapshots.saveAll([{ scope, position: state.position, json: JSON.stringify(stateToJson(state)) }]);
  }

  async #headPosition(): Promise<number> {
    const head = await this.log.headPosition();
    if (head > this.#head) this.#head = head;
    return head;
  }

  /**
   * The namespace-wide events in (after, upTo]. Few by nature, so kept in memory per namespace
   * (from the start of the log up to a settled position) and read only past what memory holds; a
   * namespace with too many to keep is read range by range.
   */
  async #wideEvents(namespace: string, after: number, upTo: number): Promise<RecordedEvent[]> {
    const cached = this.#wide.get(namespace);
    if (cached === tooManyWide) return this.#readWide(namespace, after, upTo);
    let known = cached ?? { upTo: 0, events: [] };
    if (known.upTo < upTo) {
      const read = await this.log.history({
        namespace,
        type: namespaceWide,
        after: known.upTo,
        upTo,
        limit: wideEventsCached + 1,
      });
      const events = read.length === 0 ? known.events : [...known.events, ...read];
      if (events.length > wideEventsCached) {
        this.#wide.set(namespace, tooManyWide);
        return this.#readWide(namespace, after, upTo);
      }
      const settled = Math.min(upTo, this.#head);
      if (settled > known.upTo)
        this.#wide.set(namespace, { upTo: settled, events: events.filter((e) => e.position <= settled) });
      known = { upTo, events };
    }
    return known.events.filter((e) => e.position > after && e.position <= upTo);
  }

  async #readWide(namespace: string, after: number, upTo: number): Promise<RecordedEvent[]> {
    const all: RecordedEvent[] = [];
    for await (const page of this.#pages({ namespace, type: namespaceWide }, after, upTo)) all.push(...page);
    return all;
  }

  /**
   * Events that change `namespace/environment` in (after, upTo], in position order: the
   * environment's own (index `namespace, environment, position`) merged with the namespace's
   * manifests and shreddings (index `type, position`).
   */
  async *#scopePages(namespace: string, environment: string, after: number, upTo: number) {
    // Few by nature (manifests, shreddings): read them all, alongside the scope's first page,
    // then splice them into the scope's pages.
    const widePending = this.#wideEvents(namespace, after, upTo);
    widePending.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
    let wide: RecordedEvent[] | null = null;
    let w = 0;
    for await (const page of this.#pages({ namespace, environment }, after, upTo)) {
      wide ??= await widePending;
      if (w >= wide.length || wide[w]!.position > page[page.length - 1]!.position) {
        yield page;
        continue;
      }
      const merged: RecordedEvent[] = [];
      for (const e of page) {
        while (w < wide.length && wide[w]!.position < e.position) merged.push(wide[w++]!);
        merged.push(e);
      }
      yield merged;
    }
    wide ??= await widePending;
    if (w < wide.length) yield wide.slice(w);
  }

  async *#pages(
    filter: { namespace: string; environment?: string; type?: readonly EventType[] },
    after: number,
    upTo: number,
  ) {
    let cursor = after;
    while (cursor < upTo) {
      const page = await this.log.history({ ...filter, after: cursor, upTo, limit: pageSize });
      if (page.length === 0) return;
      yield page;
      cursor = page[page.length - 1]!.position;
      if (page.length < pageSize) return;
    }
  }
}
