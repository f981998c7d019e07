import { yaml } from './yaml.js';
import { CliError } from './cli-error.js';
import {
  envStreamId,
  secretKeys,
  tenantStreamId,
  type EnvironmentState,
  type FlagEntry,
  type LayerState,
  type ManifestLike,
} from './environment-state.js';
import { formatValue, type Colors } from './output.js';

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

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isRef = (v: unknown): v is { secretRef: string } => isMap(v) && typeof v['secretRef'] === 'string';

/** Parses JSON or YAML text (JSON is YAML, but JSON errors read better from JSON.parse). */
export const parseDocumentText = (text: string, path: string): unknown => {
  try {
    return /^\s*[{[]/.test(text) ? JSON.parse(text) : yaml().parse(text);
  } catch (error) {
    throw new CliError(`${path}: not valid JSON or YAML (${(error as Error).message.split('\n')[0]})`);
  }
};

/**
 * Everything that looks like secret plaintext: any `secrets:` entry that is not a reference, and
 * any value for a key the manifest (the file's own or the store's) marks `secret: true`.
 */
export const plaintextProblems = (doc: unknown, manifest: ManifestLike | null | undefined): string[] => {
  if (!isMap(doc)) return [];
  const problems: string[] = [];
  const secret = secretKeys(manifest);
  for (const k of secretKeys(isMap(doc['manifest']) ? (doc['manifest'] as ManifestLike) : undefined)) secret.add(k);
  const checkLayer = (layer: unknown, where: string) => {
    if (!isMap(layer)) return;
    const secrets = layer['secrets'];
    if (isMap(secrets)) {
      for (const [name, entry] of Object.entries(secrets)) {
        if (!isRef(entry) || Object.keys(entry).some((k) => k !== 'secretRef' && k !== 'version')) {
          problems.push(
            `${where}secrets.${name} holds a literal value; secrets may only appear as {secretRef: ${name}, version: n}`,
          );
        }
      }
    }
    const config = layer['config'];
    if (isMap(config)) {
      for (const [key, value] of Object.entries(config)) {
        if (secret.has(key) && !isRef(value)) {
          problems.push(
            `${where}config.${key} is marked secret: true in the manifest but the file holds a literal value`,
          );
        }
      }
    }
  };
  checkLayer(doc, '');
  if (isMap(doc['tenants']))
    for (const [tenant, section] of Object.entries(doc['tenants'])) checkLayer(section, `tenants.${tenant}.`);
  return problems;
};

/** Checks the document's shape; returns it typed, or throws one error listing every problem. */
export const validateDocument = (
  input: unknown,
  path: string,
  scope: { namespace?: string | undefined; env?: string | undefined },
): ConfigDocument => {
  const problems: string[] = [];
  if (!isMap(input))
    throw new CliError(`${path}: expected a map with namespace, environment, config, flags, secrets, tenants`);
  const known = new Set(['namespace', 'environment', 'position', 'config', 'flags', 'secrets', 'tenants', 'manifest']);
  for (const k of Object.keys(input)) if (!known.has(k)) problems.push(`${k}: unknown section`);
  const namespace = input['namespace'] ?? scope.namespace;
  const environment = input['environment'] ?? scope.env;
  if (typeof namespace !== 'string') problems.push('namespace: missing (put it in the file or pass --namespace)');
  if (typeof environment !== 'string') problems.push('environment: missing (put it in the file or pass --env)');
  if (scope.namespace && typeof input['namespace'] === 'string' && input['namespace'] !== scope.namespace) {
    problems.push(`namespace: the file is for ${input['namespace']}, not ${scope.namespace}`);
  }
  if (scope.env && typeof input['environment'] === 'string' && input['environment'] !== scope.env) {
    problems.push(`environment: the file is for ${input['environment']}, not ${scope.env}`);
  }
  const checkSecrets = (secrets: unknown, where: string) => {
    if (secrets === undefined) return;
    if (!isMap(secrets)) return problems.push(`${where}secrets: expected a map`);
    for (const [name, ref] of Object.entries(secrets)) {
      if (!isRef(ref)) continue; // reported by plaintextProblems
      if (ref.secretRef !== name)
        problems.push(`${where}secrets.${name}: secretRef ${ref.secretRef} must name the entry itself`);
      const version = (ref as Record<string, unknown>)['version'];
      if (!Number.isInteger(version) || (version as number) < 1)
        problems.push(`${where}secrets.${name}: version must be a positive integer`);
    }
    return undefined;
  };
  const checkConfig = (config: unknown, where: string) => {
    if (config !== undefined && !isMap(config)) problems.push(`${where}config: expected a map of key: value`);
    if (!isMap(config)) return;
    for (const [key, value] of Object.entries(config)) {
      if (value === null) problems.push(`${where}config.${key}: null is not a value; leave the key out to unset it`);
      if (isRef(value) && !Number.isInteger((value as Record<string, unknown>)['position'])) {
        problems.push(`${where}config.${key}: a reference to a stored value needs its position`);
      }
    }
  };
  checkConfig(input['config'], '');
  checkSecrets(input['secrets'], '');
  const flags = input['flags'];
  if (flags !== undefined) {
    if (!isMap(flags)) problems.push('flags: expected a map of flag: {rollout, enabled}');
    else {
      for (const [flag, spec] of Object.entries(flags)) {
        const rollout = isMap(spec) ? spec['rollout'] : undefined;
        const enabled = isMap(spec) ? spec['enabled'] : undefined;
        if (!Number.isInteger(rollout) || (rollout as number) < 0 || (rollout as number) > 100)
          problems.push(`flags.${flag}.rollout: expected 0-100`);
        if (typeof enabled !== 'boolean') problems.push(`flags.${flag}.enabled: expected true or false`);
      }
    }
  }
  const tenants = input['tenants'];
  if (tenants !== undefined) {
    if (!isMap(tenants)) problems.push('tenants: expected a map of tenant: {config, flags, secrets}');
    else {
      for (const [tenant, section] of Object.entries(tenants)) {
        const where = `tenants.${tenant}.`;
        if (!isMap(section)) {
          problems.push(`tenants.${tenant}: expected a map`);
          continue;
        }
        for (const k of Object.keys(section))
          if (!['config', 'flags', 'secrets'].includes(k)) problems.push(`${where}${k}: unknown section`);
        checkConfig(section['config'], where);
        checkSecrets(section['secrets'], where);
        const overrides = section['flags'];
        if (overrides !== undefined && !isMap(overrides))
          problems.push(`${where}flags: expected a map of flag: enabled|disabled`);
        else if (isMap(overrides)) {
          for (const [flag, o] of Object.entries(overrides)) {
            if (o !== 'enabled' && o !== 'disabled')
              problems.push(`${where}flags.${flag}: expected enabled or disabled`);
          }
        }
      }
    }
  }
  if (problems.length > 0) throw new CliError(`${path}: ${problems.join('; ')}`);
  return { ...(input as object), namespace, environment } as ConfigDocument;
};

/** The environment as a document: what `export` writes and what `plan` reads back as "no drift". */
export const exportDocument = (state: EnvironmentState, manifest: ManifestLike | null): ConfigDocument => {
  const secret = secretKeys(manifest);
  const config = (layer: LayerState): Record<string, unknown> =>
    Object.fromEntries(
      [...layer.config.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, entry]) => [
          key,
          secret.has(key) ? ({ secretRef: key, position: entry.position } satisfies ValueRef) : entry.value,
        ]),
    );
  const secrets = (layer: LayerState): Record<string, SecretRef> =>
    Object.fromEntries(
      [...layer.secrets.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, s]) => [name, { secretRef: name, version: s.version }]),
    );
  const doc: ConfigDocument = { namespace: state.namespace, environment: state.env, position: state.position };
  if (state.config.size) doc.config = config(state);
  if (state.flags.size) {
    doc.flags = Object.fromEntries(
      [...state.flags.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([flag, f]) => [flag, { rollout: f.rollout, enabled: f.enabled }]),
    );
  }
  if (state.secrets.size) doc.secrets = secrets(state);
  const tenants: Record<string, TenantSection> = {};
  for (const [tenant, t] of [...state.tenants.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const section: TenantSection = {};
    if (t.config.size) section.config = config(t);
    if (t.flags.size) {
      section.flags = Object.fromEntries(
        [...t.flags.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([f, o]) => [f, o.override]),
      );
    }
    if (t.secrets.size) section.secrets = secrets(t);
    if (Object.keys(section).length) tenants[tenant] = section;
  }
  if (Object.keys(tenants).length) doc.tenants = tenants;
  return doc;
};

