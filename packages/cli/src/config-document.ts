import {
  currentSecretVersion,
  tenantsSeen,
  type FlagdDefinition,
  type FlagEntry,
  type FlagVariant,
  type Layer,
  type NamespaceEnvState,
  type OverrideEntry,
} from '@strata/core';
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
 * environment flags and segments it lists (those it does not list are left alone: a flag has no
 * "unset", and a segment may still be referenced by a flag the file does not list). Flags are
 * exported as they are stored, rollout shorthand or flagd definition, so export → apply is
 * lossless. Secret references are checked, not applied: secrets change with `strata secrets`.
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

/** The rollout shorthand, with its weighted variants when it has some. */
export interface RolloutSpec {
  rollout: number;
  enabled: boolean;
  variants?: FlagVariant[];
}

/** A flag as a document holds it: the shorthand, or a flagd definition (told apart by `state`). */
export type FlagSpec = RolloutSpec | FlagdDefinition;

/** A tenant's override: forced on or off, or pinned to a variant of the flag's definition. */
export type OverrideSpec = 'enabled' | 'disabled' | { variant: string };

export interface TenantSection {
  config?: Record<string, unknown>;
  flags?: Record<string, OverrideSpec>;
  secrets?: Record<string, SecretRef>;
}

export interface ConfigDocument {
  namespace: string;
  environment: string;
  /** The log position the export reflects; informational. */
  position?: number;
  config?: Record<string, unknown>;
  flags?: Record<string, FlagSpec>;
  /** Shared targeting rules (flagd's `$evaluators`), referenced from definitions by `{$ref: name}`. */
  segments?: Record<string, unknown>;
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
  if (state.flags.size) doc.flags = sortedObject([...state.flags].map(([flag, f]) => [flag, flagSpecOf(f)]));
  if (state.segments.size) doc.segments = sortedObject([...state.segments].map(([name, seg]) => [name, seg.logic]));
  const own = secrets(null);
  if (Object.keys(own).length) doc.secrets = own;
  const tenants: Record<string, TenantSection> = {};
  for (const tenant of tenantsSeen(state).sort((a, b) => a.localeCompare(b))) {
    const section: TenantSection = {};
    const values = state.tenantValues.get(tenant);
    if (values?.size) section.config = config(values);
    const overrides = state.overrides.get(tenant);
    if (overrides?.size) {
      section.flags = sortedObject([...overrides].map(([f, o]) => [f, overrideSpecOf(o)]));
    }
    const tenantSecrets = secrets(tenant);
    if (Object.keys(tenantSecrets).length) section.secrets = tenantSecrets;
    if (Object.keys(section).length) tenants[tenant] = section;
  }
  if (Object.keys(tenants).length) doc.tenants = tenants;
  return doc;
};

const sortedObject = <T>(entries: Array<[string, T]>): Record<string, T> =>
  Object.fromEntries(entries.sort(([a], [b]) => a.localeCompare(b)));

export const isDefinition = (spec: FlagSpec): spec is FlagdDefinition => Object.hasOwn(spec, 'state');

/** A stored flag as a document writes it: its definition when it has one, else the shorthand. */
export const flagSpecOf = (entry: FlagEntry): FlagSpec =>
  entry.definition ?? {
    rollout: entry.rollout,
    enabled: entry.enabled,
    ...(entry.variants === undefined ? {} : { variants: [...entry.variants] }),
  };

export const overrideSpecOf = (entry: OverrideEntry): OverrideSpec =>
  entry.variant === undefined ? entry.override : { variant: entry.variant };

export const documentToYaml = (doc: ConfigDocument): string =>
  `# strata export: ${doc.namespace}/${doc.environment} at log position ${doc.position ?? '?'}\n` +
  `# Secrets appear as references only. Edit, then: strata plan <file>; strata apply <file>\n` +
  yaml().stringify(doc, { lineWidth: 0 });
