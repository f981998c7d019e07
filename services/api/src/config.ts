import { createHash } from 'node:crypto';
import { Keyring } from '@strata/crypto';

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

/**
 * Reads the API's environment (BRIEF.md "Public contract"). Production (`NODE_ENV=production` or
 * `STRATA_MODE=production`) refuses to start without explicit master keys and admin token; local
 * mode falls back to a fixed, publicly known dev keyring and admin token and says so loudly.
 */
export const loadConfig = (env: NodeJS.ProcessEnv = process.env): ApiConfig => {
  const production = env.NODE_ENV === 'production' || env.STRATA_MODE === 'production';
  const warnings: string[] = [];
  const missing: string[] = [];
  if (production && !env.STRATA_MASTER_KEYS) missing.push('STRATA_MASTER_KEYS');
  if (production && !env.STRATA_ADMIN_TOKEN) missing.push('STRATA_ADMIN_TOKEN');
  if (missing.length > 0) throw new Error(`production mode refuses to start without ${missing.join(' and ')}`);
  if (production && env.STRATA_ADMIN_TOKEN === devAdminToken)
    throw new Error('production mode refuses the dev admin token');
  if (production && (env.STRATA_ADMIN_TOKEN ?? '').length < 24)
    throw new Error('STRATA_ADMIN_TOKEN must be at least 24 characters in production');
  if (!env.STRATA_MASTER_KEYS)
    warnings.push(
      'STRATA_MASTER_KEYS is not set: using the PUBLIC dev keyring "dev-insecure" — secrets are NOT protected',
    );
  if (!env.STRATA_ADMIN_TOKEN) warnings.push(`STRATA_ADMIN_TOKEN is not set: the admin token is "${devAdminToken}"`);
  const port = Number(env.PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a TCP port, got ${env.PORT}`);
  return {
    databaseUrl: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/strata',
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    redisPrefix: env.STRATA_REDIS_PREFIX ?? 'strata:',
    kafkaBrokers: (env.KAFKA_BROKERS ?? '127.0.0.1:9092')
      .split(',')
      .map((b) => b.trim())
      .filter(Boolean),
    port,
    host: env.HOST ?? (production ? '0.0.0.0' : '127.0.0.1'),
    keyring: Keyring.parse(env.STRATA_MASTER_KEYS ?? devMasterKeys),
    adminToken: env.STRATA_ADMIN_TOKEN ?? devAdminToken,
    production,
    logLevel: env.LOG_LEVEL ?? 'info',
    migrate: env.STRATA_MIGRATE !== 'false',
    warnings,
  };
};
