import {
  newEvent,
  streamIds,
  type EventMetadata,
  type FlagdDefinition,
  type FlagVariant,
  type NewEvent,
  type RecordedEvent,
  type SecretEnvelope,
} from './events.js';
import { jsonEqual } from './json-value.js';
import { keySchema, validateValue } from './manifest.js';
import {
  currentSecretVersion,
  fold,
  initialState,
  latestSecretVersionNumber,
  layerOf,
  type FlagEntry,
  type NamespaceEnvState,
} from './scope-state.js';

/**
 * Time travel: the state at any past position, what changed between two states, and the
 * compensating events that bring the present back to a past state. A revert never rewrites the
 * log; it appends ordinary events whose metadata says `source: 'revert'` and `revertTo`.
 */

/**
 * The state of a namespace+environment after the events at or below `position`. `events` must be
 * in position order (as the log returns them); events of other scopes are ignored.
 */
export const stateAt = (
  events: Iterable<RecordedEvent>,
  position: number,
  scope: { namespace: string; environment: string },
): NamespaceEnvState => {
  const upTo = function* () {
    for (const event of events) {
      if (event.position > position) return;
      yield event;
    }
  };
  return fold(initialState(scope.namespace, scope.environment), upTo());
};

/** The state as of a moment: events recorded at or before `time` (ISO 8601). */
export const stateAtTime = (
  events: Iterable<RecordedEvent>,
  time: string,
  scope: { namespace: string; environment: string },
): NamespaceEnvState => {
  const limit = Date.parse(time);
  const upTo = function* () {
    for (const event of events) {
      if (Date.parse(event.recordedAt) > limit) return;
      yield event;
    }
  };
  return fold(initialState(scope.namespace, scope.environment), upTo());
};

type Flag = {
  rollout: number;
  enabled: boolean;
  variants?: readonly FlagVariant[];
  definition?: FlagdDefinition;
  position: number;
};

/** One difference between two states; `before`/`after` null when absent on that side. */
export type StateChange =
  | { kind: 'manifest'; before: { position: number } | null; after: { position: number } | null }
  | {
      kind: 'config';
      tenant: string | null;
      key: string;
      before: { value: unknown; position: number } | null;
      after: { value: unknown; position: number } | null;
    }
  | { kind: 'flag'; flag: string; before: Flag | null; after: Flag | null }
  | {
      kind: 'segment';
      segment: string;
      before: { logic: unknown; position: number } | null;
      after: { logic: unknown; position: number } | null;
    }
  | {
      kind: 'override';
      tenant: string;
      flag: string;
      before: { override: 'enabled' | 'disabled'; variant?: string; position: number } | null;
      after: { override: 'enabled' | 'disabled'; variant?: string; position: number } | null;
    }
  | {
      kind: 'secret';
      tenant: string | null;
      name: string;
      /** Version metadata only: secret values never appear in a diff. */
      before: { version: number; deleted: boolean; position: number } | null;
      after: { version: number; deleted: boolean; position: number } | null;
    };

const union = <T>(...sets: Array<Iterable<T> | undefined>): T[] => {
  const all = new Set<T>();
  for (const s of sets) if (s) for (const v of s) all.add(v);
  return [...all];
};
const byScope = (a: string | null, b: string | null) =>
  a === b ? 0 : a === null ? -1 : b === null ? 1 : a < b ? -1 : 1;
const sorted = (keys: string[]) => keys.sort();

const flagView = (f: FlagEntry | undefined): Flag | null =>
  f
    ? {
        rollout: f.rollout,
        enabled: f.enabled,
        ...(f.variants ? { variants: f.variants } : {}),
        ...(f.definition ? { definition: f.definition } : {}),
        position: f.position,
      }
    : null;
const sameFlag = (a: FlagEntry | undefined, b: FlagEntry | undefined) =>
  a === b ||
  (!!a &&
    !!b &&
    a.rollout === b.rollout &&
    a.enabled === b.enabled &&
    jsonEqual(a.variants ?? null, b.variants ?? null) &&
    jsonEqual(a.definition ?? null, b.definition ?? null));

