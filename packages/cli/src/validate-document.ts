import { CliError } from './cli-error.js';
import { isMap, isRef, type ConfigDocument } from './config-document.js';
import { secretKeys, type ManifestLike } from './environment-state.js';

/**
 * The offline checks of a config document, before anything is sent anywhere: its shape, and
 * that it carries no secret plaintext.
 */

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
    throw new CliError(
      `${path}: expected a map with namespace, environment, config, flags, segments, secrets, tenants`,
    );
  const known = new Set([
    'namespace',
    'environment',
    'position',
    'config',
    'flags',
    'segments',
    'secrets',
    'tenants',
    'manifest',
  ]);
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
    if (!isMap(flags)) problems.push('flags: expected a map of flag: {rollout, enabled} or a flagd definition');
    else for (const [flag, spec] of Object.entries(flags)) flagProblems(spec, `flags.${flag}`, problems);
  }
  const segments = input['segments'];
  if (segments !== undefined && !isMap(segments)) problems.push('segments: expected a map of segment: targeting rule');
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
          problems.push(`${where}flags: expected a map of flag: enabled|disabled|{variant}`);
        else if (isMap(overrides)) {
          for (const [flag, o] of Object.entries(overrides)) {
            const pinned = isMap(o) && Object.keys(o).length === 1 && typeof o['variant'] === 'string';
            if (o !== 'enabled' && o !== 'disabled' && !pinned)
              problems.push(`${where}flags.${flag}: expected enabled, disabled or {variant: name}`);
          }
        }
      }
    }
  }
  if (problems.length > 0) throw new CliError(`${path}: ${problems.join('; ')}`);
  return { ...(input as object), namespace, environment } as ConfigDocument;
};

/**
 * A flag's shape: the shorthand is checked here; a flagd definition (it has `state`) only for
 * its outline, since the API checks its meaning and names the path of every problem.
 */
const flagProblems = (spec: unknown, where: string, problems: string[]): void => {
  if (!isMap(spec)) {
    problems.push(`${where}: expected {rollout, enabled} or a flagd definition`);
    return;
  }
  if (Object.hasOwn(spec, 'state')) {
    if (!isMap(spec['variants'])) problems.push(`${where}.variants: a flagd definition needs a map of variants`);
    return;
  }
  const rollout = spec['rollout'];
  if (!Number.isInteger(rollout) || (rollout as number) < 0 || (rollout as number) > 100)
    problems.push(`${where}.rollout: expected 0-100`);
  if (typeof spec['enabled'] !== 'boolean') problems.push(`${where}.enabled: expected true or false`);
  const variants = spec['variants'];
  if (
    variants !== undefined &&
    (!Array.isArray(variants) || !variants.every((v) => isMap(v) && Number.isInteger(v['weight'])))
  )
    problems.push(`${where}.variants: expected a list of {value, weight}`);
};
