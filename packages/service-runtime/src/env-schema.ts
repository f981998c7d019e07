import { isIP } from 'node:net';
import { StrataError } from '@strata/core';
import { z } from 'zod';

/**
 * Environment variables as zod schemas: each one names its default (used when the variable is
 * unset or empty) and its rule, and `readEnv` turns the first broken rule into one line naming the
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

const proxyPresets = ['loopback', 'linklocal', 'uniquelocal'];

/** An IPv4/IPv6 address, a CIDR range of one, or one of proxy-addr's preset names. */
const isProxyAddress = (entry: string): boolean => {
  if (proxyPresets.includes(entry)) return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  const bits = Number(prefix);
  return /^\d{1,3}$/.test(prefix) && bits <= (family === 4 ? 32 : 128);
};

/**
 * Which peers may name the client in `X-Forwarded-For` (Fastify's `trustProxy`): `false` (the
 * default: the TCP peer is the client), a hop count, or the proxies' addresses and CIDR ranges.
 * `true` is refused: trusting every peer lets any client pick the address it is counted under.
 */
export const envTrustedProxies = () =>
  z
    .string()
    .optional()
    .transform((raw, ctx): false | number | string[] => {
      const text = raw?.trim();
      if (!text || text === 'false') return false;
      if (/^\d+$/.test(text))
        return Number(text) >= 1 && Number(text) <= 32
          ? Number(text)
          : failed(ctx, text, 'as a hop count must be between 1 and 32');
      const entries = text
        .split(',')
        .map((entry) => entry.trim())
        .filter(Boolean);
      if (entries.length > 0 && entries.every(isProxyAddress)) return entries;
      return failed(
        ctx,
        text,
        'must be false, a hop count, or comma-separated proxy addresses/CIDR ranges (loopback, linklocal, uniquelocal allowed)',
      );
    });

/** `host:port` from a broker as operators write it, with or without a `kafka://`-style scheme. */
const brokerAddress = (broker: string): string => broker.replace(/^[a-z]+:\/\//i, '');

/** One setting: the variable it is read from and the rule it is parsed by. */
export type EnvSetting = readonly [variable: string, schema: z.ZodType<unknown, string | undefined>];

/** The settings several services read, with the local defaults BRIEF.md and the README list. */
export const sharedEnv = {
  databaseUrl: ['DATABASE_URL', envText('postgres://postgres@127.0.0.1:5432/strata')],
  redisUrl: ['REDIS_URL', envText('redis://127.0.0.1:6379')],
  kafkaBrokers: ['KAFKA_BROKERS', envList('127.0.0.1:9092', brokerAddress)],
  topic: ['STRATA_TOPIC', envText('strata.events')],
  redisPrefix: ['STRATA_REDIS_PREFIX', envText('strata:')],
  logLevel: ['LOG_LEVEL', envLogLevel('info')],
  /** The API's HTTP port (the stack reads it too, to reach the API). */
  port: ['PORT', envInt(8080, 0, 65535, 'must be a TCP port (0-65535)')],
} as const satisfies Record<string, EnvSetting>;

/**
 * A service's settings read from `env`: each field from its variable, by its rule. Throws a
 * StrataError (`BAD_REQUEST`, `details.variable`) whose message is one line: the variable, its
 * rule, its value.
 */
export const readEnv = <Settings extends Record<string, EnvSetting>>(
  settings: Settings,
  env: NodeJS.ProcessEnv = process.env,
): { [Field in keyof Settings]: z.output<Settings[Field][1]> } => {
  const values: Record<string, unknown> = {};
  for (const [field, [variable, schema]] of Object.entries(settings)) {
    const result = schema.safeParse(env[variable]);
    if (!result.success)
      throw new StrataError('BAD_REQUEST', `${variable} ${result.error.issues[0]?.message ?? 'is invalid'}`, {
        variable,
      });
    values[field] = result.data;
  }
  return values as { [Field in keyof Settings]: z.output<Settings[Field][1]> };
};
