import { currentSecretVersion, tenantsSeen, type FlagEntry, type Layer, type NamespaceEnvState } from '@strata/core';
import { CliError } from './cli-error.js';
import { secretKeys, type ManifestLike } from './environment-state.js';
import { yaml } from './yaml.js';

/**
 * Config as code: one YAML (or JSON) document per environment, written by `export`, compared
 * with the store by `plan` and converged by `apply`. Secrets only ever appear as references
 * (`{secretRef, version}`), never as values, and a file that carries what looks like a secret's
 * plaintext is refused before anything is sent anywhere.
 *
 * Scope of what a file manages: every config value and tenant override of the environment (one
 * absent from the file is unset by `apply`), every tenant flag override (absent: cleared), and the
 * environment flags it lists (flags it does not list are left alone: a rollout has no "unset").
 * Secret references are checked, not applied: secrets change with `strata secrets`.
 */

export interface SecretRef {
  secretRef: string;
  version: number;
}

/** A config key the manifest marks `secret: true`: the value stays in the store. */
export interface ValueRef {
  secretRef: string;
  position: number;
}

export interface FlagSpec {
  rollout: number;
  enabled: boolean;
}

export interface TenantSection {
  config?: Record<string, unknown>;
  flags?: Record<string, 'enabled' | 'disabled'>;
  secrets?: Record<string, SecretRef>;
}

export interface ConfigDocument {
  namespace: string;
  environment: string;
  /** The log position the export reflects; informational. */
  position?: number;
  config?: Record<string, unknown>;
  flags?: Record<string, FlagSpec>;
  secrets?: Record<string, SecretRef>;
  tenants?: Record<string, TenantSection>;
}

export const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
export const isRef = (v: unknown): v is { secretRef: string } => isMap(v) && typeof v['secretRef'] === 'string';

/** Parses JSON or YAML text (JSON is YAML, but JSON errors read better from JSON.parse). */
export const parseDocumentText = (text: string, path: string): unknown => {
  try {
    return /^\s*[{[]/.test(text) ? JSON.parse(text) : yaml().parse(text);
  } catch (error) {
    throw new CliError(`${path}: not valid JSON or YAML (${(error as Error).message.split('\n')[0]})`);
  }
};

/** The environment as a document: what `export` writes and what `plan` reads back as "no drift". */
export const exportDocument = (state: NamespaceEnvState, manifest: ManifestLike | null): ConfigDocument => {
  const secret = secretKeys(manifest);
  const config = (layer: Layer | undefined): Record<string, unknown> =>
    Object.fromEntries(
      [...(layer ?? [])]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, entry]) => [
          key,
          secret.has(key) ? ({ secretRef: key, position: entry.position } satisfies ValueRef) : entry.value,
        ]),
    );
  const secrets = (tenant: string | null): Record<string, SecretRef> =>
    Object.fromEntries(
      [...(state.secrets.get(tenant)?.keys() ?? [])]
        .sort((a, b) => a.localeCompare(b))
        .flatMap((name) => {
          const version = currentSecretVersion(state, tenant, name)?.version;
          return version === undefined ? [] : [[name, { secretRef: name, version }]];
        }),
    );
  const doc: ConfigDocument = { namespace: state.namespace, environment: state.environment, position: state.position };
  if (state.environmentValues.size) doc.config = config(state.environmentValues);
  const rollouts = [...state.flags].filter(([flag]) => rolloutFlag(state, flag));
  if (rollouts.length) {
    doc.flags = Object.fromEntries(
      rollouts
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([flag, f]) => [flag, { rollout: f.rollout, enabled: f.enabled }]),
    );
  }
  const own = secrets(null);
  if (Object.keys(own).length) doc.secrets = own;
  const tenants: Record<string, TenantSection> = {};
  for (const tenant of tenantsSeen(state).sort((a, b) => a.localeCompare(b))) {
    const section: TenantSection = {};
    const values = state.tenantValues.get(tenant);
    if (values?.size) section.config = config(values);
    const overrides = state.overrides.get(tenant);
    if (overrides?.size) {
      section.flags = Object.fromEntries(
        [...overrides].sort(([a], [b]) => a.localeCompare(b)).map(([f, o]) => [f, o.override]),
      );
    }
    const tenantSecrets = secrets(tenant);
    if (Object.keys(tenantSecrets).length) section.secrets = tenantSecrets;
    if (Object.keys(section).length) tenants[tenant] = section;
  }
  if (Object.keys(tenants).length) doc.tenants = tenants;
  return doc;
};

/**
 * A flag as config as code manages it: the `{rollout, enabled}` shorthand. Flags with a flagd
 * definition change with `strata flags set --definition`, so documents leave them out.
 */
export const rolloutFlag = (state: NamespaceEnvState, flag: string): FlagEntry | undefined => {
  const entry = state.flags.get(flag);
  return entry?.definition === undefined ? entry : undefined;
};

export const documentToYaml = (doc: ConfigDocument): string =>
  `# strata export: ${doc.namespace}/${doc.environment} at log position ${doc.position ?? '?'}\n` +
  `# Secrets appear as references only. Edit, then: strata plan <file>; strata apply <file>\n` +
  yaml().stringify(doc, { lineWidth: 0 });
