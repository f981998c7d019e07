import { createHash } from 'node:crypto';
import { StrataError } from '@strata/core';
import { Keyring } from '@strata/crypto';
import { envOptionalText, envSwitch, envTrustedProxies, readEnv, sharedEnv } from '@strata/service-runtime';

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
  /**
   * Peers allowed to name the client in X-Forwarded-For (STRATA_TRUST_PROXY): the address the
   * failed-authentication backoff counts and the secret-access log records. False: the TCP peer.
   */
  trustProxy: false | number | string[];
  /** Things the operator must hear about at start (dev keyring, dev admin token). */
  warnings: string[];
}

/** Public on purpose: anyone can read it here, which is why production refuses it. */
export const devAdminToken = 'dev-admin-token';
const devMasterKeys = `dev-insecure:${createHash('sha256').update('strata local development master key — not a secret').digest('base64')}`;

const apiEnv = {
  databaseUrl: sharedEnv.databaseUrl,
  redisUrl: sharedEnv.redisUrl,
  redisPrefix: sharedEnv.redisPrefix,
  kafkaBrokers: sharedEnv.kafkaBrokers,
  logLevel: sharedEnv.logLevel,
  port: sharedEnv.port,
  host: ['HOST', envOptionalText()],
  nodeEnv: ['NODE_ENV', envOptionalText()],
  mode: ['STRATA_MODE', envOptionalText()],
  masterKeys: ['STRATA_MASTER_KEYS', envOptionalText()],
  adminToken: ['STRATA_ADMIN_TOKEN', envOptionalText()],
  migrate: ['STRATA_MIGRATE', envSwitch()],
  trustProxy: ['STRATA_TRUST_PROXY', envTrustedProxies()],
} as const;

const refuse = (message: string, variable: string): never => {
  throw new StrataError('BAD_REQUEST', message, { variable });
};

/**
 * Reads the API's environment (BRIEF.md "Public contract"). Production (`NODE_ENV=production` or
 * `STRATA_MODE=production`) refuses to start without explicit master keys and admin token; local
 * mode falls back to a fixed, publicly known dev keyring and admin token and says so loudly.
 */
export const loadConfig = (env: NodeJS.ProcessEnv = process.env): ApiConfig => {
  const { nodeEnv, mode, masterKeys, adminToken, host, ...settings } = readEnv(apiEnv, env);
  const production = nodeEnv === 'production' || mode === 'production';
  const warnings: string[] = [];
  const missing: string[] = [];
  if (production && !masterKeys) missing.push('STRATA_MASTER_KEYS');
  if (production && !adminToken) missing.push('STRATA_ADMIN_TOKEN');
  if (missing.length > 0) refuse(`production mode refuses to start without ${missing.join(' and ')}`, missing[0]!);
  if (production && adminToken === devAdminToken)
    refuse('production mode refuses the dev admin token', 'STRATA_ADMIN_TOKEN');
  if (production && (adminToken ?? '').length < 24)
    refuse('STRATA_ADMIN_TOKEN must be at least 24 characters in production', 'STRATA_ADMIN_TOKEN');
  if (!masterKeys)
    warnings.push(
      'STRATA_MASTER_KEYS is not set: using the PUBLIC dev keyring "dev-insecure" — secrets are NOT protected',
    );
  if (!adminToken) warnings.push(`STRATA_ADMIN_TOKEN is not set: the admin token is "${devAdminToken}"`);
  return {
    ...settings,
    host: host ?? (production ? '0.0.0.0' : '127.0.0.1'),
    keyring: Keyring.parse(masterKeys ?? devMasterKeys),
    adminToken: adminToken ?? devAdminToken,
    production,
    warnings,
  };
};
