import type { Redis } from 'ioredis';
import type { DefinedManifest } from '@strata/core';
import { RedisDriver } from './redis-driver.js';
import { StrataClient, localDocument, type ClientBaseOptions } from './strata-client.js';

export interface CreateClientOptions<M extends DefinedManifest> extends ClientBaseOptions<M> {
  /** A URL (the client owns its connections) or an ioredis client (duplicated for pub/sub, left open on close). */
  redis: string | Redis;
  /** Key prefix of the views (default `strata:`). */
  prefix?: string;
  /**
   * A process environment variable layer between tenant and environment values:
   * `RATE_LIMIT__REQUESTS_PER_MINUTE` for `rate_limit.requests_per_minute`, after `prefix`.
   */
  envVars?: boolean | { prefix?: string; env?: Readonly<Record<string, string | undefined>> };
  /** Safety net for lost notifications: compare positions this often (default 2000 ms). */
  safetyCheckIntervalMs?: number;
  /** Load a tenant's layers on its first read (for namespaces with very many tenants). */
  lazyTenants?: boolean;
}

/**
 * A client reading one namespace/environment from the Redis views into memory, kept current by
 * change notifications. Returns at once; `await client.ready()` to fail fast at start.
 */
export const createClient = <const M extends DefinedManifest = DefinedManifest>(
  options: CreateClientOptions<M>,
): StrataClient<M> => {
  const driver = new RedisDriver({
    namespace: options.namespace,
    environment: options.environment,
    redis: options.redis,
    prefix: options.prefix,
    lazyTenants: options.lazyTenants,
    safetyCheckIntervalMs: options.safetyCheckIntervalMs,
    envVars:
      options.envVars === true
        ? {}
        : options.envVars === false || options.envVars === undefined
          ? false
          : options.envVars,
    localManifest: localDocument(options.manifest),
  });
  return new StrataClient<M>(options, driver);
};
