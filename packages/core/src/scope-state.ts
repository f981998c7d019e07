import type { FlagdDefinition, FlagVariant, ManifestDocument, ProjectedEvent, SecretEnvelope } from './events.js';

/**
 * The state of one namespace + environment: everything resolution, flag evaluation, the command
 * deciders and time travel need, folded from the log. Maps, not plain objects, because tenant ids
 * and keys are user input (`constructor` is a valid tenant id).
 *
 * States are immutable to their readers. `evolve` and `fold` share structure with the state they
 * start from and copy only what an event changes; inside one `fold` call each container is copied
 * at most once, so folding a million events costs about as much as applying them in place.
 */

export interface ValueEntry {
  readonly value: unknown;
  /** Log position of the event that set it. */
  readonly position: number;
  /** Time the log recorded that event. */
  readonly changedAt: string;
}

export interface FlagEntry {
  /**
   * A full flagd definition (FlagDefinitionSet). When present it decides, and `rollout` /
   * `enabled` only mirror it (0, and whether its state is ENABLED); when absent the entry is the
   * `{rollout, enabled}` shorthand.
   */
  readonly definition?: FlagdDefinition;
  readonly rollout: number;
  /** The kill switch: false turns the flag off for everyone without an override. */
  readonly enabled: boolean;
  readonly variants: readonly FlagVariant[] | undefined;
  readonly position: number;
  readonly changedAt: string;
}

export interface OverrideEntry {
  readonly override: 'enabled' | 'disabled';
  /** A pinned variant of the flag's definition (then `override` is `enabled`). */
  readonly variant?: string;
  readonly position: number;
  readonly changedAt: string;
}

/** A shared targeting rule (flagd's `$evaluators` entry). */
export interface SegmentEntry {
  readonly logic: unknown;
  readonly position: number;
  readonly changedAt: string;
}

export interface SecretVersionEntry {
  readonly version: number;
  readonly envelope: SecretEnvelope;
  readonly position: number;
  readonly addedAt: string;
  /** Until then the version before this one stays readable (rotation without downtime). */
  readonly previousReadableUntil: string | null;
}

export interface SecretEntry {
  /** Oldest first. */
  readonly versions: readonly SecretVersionEntry[];
  readonly deleted: boolean;
  readonly position: number;
}

export type Layer = ReadonlyMap<string, ValueEntry>;

export interface NamespaceEnvState {
  readonly namespace: string;
  readonly environment: string;
  readonly manifest: ManifestDocument | null;
  /** Position of the ManifestPublished in force, 0 when none. */
  readonly manifestPosition: number;
  /** Environment layer: key → value. */
  readonly environmentValues: Layer;
  /** Tenant layers: tenant → key → value. A tenant with no values has no entry. */
  readonly tenantValues: ReadonlyMap<string, Layer>;
  readonly flags: ReadonlyMap<string, FlagEntry>;
  /** Segments by name. Replaced (never mutated) on every segment change: compiled flags key on it. */
  readonly segments: ReadonlyMap<string, SegmentEntry>;
  /** tenant → flag → override. Cleared overrides have no entry. */
  readonly overrides: ReadonlyMap<string, ReadonlyMap<string, OverrideEntry>>;
  /** Secret metadata (never plaintext), by scope: tenant id, or null for the environment. */
  readonly secrets: ReadonlyMap<string | null, ReadonlyMap<string, SecretEntry>>;
  /** Tenants whose key was crypto-shredded → position of the shredding. */
  readonly shreddedTenants: ReadonlyMap<string, number>;
  /** The highest position folded (including events of other scopes, which change nothing else). */
  readonly position: number;
  /** Position of the last event that changed this scope; 0 when none. */
  readonly lastChangePosition: number;
}

export const initialState = (namespace: string, environment: string): NamespaceEnvState => ({
  namespace,
  environment,
  manifest: null,
  manifestPosition: 0,
  environmentValues: new Map(),
  tenantValues: new Map(),
  flags: new Map(),
  segments: new Map(),
  overrides: new Map(),
  secrets: new Map(),
  shreddedTenants: new Map(),
  position: 0,
  lastChangePosition: 0,
});

type Mutable<T> = { -readonly [P in keyof T]: T[P] };

type TopField =
  'environmentValues' | 'tenantValues' | 'flags' | 'segments' | 'overrides' | 'secrets' | 'shreddedTenants';
type KeyOf<M> = M extends ReadonlyMap<infer K, unknown> ? K : never;
type ValueOf<M> = M extends ReadonlyMap<unknown, infer V> ? V : never;

/** Copy-on-write bookkeeping for one fold: containers created here may be mutated in place. */
class Draft {
  private readonly owned = new Set<object>();
  private readonly ownedTop = new Set<TopField>();
  readonly state: Mutable<NamespaceEnvState>;

  constructor(base: NamespaceEnvState) {
    this.state = { ...base };
  }