export const documentToYaml = (doc: ConfigDocument): string =>
  `# strata export: ${doc.namespace}/${doc.environment} at log position ${doc.position ?? '?'}\n` +
  `# Secrets appear as references only. Edit, then: strata plan <file>; strata apply <file>\n` +
  yaml().stringify(doc, { lineWidth: 0 });

// --- plan ------------------------------------------------------------------------------------

export type Change =
  | { kind: 'set'; tenant: string | null; key: string; before: unknown; after: unknown }
  | { kind: 'unset'; tenant: string | null; key: string; before: unknown }
  | { kind: 'flag'; flag: string; before: FlagSpec | null; after: FlagSpec }
  | {
      kind: 'override';
      tenant: string;
      flag: string;
      before: 'enabled' | 'disabled' | null;
      after: 'enabled' | 'disabled' | null;
    }
  /** Drift that `apply` cannot fix: a secret version or a secret-marked value changed in the store. */
  | { kind: 'secret'; tenant: string | null; name: string; file: string; store: string };

export type PlannedChange = Change & {
  /** The stream the write goes to, and the version it must still have (`If-Match`). */
  streamId: string;
};

export interface Plan {
  namespace: string;
  environment: string;
  /** The store position the plan was computed against. */
  position: number;
  changes: PlannedChange[];
}

const jsonEqual = (a: unknown, b: unknown): boolean => {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ak = Object.keys(a);
  const bk = Object.keys(b);
  return (
    ak.length === bk.length &&
    ak.every(
      (k) => Object.hasOwn(b, k) && jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
    )
  );
};

