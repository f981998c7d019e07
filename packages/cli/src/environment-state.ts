import type { HistoryEvent, StrataApi } from '@strata/contracts';
import { fold, initialState, type NamespaceEnvState, type RecordedEvent } from '@strata/core';

/**
 * The declared state of one environment (values, flags, overrides, secret versions), folded
 * from `GET /v1/events` by core's `fold`, plus the stream versions the folded events had.
 * `export`, `plan`, `apply` and `who-flips` need the layers as written, not resolved values, and
 * the log is the one read the public contract guarantees for all of them.
 */
export interface EnvironmentState extends NamespaceEnvState {
  /** Stream id → version: what `If-Match` must carry for the next write to that stream. */
  readonly streamVersions: Map<string, number>;
}

/**
 * Folds events of one environment in position order. History events are the log's recorded
 * events with the envelope of secret versions cut down (never needed here), so core folds them.
 */
export const foldEvents = (namespace: string, env: string, events: Iterable<HistoryEvent>): EnvironmentState => {
  const streamVersions = new Map<string, number>();
  const inScope: HistoryEvent[] = [];
  for (const event of events) {
    if (event.data['namespace'] !== namespace || event.data['environment'] !== env) continue;
    streamVersions.set(event.streamId, event.streamVersion);
    inScope.push(event);
  }
  const state = fold(initialState(namespace, env), inScope as unknown as RecordedEvent[]);
  return { ...state, streamVersions };
};

/** Reads and folds the environment's whole history, optionally only up to a position. */
export const loadEnvironmentState = async (
  client: StrataApi,
  namespace: string,
  env: string,
  upTo?: number,
): Promise<EnvironmentState> => {
  const events: HistoryEvent[] = [];
  for await (const event of client.allEvents({ namespace, env })) {
    if (upTo !== undefined && event.position > upTo) break;
    events.push(event);
  }
  return foldEvents(namespace, env, events);
};

/** The latest published manifest of a namespace (from the log), or null before the first. */
export const loadManifest = async (client: StrataApi, namespace: string): Promise<ManifestLike | null> => {
  let manifest: ManifestLike | null = null;
  for await (const event of client.allEvents({ namespace, type: 'ManifestPublished' })) {
    const data = event.data;
    if (event.type === 'ManifestPublished' && data['namespace'] === namespace)
      manifest = data['manifest'] as ManifestLike;
  }
  return manifest;
};

/** The parts of a manifest the CLI looks at. */
export interface ManifestLike {
  keys?: Record<string, { secret?: boolean; [k: string]: unknown }>;
  flags?: Record<string, unknown>;
  secrets?: Record<string, unknown>;
}

export const secretKeys = (manifest: ManifestLike | null | undefined): Set<string> =>
  new Set(
    Object.entries(manifest?.keys ?? {})
      .filter(([, schema]) => schema?.secret === true)
      .map(([key]) => key),
  );