  /** A top-level map of the state, owned by this fold (copied the first time). */
  top<F extends TopField>(field: F): Map<KeyOf<NamespaceEnvState[F]>, ValueOf<NamespaceEnvState[F]>> {
    const current = this.state[field] as ReadonlyMap<unknown, unknown>;
    if (this.ownedTop.has(field)) return current as Map<KeyOf<NamespaceEnvState[F]>, ValueOf<NamespaceEnvState[F]>>;
    const copy = new Map(current);
    this.ownedTop.add(field);
    (this.state as Record<F, unknown>)[field] = copy;
    return copy as Map<KeyOf<NamespaceEnvState[F]>, ValueOf<NamespaceEnvState[F]>>;
  }

  /** The inner map `outer.get(id)`, owned by this fold, created empty when absent. */
  inner<K, IK, IV>(outer: Map<K, ReadonlyMap<IK, IV>>, id: K): Map<IK, IV> {
    const current = outer.get(id);
    if (current && this.owned.has(current)) return current as Map<IK, IV>;
    const copy = new Map<IK, IV>(current);
    this.owned.add(copy);
    outer.set(id, copy);
    return copy;
  }
}

const applyEvent = (draft: Draft, event: ProjectedEvent): void => {
  const s = draft.state;
  if (event.position <= s.position) return;
  s.position = event.position;
  const position = event.position;
  const changedAt = event.recordedAt;
  switch (event.type) {
    case 'ManifestPublished': {
      if (event.data.namespace !== s.namespace) return;
      s.manifest = event.data.manifest;
      s.manifestPosition = event.position;
      break;
    }
    case 'TenantKeyShredded': {
      if (event.data.namespace !== s.namespace) return;
      draft.top('shreddedTenants').set(event.data.tenant, event.position);
      break;
    }
    case 'ConfigValueSet':
    case 'ConfigValueUnset': {
      const d = event.data;
      if (d.namespace !== s.namespace || d.environment !== s.environment) return;
      let layer: Map<string, ValueEntry>;
      if (d.tenant === null) layer = draft.top('environmentValues');
      else layer = draft.inner(draft.top('tenantValues'), d.tenant);
      if (event.type === 'ConfigValueSet') layer.set(d.key, { value: event.data.value, position, changedAt });
      else {
        layer.delete(d.key);
        if (d.tenant !== null && layer.size === 0) (s.tenantValues as Map<string, Layer>).delete(d.tenant);
      }
      break;
    }
    case 'FlagRolloutChanged': {
      const d = event.data;
      if (d.namespace !== s.namespace || d.environment !== s.environment) return;
      draft
        .top('flags')
        .set(d.flag, { rollout: d.rollout, enabled: d.enabled, variants: d.variants, position, changedAt });
      break;
    }
    case 'FlagDefinitionSet': {
      const d = event.data;
      if (d.namespace !== s.namespace || d.environment !== s.environment) return;
      draft.top('flags').set(d.flag, {
        definition: d.definition,
        rollout: 0,
        enabled: d.definition.state === 'ENABLED',
        variants: undefined,
        position,
        changedAt,
      });
      break;
    }
    case 'SegmentSet':
    case 'SegmentDeleted': {
      const d = event.data;
      if (d.namespace !== s.namespace || d.environment !== s.environment) return;
      const segments = draft.top('segments');
      if (event.type === 'SegmentSet') segments.set(d.segment, { logic: event.data.logic, position, changedAt });
      else segments.delete(d.segment);
      break;
    }
    case 'FlagOverrideSet': {
      const d = event.data;
      if (d.namespace !== s.namespace || d.environment !== s.environment) return;
      const overrides = draft.top('overrides');
      const tenant = draft.inner(overrides, d.tenant);
      if (d.override === null) {
        tenant.delete(d.flag);
        if (tenant.size === 0) overrides.delete(d.tenant);
      } else
        tenant.set(
          d.flag,
          d.variant === undefined
            ? { override: d.override, position, changedAt }
            : { override: d.override, variant: d.variant, position, changedAt },
        );
      break;
    }
    case 'SecretVersionAdded':
    case 'SecretDeleted': {
      const d = event.data;
      if (d.namespace !== s.namespace || d.environment !== s.environment) return;
      const scope = draft.inner(draft.top('secrets'), d.tenant);
      const current = scope.get(d.name);
      if (event.type === 'SecretVersionAdded') {
        const version: SecretVersionEntry = {
          version: event.data.version,
          envelope: event.data.envelope,
          position: event.position,
          addedAt: event.recordedAt,
          previousReadableUntil: event.data.previousReadableUntil,
        };
        scope.set(d.name, {
          versions: [...(current?.versions ?? []), version],
          deleted: false,
          position: event.position,
        });
      } else {
        scope.set(d.name, { versions: current?.versions ?? [], deleted: true, position: event.position });
      }
      break;
    }
    default:
      return; // tokens, master keys: not part of a namespace's state
  }
  s.lastChangePosition = event.position;
};

