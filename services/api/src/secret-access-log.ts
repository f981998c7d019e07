import type pg from 'pg';
import { StrataError } from '@strata/core';

export interface SecretAccess {
  actor: string;
  tokenId: string | null;
  namespace: string;
  environment: string;
  tenant: string | null;
  name: string;
  version: number;
  ip: string | null;
  userAgent: string | null;
  requestId: string;
}

/**
 * `strata.secret_access_log` (migration 0020_api.sql): append-only record of every plaintext read.
 * `record` runs BEFORE a secret is decrypted; when it fails the read fails (fail closed), so no
 * plaintext ever leaves without its trace.
 */
export class SecretAccessLog {
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
