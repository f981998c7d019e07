import type { HistoryEvent, StrataApi } from '@strata/contracts';

/**
 * The declared state of one environment (values, flags, overrides, secret versions, stream
 * versions), folded from `GET /v1/events`. `export`, `plan`, `apply`, `secrets list` and
 * `who-flips` need the layers as written, not resolved values, and the log is the one read the
 * public contract guarantees for all of them.
 */

export interface ValueEntry {
  value: unknown;
  position: number;
}

export interface FlagEntry {
  rollout: number;
  enabled: boolean;
  position: number;
}

export interface OverrideEntry {
  override: 'enabled' | 'disabled';
  position: number;
}

export interface SecretEntry {
  version: number;
  position: number;
  recordedAt: string;
}

export interface LayerState {
  config: Map<string, ValueEntry>;
  secrets: Map<string, SecretEntry>;
}

export interface TenantState extends LayerState {
  flags: Map<string, OverrideEntry>;
}

export interface EnvironmentState extends LayerState {
  namespace: string;
  env: string;
  /** The highest position folded in. */
  position: number;
  flags: Map<string, FlagEntry>;
  tenants: Map<string, TenantState>;
  /** Stream id → version: what `If-Match` must carry for the next write to that stream. */
  streamVersions: Map<string, number>;
}

export const emptyEnvironmentState = (namespace: string, env: string): EnvironmentState => ({
  namespace,
  env,
  position: 0,
  config: new Map(),
  secrets: new Map(),
  flags: new Map(),
  tenants: new Map(),
  streamVersions: new Map(),
});

export const envStreamId = (namespace: string, env: string): string => `env:${namespace}/${env}`;
export const tenantStreamId = (namespace: string, env: string, tenant: string): string =>
  `tenant:${namespace}/${env}/${tenant}`;

const tenantOf = (state: EnvironmentState, tenant: string): TenantState => {
  let t = state.tenants.get(tenant);
  if (!t) {
    t = { config: new Map(), secrets: new Map(), flags: new Map() };
    state.tenants.set(tenant, t);
  }
  return t;
};

type Data = Record<string, unknown>;

/** Applies one event; events of other scopes only advance nothing. Order: position ascending. */
export const foldEvent = (state: EnvironmentState, event: HistoryEvent): void => {
  const data = event.data as Data;
  if (data['namespace'] !== state.namespace || data['environment'] !== state.env) return;
  state.position = Math.max(state.position, event.position);
  if (event.streamId && typeof event.streamVersion === 'number')
    state.streamVersions.set(event.streamId, event.streamVersion);
  const tenant = typeof data['tenant'] === 'string' ? data['tenant'] : null;
  const layer: LayerState = tenant === null ? state : tenantOf(state, tenant);
  const at = event.position;
  switch (event.type) {
    case 'ConfigValueSet':
      layer.config.set(data['key'] as string, { value: data['value'], position: at });
      break;
    case 'ConfigValueUnset':
      layer.config.delete(data['key'] as string);
      break;
    case 'FlagRolloutChanged':
      state.flags.set(data['flag'] as string, {
        rollout: data['rollout'] as number,
        enabled: data['enabled'] as boolean,
        position: at,
      });
      break;
    case 'FlagOverrideSet': {
      const flags = tenantOf(state, data['tenant'] as string).flags;
      const override = data['override'] as 'enabled' | 'disabled' | null;
      if (override === null) flags.delete(data['flag'] as string);
      else flags.set(data['flag'] as string, { override, position: at });
      break;
    }
    case 'SecretVersionAdded':
      layer.secrets.set(data['name'] as string, {
        version: data['version'] as number,
        position: at,
        recordedAt: event.recordedAt,
      });
      break;
    case 'SecretDeleted':
      layer.secrets.delete(data['name'] as string);
      break;
    default:
      break;
  }
};

export const foldEvents = (namespace: string, env: string, events: Iterable<HistoryEvent>): EnvironmentState => {
  const state = emptyEnvironmentState(namespace, env);
  for (const event of events) foldEvent(state, event);
  return state;
};

/** Reads and folds the environment's whole history, optionally only up to a position. */
export const loadEnvironmentState = async (
  client: StrataApi,
  namespace: string,
  env: string,
  upTo?: number,
): Promise<EnvironmentState> => {
  const state = emptyEnvironmentState(namespace, env);
  for await (const event of client.allEvents({ namespace, env })) {
    if (upTo !== undefined && event.position > upTo) break;
    foldEvent(state, event);
  }
  return state;
};

/** The latest published manifest of a namespace (from the log), or null before the first. */
export const loadManifest = async (client: StrataApi, namespace: string): Promise<ManifestLike | null> => {
  let manifest: ManifestLike | null = null;
  for await (const event of client.allEvents({ namespace, type: 'ManifestPublished' })) {
    const data = event.data as Data;
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
