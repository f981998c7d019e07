import {
  initialState,
  type FlagEntry,
  type NamespaceEnvState,
  type OverrideEntry,
  type ValueEntry,
} from '@strata/core';
import type { ViewTenant } from '@strata/redis-views';

type Mutable<T> = { -readonly [P in keyof T]: T[P] };

/** The Redis driver's copy of a view: core's state, with maps the driver owns and mutates. */
export interface LocalView extends Mutable<NamespaceEnvState> {
  environmentValues: Map<string, ValueEntry>;
  tenantValues: Map<string, Map<string, ValueEntry>>;
  flags: Map<string, FlagEntry>;
  overrides: Map<string, Map<string, OverrideEntry>>;
}

// core builds its state from fresh Maps, so the copy is ours to mutate.
export const emptyLocalView = (namespace: string, environment: string): LocalView =>
  initialState(namespace, environment) as LocalView;

/** Takes `names` from `source` into `target`: set where the source has them, deleted where not. */
export const mergeNames = <T>(
  target: Map<string, T>,
  source: ReadonlyMap<string, T> | null | undefined,
  names: readonly string[],
): void => {
  for (const name of names) {
    const value = source?.get(name);
    if (value === undefined) target.delete(name);
    else target.set(name, value);
  }
};

/** `mergeNames` into the inner map of `id`, which exists only while it holds something. */
export const mergeNestedNames = <T>(
  outer: Map<string, Map<string, T>>,
  id: string,
  source: ReadonlyMap<string, T> | undefined,
  names: readonly string[],
): void => {
  if (names.length === 0) return;
  const inner = outer.get(id) ?? new Map<string, T>();
  mergeNames(inner, source, names);
  if (inner.size > 0) outer.set(id, inner);
  else outer.delete(id);
};

/** Replaces one tenant's layers with what the view holds for it. */
export const setTenant = (view: LocalView, t: ViewTenant): void => {
  if (t.config.size > 0) view.tenantValues.set(t.tenant, t.config);
  else view.tenantValues.delete(t.tenant);
  if (t.overrides.size > 0) view.overrides.set(t.tenant, t.overrides);
  else view.overrides.delete(t.tenant);
};
