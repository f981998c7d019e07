import { StrataError } from '@strata/core';
import { z } from 'zod';

/**
 * Environment variables as zod schemas: each one names its default (used when the variable is
 * unset or empty) and its rule, and `parseEnv` turns the first broken rule into one line naming the
 * variable. A service that cannot parse its environment exits 1 at start with that line (see
 * runService), instead of failing later on a typo.
 */
const failed = (ctx: z.RefinementCtx, raw: string, message: string): never => {
  ctx.addIssue({ code: 'custom', message: `${message}, got "${raw}"`, input: raw });
  return z.NEVER;
};

/** Text; `fallback` when unset or empty. */
export const envText = (fallback: string) =>
  z
    .string()
    .optional()
    .transform((raw) => raw || fallback);

/** Text that may be absent (empty counts as absent). */
export const envOptionalText = () =>
  z
    .string()
    .optional()
    .transform((raw) => raw || undefined);

const integer = (raw: string, min: number, max: number, ctx: z.RefinementCtx, rule: string): number => {
  const value = Number(raw);
  return Number.isInteger(value) && value >= min && value <= max ? value : failed(ctx, raw, rule);
};

/** An integer in [min, max]; `fallback` when unset or empty. `rule` words the error. */
export const envInt = (fallback: number, min: number, max = Number.MAX_SAFE_INTEGER, rule?: string) =>
  z
    .string()
    .optional()
    .transform((raw, ctx) => (raw ? integer(raw, min, max, ctx, rule ?? `must be an integer ≥ ${min}`) : fallback));

/** An integer ≥ min, or undefined when unset or empty (e.g. "serve no metrics"). */
export const envOptionalInt = (min: number) =>
  z
    .string()
    .optional()
    .transform((raw, ctx) =>
      raw ? integer(raw, min, Number.MAX_SAFE_INTEGER, ctx, `must be an integer ≥ ${min}`) : undefined,
    );

/** Comma-separated; each item trimmed, passed through `item`, dropped when that leaves it empty. */
export const envList = (fallback: string, item: (raw: string) => string = (raw) => raw) =>
  z
    .string()
    .optional()
    .transform((raw) =>
      (raw || fallback)
        .split(',')
        .map((part) => item(part.trim()))
        .filter(Boolean),
    );

/** On unless the variable is exactly `false`. */
export const envSwitch = () =>
  z
    .string()
    .optional()
    .transform((raw) => raw !== 'false');

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** A pino level name; `fallback` when unset or empty. */
export const envLogLevel = (fallback: (typeof logLevels)[number] = 'info') =>
  z
    .string()
    .optional()
    .transform((raw, ctx) =>
      !raw
        ? fallback
        : (logLevels as readonly string[]).includes(raw)
          ? (raw as (typeof logLevels)[number])
          : failed(ctx, raw, `must be one of ${logLevels.join(', ')}`),
    );

/** `host:port` from a broker as operators write it, with or without a `kafka://`-style scheme. */
export const brokerAddress = (broker: string): string => broker.replace(/^[a-z]+:\/\//i, '');

/** The variables several services read, with the local defaults BRIEF.md and the README list. */
export const sharedEnv = {
  DATABASE_URL: envText('postgres://postgres@127.0.0.1:5432/strata'),
  REDIS_URL: envText('redis://127.0.0.1:6379'),
  KAFKA_BROKERS: envList('127.0.0.1:9092', brokerAddress),
  STRATA_TOPIC: envText('strata.events'),
  STRATA_REDIS_PREFIX: envText('strata:'),
  LOG_LEVEL: envLogLevel('info'),
};

/**
 * The environment parsed by `shape` (keys are the variable names). Throws a StrataError
 * (`BAD_REQUEST`, `details.variable`) whose message is one line: the variable, its rule, its value.
 */
export const parseEnv = <Shape extends z.ZodRawShape>(
  shape: Shape,
  env: NodeJS.ProcessEnv = process.env,
): z.output<z.ZodObject<Shape>> => {
  const result = z.object(shape).safeParse(env);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const variable = String(issue?.path[0] ?? 'environment');
  throw new StrataError('BAD_REQUEST', `${variable} ${issue?.message ?? 'is invalid'}`, { variable });
};
