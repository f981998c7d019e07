import { StrataError } from '@strata/core';

/**
 * An integer variable, or `fallback` when unset or empty; anything else below `min` throws a
 * StrataError naming the variable, so a typo stops the process at start instead of later.
 */
export function envInt(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number;
export function envInt(env: NodeJS.ProcessEnv, name: string, fallback: undefined, min: number): number | undefined;
export function envInt(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number | undefined,
  min: number,
): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new StrataError('BAD_REQUEST', `${name} must be an integer ≥ ${min}, got "${raw}"`, { variable: name });
  }
  return value;
}

/**
 * A comma-separated variable (`fallback` when unset or empty): each item trimmed, passed through
 * `item`, and dropped when that leaves it empty.
 */
export const envList = (
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: string,
  item: (raw: string) => string = (raw) => raw,
): string[] =>
  (env[name] || fallback)
    .split(',')
    .map((raw) => item(raw.trim()))
    .filter(Boolean);
