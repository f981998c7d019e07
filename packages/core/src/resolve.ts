import { StrataError } from './errors.js';
import type { ManifestDocument } from './events.js';
import { validateAgainstSchema, type KeySchema } from './key-schema.js';
import { compileManifest, keySchema } from './manifest.js';
import type { NamespaceEnvState } from './scope-state.js';

/**
 * Layered resolution. Precedence, highest first:
 *   1. tenant override        (source `tenant`)
 *   2. local environment var  (source `envVar`; only when the caller passes an `envVarLayer`,
 *                              e.g. an SDK process pinned by its operator; position 0: not in the log)
 *   3. environment value      (source `environment`)
 *   4. manifest default       (source `default`; position = the manifest's)
 * A key with none of these is left out of `values` and listed in `missing`, so a JSON reader never
 * has to tell "no value" from a `null` value.
 */

export type ValueSource = 'tenant' | 'envVar' | 'environment' | 'default';

export interface ResolvedValue {
  value: unknown;
  source: ValueSource;
  /** Log position of the event that set this value (the manifest's for defaults, 0 for env vars). */
  position: number;
  /** Present when the manifest marks the key secret: readers must wrap the value in `Secret`. */
  secret?: true;
}

export interface ResolvedConfig {
  /** The position the state was folded to. */
  position: number;
  values: Record<string, ResolvedValue>;
  /** Declared keys with no value in any layer and no default. */
  missing: string[];
}

/** Values from process environment variables, already coerced and validated. */
export interface EnvVarLayer {
  values: ReadonlyMap<string, unknown>;
  /** Invalid variables: reported, never applied. */
  errors: EnvVarError[];
}

export interface EnvVarError {
  variable: string;
  key: string;
  error: StrataError;
}

export interface ResolveOptions {
  envVars?: EnvVarLayer;
}

const resolveWith = (
  state: NamespaceEnvState,
  tenantLayer: ReadonlyMap<string, { value: unknown; position: number }> | undefined,
  key: string,
  schema: KeySchema | undefined,
  envVars: EnvVarLayer | undefined,
): ResolvedValue | undefined => {
  let resolved: ResolvedValue | undefined;
  const own = tenantLayer?.get(key);
  if (own) resolved = { value: own.value, source: 'tenant', position: own.position };
  else if (envVars?.values.has(key)) resolved = { value: envVars.values.get(key), source: 'envVar', position: 0 };
  else {
    const env = state.environmentValues.get(key);
    if (env) resolved = { value: env.value, source: 'environment', position: env.position };
    else if (schema && Object.hasOwn(schema, 'default'))
      resolved = { value: schema.default, source: 'default', position: state.manifestPosition };
  }
  if (resolved && schema?.secret) resolved.secret = true;
  return resolved;
};

/** One key for one tenant (`null`: the environment's own view). Undefined when it has no value. */
export const resolveKey = (
  state: NamespaceEnvState,
  tenant: string | null,
  key: string,
  options?: ResolveOptions,
): ResolvedValue | undefined =>
  resolveWith(
    state,
    tenant === null ? undefined : state.tenantValues.get(tenant),
    key,
    keySchema(state.manifest, key),
    options?.envVars,
  );

/** Every key for one tenant (`null`: the environment's own view). */
export const resolveConfig = (
  state: NamespaceEnvState,
  tenant: string | null,
  options: ResolveOptions = {},
): ResolvedConfig => {
  const tenantLayer = tenant === null ? undefined : state.tenantValues.get(tenant);
  const compiled = state.manifest ? compileManifest(state.manifest) : undefined;
  const keys = compiled
    ? compiled.keys
    : [...new Set([...state.environmentValues.keys(), ...(tenantLayer?.keys() ?? [])])].sort();
  const values: Record<string, ResolvedValue> = {};
  const missing: string[] = [];
  for (const key of keys) {
    const resolved = resolveWith(state, tenantLayer, key, compiled?.schemas.get(key), options.envVars);
    if (resolved) values[key] = resolved;
    else missing.push(key);
  }
  return { position: state.position, values, missing };
};

/** `rate_limit.requests_per_minute` → `RATE_LIMIT__REQUESTS_PER_MINUTE` (after the prefix). */
export const envVarName = (key: string, prefix = ''): string => `${prefix}${key.toUpperCase().replaceAll('.', '__')}`;

const coerce = (schema: KeySchema, raw: string): { ok: true; value: unknown } | { ok: false; expected: string } => {
  const text = raw.trim();
  switch (schema.type) {
    case 'string':
      return { ok: true, value: raw };
    case 'integer':
      return /^[-+]?\d+$/.test(text) ? { ok: true, value: Number(text) } : { ok: false, expected: 'an integer' };
    case 'number': {
      const n = Number(text);
      return text !== '' && Number.isFinite(n) ? { ok: true, value: n } : { ok: false, expected: 'a number' };
    }
    case 'boolean': {
      const lower = text.toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(lower)) return { ok: true, value: true };
      if (['false', '0', 'no', 'off'].includes(lower)) return { ok: true, value: false };
      return { ok: false, expected: 'a boolean (true/false/1/0/yes/no/on/off)' };
    }
    case 'object':
    case 'array':
      try {
        return { ok: true, value: JSON.parse(text) as unknown };
      } catch {
        return { ok: false, expected: `JSON ${schema.type}` };
      }
  }
};

/**
 * Reads manifest keys from environment variables (`prefix` + upper-case key, dots as `__`),
 * coerced by the key's type and validated by the manifest. Never throws: invalid variables are
 * returned in `errors` so a service can fail fast with all of them at once.
 */
export const envVarLayer = (
  manifest: ManifestDocument | null,
  processEnv: Readonly<Record<string, string | undefined>>,
  options: { prefix?: string } = {},
): EnvVarLayer => {
  const values = new Map<string, unknown>();
  const errors: EnvVarError[] = [];
  if (!manifest) return { values, errors };
  for (const key of Object.keys(manifest.keys)) {
    const variable = envVarName(key, options.prefix);
    const raw = Object.hasOwn(processEnv, variable) ? processEnv[variable] : undefined;
    if (raw === undefined) continue;
    const schema = keySchema(manifest, key) as KeySchema;
    const coerced = coerce(schema, raw);
    if (!coerced.ok) {
      const received = schema.secret ? '[redacted]' : JSON.stringify(raw);
      errors.push({
        variable,
        key,
        error: new StrataError(
          'VALIDATION_FAILED',
          `${variable} (${key}): expected ${coerced.expected}, received ${received}`,
          {
            key,
            variable,
          },
        ),
      });
      continue;
    }
    const valid = validateAgainstSchema(key, schema, coerced.value);
    if (valid.ok) values.set(key, coerced.value);
    else
      errors.push({
        variable,
        key,
        error: new StrataError('VALIDATION_FAILED', `${variable}: ${valid.error.message}`, valid.error.details),
      });
  }
  return { values, errors };
};
