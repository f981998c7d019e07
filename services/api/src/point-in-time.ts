import type pg from 'pg';
import {
  fold,
  initialState,
  stateFromJson,
  stateToJson,
  StrataError,
  streamIds,
  type EventLog,
  type NamespaceEnvState,
  type NamespaceEnvStateJson,
  type RecordedEvent,
} from '@strata/core';
import { loadSnapshotAtOrBefore, saveSnapshot } from '@strata/postgres-log';

const pageSize = 10_000;
/** Fold at least this many events past the nearest snapshot and the API saves a new one. */
const snapshotEvery = 5_000;

export interface FoldedScope {
  state: NamespaceEnvState;
  /** Version of every stream of this namespace/environment as folded (for expectedVersion). */
  streamVersions: Map<string, number>;
}

/**
 * States of the past, from the LOG: the fold of every event of a namespace up to a position.
 * Snapshots (`strata.snapshots`, scope `state:<ns>/<env>`) shortcut long histories; the API saves
 * one whenever a read had to fold many events past the nearest.
 */
export class PointInTime {
  constructor(
    private readonly log: EventLog,
    private readonly pool: pg.Pool,
  ) {}

  /** A position or an RFC 3339 time → the log position it denotes (never beyond the head). */
  async resolve(at: number | string): Promise<number> {
    const head = await this.log.headPosition();
    if (typeof at === 'number') return Math.min(at, head);
    if (Number.isNaN(Date.parse(at))) throw new StrataError('BAD_REQUEST', `not an RFC 3339 time: ${at}`);
    return this.log.positionAt(at);
  }

  /** The state as of `position` (a snapshot plus the events after it). */
  async stateAt(namespace: string, environment: string, position: number): Promise<NamespaceEnvState> {
    const scope = `state:${namespace}/${environment}`;
    const snapshot = await loadSnapshotAtOrBefore<NamespaceEnvStateJson>(this.pool, scope, position);
    let state = snapshot ? stateFromJson(snapshot.state) : initialState(namespace, environment);
    let folded = 0;
    for await (const page of this.pages(namespace, state.position, position)) {
      state = fold(state, page);
      folded += page.length;
    }
    if (folded >= snapshotEvery && state.position > 0) {
      // Best effort: a snapshot is derived data, a failed save costs only speed.
      await saveSnapshot(this.pool, scope, state.position, stateToJson(state)).catch(() => undefined);
    }
    // A state "as of" a position reports it, even when the last event there was elsewhere.
    return position > state.position ? { ...state, position } : state;
  }

  /** The current state of a whole environment with its streams' versions, folded from the log (for reverts). */
  async current(namespace: string, environment: string): Promise<FoldedScope> {
    const head = await this.log.headPosition();
    let state = initialState(namespace, environment);
    const streamVersions = new Map<string, number>();
    const envPrefix = `tenant:${namespace}/${environment}/`;
    const envStream = streamIds.environment(namespace, environment);
    for await (const page of this.pages(namespace, 0, head)) {
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
    const head = await this.log.headPosition();
    const events = new Map<string, RecordedEvent[]>();
    const shared: RecordedEvent[] = [];
    for await (const page of this.pages(namespace, 0, head)) {
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

  private async *pages(namespace: string, after: number, upTo: number) {
    let cursor = after;
    while (cursor < upTo) {
      const page = await this.log.history({ namespace, after: cursor, upTo, limit: pageSize });
      if (page.length === 0) return;
      yield page;
      cursor = page[page.length - 1]!.position;
      if (page.length < pageSize) return;
    }
  }
}
