import {
  initialState,
  type FlagEntry,
  type ManifestDocument,
  type NamespaceEnvState,
  type OverrideEntry,
  type SecretEntry,
  type SegmentEntry,
  type ValueEntry,
} from '@strata/core';

/**
 * Shapes stored in the view hashes as JSON (README.md documents them for other languages). They are
 * exactly core's scope-state entries, so a view converts to a `NamespaceEnvState` without loss and
 * resolution and flag evaluation are core's own.
 */
export type StoredValue = ValueEntry;
export type StoredFlag = FlagEntry;
export type StoredOverride = OverrideEntry;
export type StoredSecret = SecretEntry;
export type StoredSegment = SegmentEntry;
export interface StoredManifest {
  manifest: ManifestDocument;
  position: number;
  publishedAt: string;
}
export interface StoredShredding {
  keyId: string;
  position: number;
  shreddedAt: string;
}

/** Raw hash contents of one view, as the read scripts return them (field → JSON). */
export interface RawView {
  namespace: string;
  environment: string;
  position: number;
  manifest: string | null;
  env: Map<string, string>;
  flags?: Map<string, string>;
  secrets?: Map<string, string>;
  shredded?: Map<string, string>;
  segments?: Map<string, string>;
  tenants: Map<string, { config: Map<string, string>; overrides: Map<string, string> }>;
}

const parsed = <T>(raw: Map<string, string>): Map<string, T> => {
  const out = new Map<string, T>();
  for (const [field, json] of raw) out.set(field, JSON.parse(json) as T);
  return out;
};

/**
 * A view as core's state, so `resolveConfig`, `evaluateFlag` and the SDK work on it unchanged.
 * `position` and `lastChangePosition` are both the view's position (max of the environment view's
 * and its namespace's), the last change that reached this scope.
 */
export const toScopeState = (view: RawView): NamespaceEnvState => {
  const manifest = view.manifest === null ? null : (JSON.parse(view.manifest) as StoredManifest);
  const tenantValues = new Map<string, ReadonlyMap<string, ValueEntry>>();
  const overrides = new Map<string, ReadonlyMap<string, OverrideEntry>>();
  for (const [tenant, { config, overrides: own }] of view.tenants) {
    if (config.size > 0) tenantValues.set(tenant, parsed<ValueEntry>(config));
    if (own.size > 0) overrides.set(tenant, parsed<OverrideEntry>(own));
  }
  const secrets = new Map<string | null, Map<string, SecretEntry>>();
  for (const [field, json] of view.secrets ?? []) {
    const slash = field.indexOf('/');
    const owner = field.slice(0, slash);
    const tenant = owner === '*' ? null : owner;
    let scope = secrets.get(tenant);
    if (!scope) secrets.set(tenant, (scope = new Map()));
    scope.set(field.slice(slash + 1), JSON.parse(json) as SecretEntry);
  }
  const shreddedTenants = new Map<string, number>();
  for (const [tenant, json] of view.shredded ?? [])
    shreddedTenants.set(tenant, (JSON.parse(json) as StoredShredding).position);
  return {
    ...initialState(view.namespace, view.environment),
    manifest: manifest?.manifest ?? null,
    manifestPosition: manifest?.position ?? 0,
    environmentValues: parsed<ValueEntry>(view.env),
    tenantValues,
    flags: parsed<FlagEntry>(view.flags ?? new Map()),
    segments: parsed<SegmentEntry>(view.segments ?? new Map()),
    overrides,
    secrets,
    shreddedTenants,
    position: view.position,
    lastChangePosition: view.position,
  };
};
