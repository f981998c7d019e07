import type { ManifestLike } from './environment-state.js';
import { fernetDecrypt, FernetError, type FernetKey } from './fernet.js';

/**
 * The mapping of the seed's legacy store (shared/seeds/000: a `tenant_configs` table of string
 * values under dot-notation keys, plus pydantic settings from a `.env` file) onto one Strata
 * environment, against the namespace's manifest. Pure: rows, manifest and key in; the changes
 * `POST …/import` takes, and every problem, out. The table:
 *
 * | legacy row                                   | Strata                                         |
 * |----------------------------------------------|------------------------------------------------|
 * | `feature.<flag>.rollout_pct` on tenant 0…0   | flag rollout, enabled (≤ 0 → 0 %, ≥ 100 → 100 %) |
 * | `feature.<flag>.override` (enabled/disabled) | the tenant's override                          |
 * | `secret.<name>` (a Fernet token)             | the tenant's secret `<name>`, decrypted        |
 * | any other manifest key                       | the tenant's value, coerced like `_coerce`     |
 * | `.env` `A__B_C=v`                            | environment value `a.b_c`, coerced by type     |
 */

/** The all-zero UUID: the seed keeps rollout percentages on it ("global config"). */
export const globalTenant = '00000000-0000-0000-0000-000000000000';

export interface LegacyRow {
  tenant: string;
  key: string;
  value: string;
}

export type ImportChange =
  | { kind: 'value'; tenant: string | null; key: string; value: unknown }
  | { kind: 'rollout'; flag: string; rollout: number; enabled: boolean }
  | { kind: 'override'; tenant: string; flag: string; override: 'enabled' | 'disabled' }
  | { kind: 'secret'; tenant: string | null; name: string; value: string };

export type ProblemKind = 'unmapped' | 'refused' | 'undecryptable';

/** One row that cannot be imported; never carries the row's value. */
export interface RowProblem {
  /** The tenant id, or null for an `--env-file` line. */
  tenant: string | null;
  /** The legacy key (or the environment variable's name). */
  key: string;
  kind: ProblemKind;
  why: string;
}

export interface ImportPlan {
  changes: ImportChange[];
  /** For each change, the row it came from (same index). */
  origins: Array<{ tenant: string | null; key: string }>;
  problems: RowProblem[];
  /** Unmapped rows left out because of --skip-unmapped. */
  skipped: RowProblem[];
}

export class CoercionError extends Error {
  override readonly name = 'CoercionError';
}

// Python's str.isspace() characters: what int() and float() strip (JavaScript's \s differs).
const pySpace = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const pyStrip = (text: string): string =>
  text.replace(new RegExp(`^[${pySpace}]+`), '').replace(new RegExp(`[${pySpace}]+$`), '');

const isDecimalDigit = (ch: string): boolean => /^\p{Nd}$/u.test(ch);

/**
 * Python reads any Unicode decimal digit (`int('٣') == 3`). Unicode keeps each digit set as ten
 * consecutive code points, 0 to 9, so a digit's value is its distance from the start of its run.
 */
const asciiDigits = (text: string): string =>
  [...text]
    .map((ch) => {
      if (ch >= '0' && ch <= '9') return ch;
      if (!isDecimalDigit(ch)) return ch;
      let cp = ch.codePointAt(0)!;
      let run = 0;
      while (cp > 0 && isDecimalDigit(String.fromCodePoint(cp - 1))) {
        cp--;
        run++;
      }
      return String(run % 10);
    })
    .join('');

const digits = '\\p{Nd}(?:_?\\p{Nd})*';
const intPattern = new RegExp(`^[+-]?${digits}$`, 'u');
const floatPattern = new RegExp(`^[+-]?(?:${digits}(?:\\.(?:${digits})?)?|\\.${digits})(?:[eE][+-]?${digits})?$`, 'u');

/** `int(value)`: whitespace, sign, underscores between digits, any decimal digits; nothing else. */
export const pythonInt = (value: string): number => {
  const text = pyStrip(value);
  if (!intPattern.test(text)) throw new CoercionError('not an integer as int() reads it');
  const n = BigInt(asciiDigits(text).replaceAll('_', ''));
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER))
    throw new CoercionError('an integer beyond ±2^53, which JSON numbers cannot hold exactly');
  return Number(n);
};

/** `float(value)`; inf and nan (and overflows to them) have no JSON form and are refused. */
export const pythonFloat = (value: string): number => {
  const text = pyStrip(value);
  if (/^[+-]?(?:inf|infinity|nan)$/i.test(text)) throw new CoercionError('inf and nan have no JSON form');
  if (!floatPattern.test(text)) throw new CoercionError('not a number as float() reads it');
  const n = Number(asciiDigits(text).replaceAll('_', ''));
  if (!Number.isFinite(n)) throw new CoercionError('beyond the range of a float');
  return n;
};

/** The seed's `_coerce(value, bool)`: `value.lower() in ("true", "1", "yes")`, anything else false. */
export const seedBool = (value: string): boolean => ['true', '1', 'yes'].includes(value.toLowerCase());

/** pydantic's lax boolean words for environment variables; anything else is a validation error. */
const pydanticBool = (value: string): boolean => {
  const word = value.trim().toLowerCase();
  if (['1', 'on', 't', 'true', 'y', 'yes'].includes(word)) return true;
  if (['0', 'off', 'f', 'false', 'n', 'no'].includes(word)) return false;
  throw new CoercionError('not a boolean as pydantic reads it (true/false, 1/0, yes/no, on/off)');
};