/**
 * Applies one event. Pure and idempotent: an event at or below `state.position` returns the same
 * state object, and events of other namespaces/environments change nothing but `position`.
 */
export const evolve = (state: NamespaceEnvState, event: ProjectedEvent): NamespaceEnvState => {
  if (event.position <= state.position) return state;
  const draft = new Draft(state);
  applyEvent(draft, event);
  return draft.state;
};

/** Applies events in order; same result as reducing with `evolve`, much faster. */
export const fold = (state: NamespaceEnvState, events: Iterable<ProjectedEvent>): NamespaceEnvState => {
  const draft = new Draft(state);
  for (const event of events) applyEvent(draft, event);
  return draft.state;
};

/** The latest version of a secret, undefined when absent or deleted. */
export const currentSecretVersion = (
  state: NamespaceEnvState,
  tenant: string | null,
  name: string,
): SecretVersionEntry | undefined => {
  const entry = state.secrets.get(tenant)?.get(name);
  if (!entry || entry.deleted) return undefined;
  return entry.versions[entry.versions.length - 1];
};

/** The highest version number ever added (deleted or not), 0 when none: the next one is this + 1. */
export const latestSecretVersionNumber = (state: NamespaceEnvState, tenant: string | null, name: string): number => {
  const versions = state.secrets.get(tenant)?.get(name)?.versions;
  return versions?.[versions.length - 1]?.version ?? 0;
};

/** A config layer: the environment's for `null`, else the tenant's (empty when it has none). */
export const layerOf = (state: NamespaceEnvState, tenant: string | null): Layer =>
  tenant === null ? state.environmentValues : (state.tenantValues.get(tenant) ?? emptyLayer);

const emptyLayer: Layer = new Map();

/** JSON form of a state, for snapshots and debugging (maps become objects / entry lists). */
export interface NamespaceEnvStateJson {
  namespace: string;
  environment: string;
  manifest: ManifestDocument | null;
  manifestPosition: number;
  environmentValues: Record<string, ValueEntry>;
  tenantValues: Record<string, Record<string, ValueEntry>>;
  flags: Record<string, FlagEntry>;
  /** Absent in snapshots written before segments existed. */
  segments?: Record<string, SegmentEntry>;
  overrides: Record<string, Record<string, OverrideEntry>>;
  /** Environment secrets under `scope: null`. */
  secrets: Array<{ tenant: string | null; name: string; entry: SecretEntry }>;
  shreddedTenants: Record<string, number>;
  position: number;
  lastChangePosition: number;
}

// Object.fromEntries defines own properties, so `constructor` or `__proto__` keys stay data.
const obj = <V>(map: ReadonlyMap<string, V>): Record<string, V> => Object.fromEntries(map);
const nested = <V>(map: ReadonlyMap<string, ReadonlyMap<string, V>>): Record<string, Record<string, V>> =>
  Object.fromEntries([...map].map(([k, v]) => [k, obj(v)]));
const fromObj = <V>(record: Record<string, V>): Map<string, V> => new Map(Object.entries(record));

export const stateToJson = (state: NamespaceEnvState): NamespaceEnvStateJson => ({
  namespace: state.namespace,
  environment: state.environment,
  manifest: state.manifest,
  manifestPosition: state.manifestPosition,
  environmentValues: obj(state.environmentValues),
  tenantValues: nested(state.tenantValues),
  flags: obj(state.flags),
  segments: obj(state.segments),
  overrides: nested(state.overrides),
  secrets: [...state.secrets].flatMap(([tenant, names]) =>
    [...names].map(([name, entry]) => ({ tenant, name, entry })),
  ),
  shreddedTenants: obj(state.shreddedTenants),
  position: state.position,
  lastChangePosition: state.lastChangePosition,
});

export const stateFromJson = (json: NamespaceEnvStateJson): NamespaceEnvState => {
  const secrets = new Map<string | null, Map<string, SecretEntry>>();
  for (const { tenant, name, entry } of json.secrets) {
    let scope = secrets.get(tenant);
    if (!scope) secrets.set(tenant, (scope = new Map()));
    scope.set(name, entry);
  }
  return {
    namespace: json.namespace,
    environment: json.environment,
    manifest: json.manifest,
    manifestPosition: json.manifestPosition,
    environmentValues: fromObj(json.environmentValues),
    tenantValues: new Map(Object.entries(json.tenantValues).map(([k, v]) => [k, fromObj(v)])),
    flags: fromObj(json.flags),
    segments: fromObj(json.segments ?? {}),
    overrides: new Map(Object.entries(json.overrides).map(([k, v]) => [k, fromObj(v)])),
    secrets,
    shreddedTenants: fromObj(json.shreddedTenants),
    position: json.position,
    lastChangePosition: json.lastChangePosition,
  };
};