const secretView = (state: NamespaceEnvState, tenant: string | null, name: string) => {
  const entry = state.secrets.get(tenant)?.get(name);
  const last = entry?.versions[entry.versions.length - 1];
  return entry && last
    ? { version: last.version, deleted: entry.deleted, position: entry.position, envelope: last.envelope }
    : null;
};

/**
 * Before and after of an entry whose content (`view` without its position) differs, or
 * undefined when both hold the same content.
 */
const contentChange = <E, V extends { position: number }>(
  before: E | undefined,
  after: E | undefined,
  view: (entry: E) => V,
): { before: V | null; after: V | null } | undefined => {
  const va = before === undefined ? null : view(before);
  const vb = after === undefined ? null : view(after);
  if (va && vb && jsonEqual({ ...va, position: 0 }, { ...vb, position: 0 })) return undefined;
  return { before: va, after: vb };
};

/**
 * What differs from `a` to `b`. Compared by content, not position: a value set back to what it
 * was is no change. Secrets compare by ciphertext and deletion; the diff shows versions only.
 */
export const diffStates = (a: NamespaceEnvState, b: NamespaceEnvState): StateChange[] => {
  const changes: StateChange[] = [];
  if (!jsonEqual(a.manifest, b.manifest)) {
    changes.push({
      kind: 'manifest',
      before: a.manifest ? { position: a.manifestPosition } : null,
      after: b.manifest ? { position: b.manifestPosition } : null,
    });
  }
  const tenants = union<string | null>([null], a.tenantValues.keys(), b.tenantValues.keys()).sort(byScope);
  for (const tenant of tenants) {
    const la = layerOf(a, tenant);
    const lb = layerOf(b, tenant);
    for (const key of sorted(union(la.keys(), lb.keys()))) {
      const change = contentChange(la.get(key), lb.get(key), (v) => ({ value: v.value, position: v.position }));
      if (change) changes.push({ kind: 'config', tenant, key, ...change });
    }
  }
  for (const flag of sorted(union(a.flags.keys(), b.flags.keys()))) {
    const fa = a.flags.get(flag);
    const fb = b.flags.get(flag);
    if (!sameFlag(fa, fb)) changes.push({ kind: 'flag', flag, before: flagView(fa), after: flagView(fb) });
  }
  for (const segment of sorted(union(a.segments.keys(), b.segments.keys()))) {
    const change = contentChange(a.segments.get(segment), b.segments.get(segment), (s) => ({
      logic: s.logic,
      position: s.position,
    }));
    if (change) changes.push({ kind: 'segment', segment, ...change });
  }
  for (const tenant of sorted(union(a.overrides.keys(), b.overrides.keys()))) {
    const oa = a.overrides.get(tenant);
    const ob = b.overrides.get(tenant);
    for (const flag of sorted(union(oa?.keys(), ob?.keys()))) {
      const xa = oa?.get(flag);
      const xb = ob?.get(flag);
      if (xa?.override === xb?.override && xa?.variant === xb?.variant) continue;
      const side = (x: typeof xa) =>
        x
          ? x.variant === undefined
            ? { override: x.override, position: x.position }
            : { override: x.override, variant: x.variant, position: x.position }
          : null;
      changes.push({ kind: 'override', tenant, flag, before: side(xa), after: side(xb) });
    }
  }
  for (const tenant of union(a.secrets.keys(), b.secrets.keys()).sort(byScope)) {
    for (const name of sorted(union(a.secrets.get(tenant)?.keys(), b.secrets.get(tenant)?.keys()))) {
      const sa = secretView(a, tenant, name);
      const sb = secretView(b, tenant, name);
      if (sa && sb && sa.deleted === sb.deleted && jsonEqual(sa.envelope, sb.envelope)) continue;
      const strip = (s: typeof sa) => (s ? { version: s.version, deleted: s.deleted, position: s.position } : null);
      changes.push({ kind: 'secret', tenant, name, before: strip(sa), after: strip(sb) });
    }
  }
  return changes;
};

