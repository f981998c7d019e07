import { createHash } from 'node:crypto';
import { StrataError } from '@strata/core';
import { Keyring } from '@strata/crypto';
import { envInt, envOptionalText, envSwitch, parseEnv, sharedEnv } from '@strata/service-runtime';

export interface ApiConfig {
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  kafkaBrokers: string[];
  port: number;
  host: string;
  keyring: Keyring;
  adminToken: string;
  production: boolean;
  /** pino level for the API's JSON log (LOG_LEVEL): `info` logs every request. */
  logLevel: string;
  /** Run migrations at start (STRATA_MIGRATE, default true; false when connecting as strata_app). */
  migrate: boolean;
  /** Things the operator must hear about at start (dev keyring, dev admin token). */
  warnings: string[];
}

/** Public on purpose: anyone can read it here, which is why production refuses it. */
export const devAdminToken = 'dev-admin-token';
const devMasterKeys = `dev-insecure:${createHash('sha256').update('strata local development master key — not a secret').digest('base64')}`;

const apiEnv = {
  DATABASE_URL: sharedEnv.DATABASE_URL,
  REDIS_URL: sharedEnv.REDIS_URL,
  STRATA_REDIS_PREFIX: sharedEnv.STRATA_REDIS_PREFIX,
  KAFKA_BROKERS: sharedEnv.KAFKA_BROKERS,
  LOG_LEVEL: sharedEnv.LOG_LEVEL,
  PORT: envInt(8080, 0, 65535, 'must be a TCP port (0-65535)'),
  HOST: envOptionalText(),
  NODE_ENV: envOptionalText(),
  STRATA_MODE: envOptionalText(),
  STRATA_MASTER_KEYS: envOptionalText(),
  STRATA_ADMIN_TOKEN: envOptionalText(),
  STRATA_MIGRATE: envSwitch(),
};

const refuse = (message: string, variable: string): never => {
  throw new StrataError('BAD_REQUEST', message, { variable });
};

/**
 * Reads the API's environment (BRIEF.md "Public contract"). Production (`NODE_ENV=production` or
 * `STRATA_MODE=production`) refuses to start without explicit master keys and admin token; local
 * mode falls back to a fixed, publicly known dev keyring and admin token and says so loudly.
 */
export const loadConfig = (env: NodeJS.ProcessEnv = process.env): ApiConfig => {
  const e = parseEnv(apiEnv, env);
  const production = e.NODE_ENV === 'production' || e.STRATA_MODE === 'production';
  const warnings: string[] = [];
  const missing: string[] = [];
  if (production && !e.STRATA_MASTER_KEYS) missing.push('STRATA_MASTER_KEYS');
  if (production && !e.STRATA_ADMIN_TOKEN) missing.push('STRATA_ADMIN_TOKEN');
  if (missing.length > 0) refuse(`production mode refuses to start without ${missing.join(' and ')}`, missing[0]!);
  if (production && e.STRATA_ADMIN_TOKEN === devAdminToken)
    refuse('production mode refuses the dev admin token', 'STRATA_ADMIN_TOKEN');
  if (production && (e.STRATA_ADMIN_TOKEN ?? '').length < 24)
    refuse('STRATA_ADMIN_TOKEN must be at least 24 characters in production', 'STRATA_ADMIN_TOKEN');
  if (!e.STRATA_MASTER_KEYS)
    warnings.push(
      'STRATA_MASTER_KEYS is not set: using the PUBLIC dev keyring "dev-insecure" — secrets are NOT protected',
    );
  if (!e.STRATA_ADMIN_TOKEN) warnings.push(`STRATA_ADMIN_TOKEN is not set: the admin token is "${devAdminToken}"`);
  return {
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    redisPrefix: e.STRATA_REDIS_PREFIX,
    kafkaBrokers: e.KAFKA_BROKERS,
    port: e.PORT,
    host: e.HOST ?? (production ? '0.0.0.0' : '127.0.0.1'),
    keyring: Keyring.parse(e.STRATA_MASTER_KEYS ?? devMasterKeys),
    adminToken: e.STRATA_ADMIN_TOKEN ?? devAdminToken,
    production,
    logLevel: e.LOG_LEVEL,
    migrate: e.STRATA_MIGRATE,
    warnings,
  };
};
