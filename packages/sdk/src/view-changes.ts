import {
  definitionRefs,
  evaluateFlagRule,
  jsonEqual,
  resolveKey,
  type EnvVarLayer,
  type FlagEntry,
} from '@strata/core';
import type { ChangeEvent } from './client-driver.js';
import type { LocalView } from './local-view.js';

/**
 * What listeners are told: the driver captures the keys and flags a change touches before and
 * after applying it, and reports those whose answer (or what it is based on) differs.
 */

/** What a capture needs besides the view: the env var layer and the (memoised) buckets. */
export interface CaptureContext {
  readonly envVars: EnvVarLayer | undefined;
  bucketOf(tenant: string, flag: string): number;
}

interface Captured {
  value: unknown;
  changedAt?: string;
  basis?: unknown;
}

export type Capture = Map<string, Captured>;

/** The answers of `keys` and `flags` at one scope (`tenant: null`: the environment's). */
export const captureScope = (
  view: LocalView,
  tenant: string | null,
  keys: readonly string[],
  flags: readonly string[],
  ctx: CaptureContext,
): Capture => {
  const values: Capture = new Map();
  for (const key of keys) {
    const r = resolveKey(view, tenant, key, { envVars: ctx.envVars });
    const layer = tenant === null ? view.environmentValues.get(key) : view.tenantValues.get(tenant)?.get(key);
    values.set(`k:${key}`, { value: r?.value, changedAt: layer?.changedAt });
  }
  for (const flag of flags) {
    if (tenant === null) {
      const entry = view.flags.get(flag);
      values.set(`f:${flag}`, {
        value: entry
          ? { enabled: entry.enabled, rollout: entry.rollout, variants: entry.variants, definition: entry.definition }
          : undefined,
        changedAt: entry?.changedAt,
        basis: segmentsOf(entry, view),
      });
    } else {
      const override = view.overrides.get(tenant)?.get(flag);
      const entry = view.flags.get(flag);
      const evaluation = evaluateFlagRule(
        flag,
        tenant,
        entry,
        override,
        { enabled: view.manifest?.flags[flag]?.default === true },
        ctx.bucketOf(tenant, flag),
        view.segments,
      );
      // A pinned variant changing (red → blue) keeps `enabled`, but is a change of the flag.
      values.set(`f:${flag}`, { value: evaluation.enabled, changedAt: override?.changedAt, basis: override?.variant });
    }
  }
  return values;
};

/** The logic of the segments a definition references: part of what the flag answers. */
const segmentsOf = (entry: FlagEntry | undefined, view: LocalView): Record<string, unknown> | undefined => {
  if (!entry?.definition) return undefined;
  const refs = [...definitionRefs(entry.definition, view.segments)].sort();
  return refs.length ? Object.fromEntries(refs.map((r) => [r, view.segments.get(r)?.logic ?? null])) : undefined;
};

/** Flags with a flagd definition: a changed segment may change any of them. */
export const definedFlags = (view: LocalView): string[] =>
  [...view.flags].filter(([, entry]) => entry.definition !== undefined).map(([flag]) => flag);

/** One event per captured key or flag whose answer or basis differs. */
export const diffCaptures = (
  before: Capture,
  after: Capture,
  tenant: string | null,
  position: number,
): ChangeEvent[] => {
  const events: ChangeEvent[] = [];
  const now = Date.now();
  for (const [id, next] of after) {
    const previous = before.get(id)?.value;
    if (jsonEqual(previous, next.value) && jsonEqual(before.get(id)?.basis, next.basis)) continue;
    const event: ChangeEvent = {
      kind: id[0] === 'k' ? 'key' : 'flag',
      key: id.slice(2),
      tenant,
      value: next.value,
      previous,
      position,
    };
    if (next.changedAt) event.latencyMs = now - Date.parse(next.changedAt);
    events.push(event);
  }
  return events;
};

/** Everything a reload changed, scope by scope. */
export const diffViews = (
  previous: LocalView,
  next: LocalView,
  position: number,
  ctx: CaptureContext,
): ChangeEvent[] => {
  const union = (...maps: (ReadonlyMap<string, unknown> | undefined)[]) => [
    ...new Set(maps.flatMap((m) => (m ? [...m.keys()] : []))),
  ];
  const keys = union(
    previous.environmentValues,
    next.environmentValues,
    new Map(Object.entries(previous.manifest?.keys ?? {})),
    new Map(Object.entries(next.manifest?.keys ?? {})),
  );
  const flags = union(previous.flags, next.flags);
  const events = diffCaptures(
    captureScope(previous, null, keys, flags, ctx),
    captureScope(next, null, keys, flags, ctx),
    null,
    position,
  );
  for (const tenant of union(previous.tenantValues, next.tenantValues, previous.overrides, next.overrides)) {
    const tKeys = union(previous.tenantValues.get(tenant), next.tenantValues.get(tenant));
    const tFlags = union(previous.overrides.get(tenant), next.overrides.get(tenant));
    events.push(
      ...diffCaptures(
        captureScope(previous, tenant, tKeys, tFlags, ctx),
        captureScope(next, tenant, tKeys, tFlags, ctx),
        tenant,
        position,
      ),
    );
  }
  return events;
};