export interface ResealRequest {
  namespace: string;
  environment: string;
  tenant: string | null;
  name: string;
  envelope: SecretEnvelope;
  fromVersion: number;
  toVersion: number;
}

export interface RevertOptions {
  /** Scopes to revert: tenant ids, `null` for the environment layer (and rollouts). Default: all. */
  tenants?: readonly (string | null)[];
  /** Config keys to revert. Default: all; `[]`: none. */
  keys?: readonly string[];
  /** Flags (rollouts and overrides) to revert. Default: all; `[]`: none. */
  flags?: readonly string[];
  /** Segments to revert. Default: all; `[]`: none. */
  segments?: readonly string[];
  /** Secret names to revert. Default: all; `[]`: none. */
  secrets?: readonly string[];
  actor: string;
  reason?: string | null;
  /** The log position being restored; recorded in each event's metadata. */
  revertTo: number;
  correlationId?: string | null;
  /**
   * Re-encrypts a past version's envelope for its new version number. Needed when the crypto
   * layer binds the version into the AAD; without it the old envelope is re-added unchanged.
   */
  reseal?: (request: ResealRequest) => SecretEnvelope;
}

export interface SkippedRevert {
  kind: 'config' | 'flag' | 'segment' | 'override' | 'secret';
  tenant: string | null;
  key: string;
  reason: string;
}

export interface RevertPlan {
  /** Events per stream, environment stream first, then tenants in order: one append each. */
  streams: Array<{ streamId: string; events: NewEvent[] }>;
  /** Differences the plan leaves alone, with why (immutable keys, values the manifest now rejects). */
  skipped: SkippedRevert[];
}

/**
 * The compensating events that turn `current` into `target` on the chosen scopes, keys, flags and
 * secrets. Values the current manifest rejects and immutable keys are skipped, not forced.
 * A flag that did not exist at the target is set to rollout 0, kill switch off (no event removes a
 * flag), so it then evaluates `disabled` rather than `default`.
 */
