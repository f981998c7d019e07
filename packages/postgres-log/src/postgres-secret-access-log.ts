import type pg from 'pg';
import { StrataError, type SecretAccess, type SecretAccessLog } from '@strata/core';

/** `strata.secret_access_log` (migration 0020_api.sql): append-only, its triggers refuse UPDATE, DELETE and TRUNCATE. */
export class PostgresSecretAccessLog implements SecretAccessLog {
  constructor(private readonly pool: pg.Pool) {}

  async record(access: SecretAccess): Promise<void> {
    try {
      await this.pool.query(
        `INSERT INTO strata.secret_access_log (actor, token_id, namespace, environment, tenant, name, version, ip, user_agent, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [
          access.actor,
          access.tokenId,
          access.namespace,
          access.environment,
          access.tenant,
          access.name,
          access.version,
          access.ip,
          access.userAgent,
          access.requestId,
        ],
      );
    } catch (error) {
      throw new StrataError(
        'UNAVAILABLE',
        'the secret access log cannot be written, so the secret is not read',
        undefined,
        { cause: error },
      );
    }
  }
}