const typeOf = (manifest: ManifestLike, key: string): string | undefined => {
  const t = (manifest.keys?.[key] as { type?: unknown } | undefined)?.type;
  return typeof t === 'string' ? t : undefined;
};

/** A string from either layer as the manifest type wants it; `layer` picks the boolean rule. */
export const coerce = (value: string, type: string | undefined, layer: 'tenant' | 'environment'): unknown => {
  switch (type) {
    case 'integer':
      return pythonInt(value);
    case 'number':
      return pythonFloat(value);
    case 'boolean':
      return layer === 'tenant' ? seedBool(value) : pydanticBool(value);
    case 'object':
    case 'array':
      // The seed has no such type; JSON text is the one reading that cannot be ambiguous.
      try {
        return JSON.parse(value);
      } catch {
        throw new CoercionError(`not JSON, which an ${type} key needs`);
      }
    default:
      return value;
  }
};

const has = (map: Record<string, unknown> | undefined, key: string): boolean =>
  map !== undefined && Object.hasOwn(map, key);

/** Maps every row (and `.env` entry) against the manifest; never throws for a bad row. */
export const planTenantConfigImport = (input: {
  rows: readonly LegacyRow[];
  manifest: ManifestLike;
  fernetKey: FernetKey;
  environment?: Readonly<Record<string, string>>;
  skipUnmapped?: boolean;
}): ImportPlan => {
  const { rows, manifest, fernetKey } = input;
  const plan: ImportPlan = { changes: [], origins: [], problems: [], skipped: [] };
  const add = (change: ImportChange, tenant: string | null, key: string) => {
    plan.changes.push(change);
    plan.origins.push({ tenant, key });
  };
  const problem = (tenant: string | null, key: string, kind: ProblemKind, why: string) => {
    const entry = { tenant, key, kind, why };
    if (kind === 'unmapped' && input.skipUnmapped) plan.skipped.push(entry);
    else plan.problems.push(entry);
  };

  for (const [name, raw] of Object.entries(input.environment ?? {})) {
    // pydantic: case-insensitive, `__` nests (RATE_LIMIT__REQUESTS_PER_MINUTE → rate_limit.requests_per_minute).
    const key = name.toLowerCase().split('__').join('.');
    if (!has(manifest.keys, key)) {
      problem(null, name, 'unmapped', `${key} is not a key of the manifest`);
      continue;
    }
    try {
      add({ kind: 'value', tenant: null, key, value: coerce(raw, typeOf(manifest, key), 'environment') }, null, name);
    } catch (error) {
      if (!(error instanceof CoercionError)) throw error;
      problem(null, name, 'refused', `${key} is ${typeOf(manifest, key)}: ${error.message}`);
    }
  }

  for (const { tenant, key, value } of rows) {
    const feature = /^feature\.(.+)\.(rollout_pct|override)$/.exec(key);
    if (feature) {
      const [, flag, what] = feature as unknown as [string, string, string];
      if (!has(manifest.flags, flag)) {
        problem(tenant, key, 'unmapped', `flag ${flag} is not declared in the manifest`);
        continue;
      }
      if (what === 'rollout_pct') {
        if (tenant !== globalTenant) {
          problem(tenant, key, 'unmapped', `the seed reads rollout_pct only on tenant ${globalTenant}`);
          continue;
        }
        try {
          // The seed: ≤ 0 is off for everyone, ≥ 100 on for everyone, else bucket < percentage.
          const pct = pythonInt(value);
          add({ kind: 'rollout', flag, rollout: Math.min(100, Math.max(0, pct)), enabled: true }, tenant, key);
        } catch (error) {
          if (!(error instanceof CoercionError)) throw error;
          problem(tenant, key, 'refused', `the rollout percentage is ${error.message}`);
        }
        continue;
      }
      if (value !== 'enabled' && value !== 'disabled') {
        problem(tenant, key, 'refused', 'an override is "enabled" or "disabled" (the seed ignores anything else)');
        continue;
      }
      add({ kind: 'override', tenant, flag, override: value }, tenant, key);
      continue;
    }
    if (key.startsWith('secret.')) {
      const name = key.slice('secret.'.length);
      if (!has(manifest.secrets, name)) {
        problem(tenant, key, 'unmapped', `secret ${name} is not declared in the manifest`);
        continue;
      }
      let plaintext: string;
      try {
        plaintext = new TextDecoder('utf-8', { fatal: true }).decode(fernetDecrypt(fernetKey, value));
      } catch (error) {
        if (error instanceof FernetError) problem(tenant, key, 'undecryptable', error.message);
        else if (error instanceof TypeError) problem(tenant, key, 'undecryptable', 'the plaintext is not UTF-8');
        else throw error;
        continue;
      }
      add({ kind: 'secret', tenant, name, value: plaintext }, tenant, key);
      continue;
    }
    if (!has(manifest.keys, key)) {
      problem(tenant, key, 'unmapped', 'not a key of the manifest');
      continue;
    }
    try {
      add({ kind: 'value', tenant, key, value: coerce(value, typeOf(manifest, key), 'tenant') }, tenant, key);
    } catch (error) {
      if (!(error instanceof CoercionError)) throw error;
      problem(tenant, key, 'refused', `${typeOf(manifest, key)} key: ${error.message}`);
    }
  }
  return plan;
};