export const planRevert = (
  current: NamespaceEnvState,
  target: NamespaceEnvState,
  options: RevertOptions,
): RevertPlan => {
  const { namespace, environment } = current;
  const metadata: EventMetadata = {
    actor: options.actor,
    reason: options.reason ?? null,
    source: 'revert',
    revertTo: options.revertTo,
    ...(options.correlationId ? { correlationId: options.correlationId } : {}),
  };
  const inScope = (tenant: string | null) => !options.tenants || options.tenants.includes(tenant);
  const wanted = (list: readonly string[] | undefined, name: string) => !list || list.includes(name);
  const byStream = new Map<string, NewEvent[]>();
  const emit = (tenant: string | null, event: NewEvent) => {
    const id = streamIds.scope(namespace, environment, tenant);
    const list = byStream.get(id);
    if (list) list.push(event);
    else byStream.set(id, [event]);
  };
  const skipped: SkippedRevert[] = [];
  const manifest = current.manifest;
  const scope = { namespace, environment };

  const tenants = union<string | null>(
    [null],
    current.tenantValues.keys(),
    target.tenantValues.keys(),
    current.overrides.keys(),
    target.overrides.keys(),
    current.secrets.keys(),
    target.secrets.keys(),
  )
    .sort(byScope)
    .filter(inScope);

  for (const tenant of tenants) {
    // Config values.
    const now = layerOf(current, tenant);
    const then = layerOf(target, tenant);
    for (const key of sorted(union(now.keys(), then.keys()))) {
      if (!wanted(options.keys, key)) continue;
      const a = now.get(key);
      const b = then.get(key);
      if (a && b && jsonEqual(a.value, b.value)) continue;
      if (!a && !b) continue;
      if (a && keySchema(manifest, key)?.mutable === false) {
        skipped.push({ kind: 'config', tenant, key, reason: 'immutable key: it cannot change once set' });
        continue;
      }
      if (b) {
        const valid = validateValue(manifest, key, b.value);
        if (!valid.ok) {
          skipped.push({ kind: 'config', tenant, key, reason: valid.error.message });
          continue;
        }
        emit(tenant, newEvent('ConfigValueSet', { ...scope, tenant, key, value: b.value }, metadata));
      } else emit(tenant, newEvent('ConfigValueUnset', { ...scope, tenant, key }, metadata));
    }

    // Flags: rollouts live in the environment scope, overrides in the tenant's.
    if (tenant === null) {
      // Segments set before the flags that may use them, deleted after them.
      const segmentNames = sorted(union(current.segments.keys(), target.segments.keys())).filter((n) =>
        wanted(options.segments, n),
      );
      const deletions: NewEvent[] = [];
      for (const segment of segmentNames) {
        const a = current.segments.get(segment);
        const b = target.segments.get(segment);
        if (a && b && jsonEqual(a.logic, b.logic)) continue;
        if (b) emit(null, newEvent('SegmentSet', { ...scope, segment, logic: b.logic }, metadata));
        else deletions.push(newEvent('SegmentDeleted', { ...scope, segment }, metadata));
      }
      for (const flag of sorted(union(current.flags.keys(), target.flags.keys()))) {
        if (!wanted(options.flags, flag)) continue;
        const a = current.flags.get(flag);
        const b = target.flags.get(flag);
        if (sameFlag(a, b)) continue;
        if (!manifest || !Object.hasOwn(manifest.flags, flag)) {
          skipped.push({ kind: 'flag', tenant, key: flag, reason: 'flag no longer declared in the manifest' });
          continue;
        }
        if (b?.definition) {
          emit(null, newEvent('FlagDefinitionSet', { ...scope, flag, definition: b.definition }, metadata));
          continue;
        }
        const data = { ...scope, flag, rollout: b?.rollout ?? 0, enabled: b?.enabled ?? false };
        emit(
          null,
          newEvent('FlagRolloutChanged', b?.variants ? { ...data, variants: b.variants.slice() } : data, metadata),
        );
      }
      for (const deletion of deletions) emit(null, deletion);
    } else {
      const now = current.overrides.get(tenant);
      const then = target.overrides.get(tenant);
      for (const flag of sorted(union(now?.keys(), then?.keys()))) {
        if (!wanted(options.flags, flag)) continue;
        const b = then?.get(flag)?.override ?? null;
        const variant = b === null ? undefined : then?.get(flag)?.variant;
        if ((now?.get(flag)?.override ?? null) === b && now?.get(flag)?.variant === variant) continue;
        if (b !== null && (!manifest || !Object.hasOwn(manifest.flags, flag))) {
          skipped.push({ kind: 'override', tenant, key: flag, reason: 'flag no longer declared in the manifest' });
          continue;
        }
        const data = { ...scope, tenant, flag, override: b };
        emit(tenant, newEvent('FlagOverrideSet', variant === undefined ? data : { ...data, variant }, metadata));
      }
    }

    // Secrets: re-add the target's version as a new version; never rewrite history.
    for (const name of sorted(union(current.secrets.get(tenant)?.keys(), target.secrets.get(tenant)?.keys()))) {
      if (!wanted(options.secrets, name)) continue;
      const a = currentSecretVersion(current, tenant, name);
      const b = currentSecretVersion(target, tenant, name);
      if (a === b || (a && b && jsonEqual(a.envelope, b.envelope))) continue;
      if (!b) {
        emit(tenant, newEvent('SecretDeleted', { ...scope, tenant, name }, metadata));
        continue;
      }
      if (!manifest || !Object.hasOwn(manifest.secrets, name)) {
        skipped.push({ kind: 'secret', tenant, key: name, reason: 'secret no longer declared in the manifest' });
        continue;
      }
      const version = latestSecretVersionNumber(current, tenant, name) + 1;
      const envelope = options.reseal
        ? options.reseal({ ...scope, tenant, name, envelope: b.envelope, fromVersion: b.version, toVersion: version })
        : b.envelope;
      emit(
        tenant,
        newEvent(
          'SecretVersionAdded',
          { ...scope, tenant, name, version, envelope, previousReadableUntil: null },
          metadata,
        ),
      );
    }
  }

  return { streams: [...byStream].map(([streamId, events]) => ({ streamId, events })), skipped };
};