const sameFlag = (a: FlagEntry | undefined, b: FlagSpec): boolean =>
  a !== undefined && a.rollout === b.rollout && a.enabled === b.enabled;

export const planChanges = (doc: ConfigDocument, state: EnvironmentState): Plan => {
  const changes: PlannedChange[] = [];
  const { namespace, env } = state;
  const layerChanges = (
    desired: TenantSection | ConfigDocument,
    layer: LayerState | undefined,
    tenant: string | null,
  ) => {
    const streamId = tenant === null ? envStreamId(namespace, env) : tenantStreamId(namespace, env, tenant);
    const want = desired.config ?? {};
    const have = layer?.config ?? new Map();
    for (const key of [...new Set([...Object.keys(want), ...have.keys()])].sort()) {
      const current = have.get(key);
      if (!Object.hasOwn(want, key)) {
        changes.push({ kind: 'unset', tenant, key, before: current?.value, streamId });
        continue;
      }
      const value = want[key];
      if (isRef(value)) {
        const position = (value as unknown as ValueRef).position;
        if (current?.position !== position) {
          changes.push({
            kind: 'secret',
            tenant,
            name: key,
            file: `value of position ${position}`,
            store: current ? `value of position ${current.position}` : 'no value',
            streamId,
          });
        }
      } else if (!current || !jsonEqual(current.value, value)) {
        changes.push({ kind: 'set', tenant, key, before: current?.value, after: value, streamId });
      }
    }
    for (const [name, ref] of Object.entries(desired.secrets ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
      const current = layer?.secrets.get(name);
      if (current?.version !== ref.version) {
        changes.push({
          kind: 'secret',
          tenant,
          name,
          file: `version ${ref.version}`,
          store: current ? `version ${current.version}` : 'no secret',
          streamId,
        });
      }
    }
  };
  layerChanges(doc, state, null);
  for (const [flag, spec] of Object.entries(doc.flags ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    const current = state.flags.get(flag);
    if (!sameFlag(current, spec)) {
      changes.push({
        kind: 'flag',
        flag,
        before: current ? { rollout: current.rollout, enabled: current.enabled } : null,
        after: { rollout: spec.rollout, enabled: spec.enabled },
        streamId: envStreamId(namespace, env),
      });
    }
  }
  const tenants = new Set([...Object.keys(doc.tenants ?? {}), ...state.tenants.keys()]);
  for (const tenant of [...tenants].sort()) {
    const desired = doc.tenants?.[tenant] ?? {};
    const current = state.tenants.get(tenant);
    layerChanges(desired, current, tenant);
    const want = desired.flags ?? {};
    const have = current?.flags ?? new Map();
    for (const flag of [...new Set([...Object.keys(want), ...have.keys()])].sort()) {
      const before = have.get(flag)?.override ?? null;
      const after = want[flag] ?? null;
      if (before !== after)
        changes.push({
          kind: 'override',
          tenant,
          flag,
          before,
          after,
          streamId: tenantStreamId(namespace, env, tenant),
        });
    }
  }
  return { namespace, environment: env, position: state.position, changes };
};

/** Changes `apply` cannot make (secrets): apply refuses the whole file while there are any. */
export const unappliable = (plan: Plan): PlannedChange[] => plan.changes.filter((c) => c.kind === 'secret');

const where = (tenant: string | null) => (tenant === null ? '' : `tenants.${tenant}.`);

export const describeChange = (change: Change, colors: Colors): string => {
  switch (change.kind) {
    case 'set':
      return change.before === undefined
        ? `${colors.green('+')} ${where(change.tenant)}config.${change.key} = ${formatValue(change.after)}`
        : `${colors.yellow('~')} ${where(change.tenant)}config.${change.key}: ${formatValue(change.before)} → ${formatValue(change.after)}`;
    case 'unset':
      return `${colors.red('-')} ${where(change.tenant)}config.${change.key} (was ${formatValue(change.before)})`;
    case 'flag':
      return `${colors.yellow('~')} flags.${change.flag}: ${change.before ? flagText(change.before) : 'unset'} → ${flagText(change.after)}`;
    case 'override':
      return `${change.after === null ? colors.red('-') : colors.yellow('~')} ${where(change.tenant)}flags.${change.flag}: ${change.before ?? 'no override'} → ${change.after ?? 'no override'}`;
    case 'secret':
      return `${colors.red('!')} ${where(change.tenant)}${change.name}: file has ${change.file}, store has ${change.store} (secrets change with strata secrets, not apply)`;
  }
};

const flagText = (f: FlagSpec) => `${f.enabled ? 'on' : 'off'} ${f.rollout}%`;

export const formatPlan = (plan: Plan, colors: Colors): string => {
  const head = `${plan.namespace}/${plan.environment} at position ${plan.position}`;
  if (plan.changes.length === 0) return `${head}: no changes; the store matches the file\n`;
  const lines = plan.changes.map((c) => `  ${describeChange(c, colors)}`);
  return `${head}: ${plan.changes.length} change${plan.changes.length === 1 ? '' : 's'}\n${lines.join('\n')}\n`;
};
