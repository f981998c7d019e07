import type pg from 'pg';
import { StrataError, type NewTokenRecord, type TokenFilter, type TokenRecord, type TokenStore } from '@strata/core';

/** A row of `strata.api_tokens` as selected here (never the hash). */
interface TokenRow extends Pick<TokenRecord, 'id' | 'role' | 'namespace' | 'environment' | 'tenant' | 'description'> {
  created_by: string;
  created_at: Date;
  revoked_at: Date | null;
  expires_at: Date | null;
  rotated_to: string | null;
}

/** NOTIFY channel of migration 0021_token_lifetimes.sql: a token row changed (revoked, expiry shortened, rotated). */
export const tokenChangesChannel = 'strata_tokens';

const columns =
  'id, role, namespace, environment, tenant, description, created_by, created_at, revoked_at, expires_at, rotated_to';

const toRecord = (r: TokenRow): TokenRecord => ({
  id: r.id,
  role: r.role,
  namespace: r.namespace,
  environment: r.environment,
  tenant: r.tenant,
  description: r.description,
  createdBy: r.created_by,
  createdAt: r.created_at.toISOString(),
  revokedAt: r.revoked_at?.toISOString() ?? null,
  expiresAt: r.expires_at?.toISOString() ?? null,
  rotatedTo: r.rotated_to,
});

const bytes = (hash: Uint8Array): Buffer => Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength);

/**
 * Bearer tokens on `strata.api_tokens` (migrations 0020_api.sql, 0021_token_lifetimes.sql): only
 * sha256 hashes are stored. Every row change NOTIFYs `tokenChangesChannel` (migration 0021), which
 * is how other processes' caches learn of it.
 */
export class PostgresTokenStore implements TokenStore {
  constructor(private readonly pool: pg.Pool) {}

  async findByHash(tokenHash: Uint8Array): Promise<TokenRecord | null> {
    const { rows } = await this.pool.query<TokenRow>(
      `SELECT ${columns} FROM strata.api_tokens WHERE token_hash = $1 AND revoked_at IS NULL`,
      [bytes(tokenHash)],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  insert(token: NewTokenRecord, client: pg.Pool | pg.PoolClient = this.pool): Promise<TokenRecord> {
    return client
      .query<TokenRow>(
        `INSERT INTO strata.api_tokens (id, token_hash, role, namespace, environment, tenant, description, created_by, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${columns}`,
        [
          token.id,
          bytes(token.tokenHash),
          token.role,
          token.namespace,
          token.environment,
          token.tenant,
          token.description,
          token.createdBy,
          token.expiresAt,
        ],
      )
      .then(({ rows }) => toRecord(rows[0]!));
  }

  async rotate(
    id: string,
    successor: Pick<NewTokenRecord, 'id' | 'tokenHash' | 'createdBy' | 'expiresAt'>,
    previousValidUntil: string,
  ): Promise<{ previous: TokenRecord; record: TokenRecord }> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<TokenRow>(
        `SELECT ${columns} FROM strata.api_tokens
          WHERE id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now()) FOR UPDATE`,
        [id],
      );
      const old = rows[0];
      if (!old) throw new StrataError('NOT_FOUND', `no live token ${id}`, { tokenId: id });
      if (old.rotated_to !== null) {
        throw new StrataError('VERSION_CONFLICT', `token ${id} was already rotated to ${old.rotated_to}`, {
          tokenId: id,
          rotatedTo: old.rotated_to,
        });
      }
      const record = await this.insert({ ...toRecord(old), ...successor }, client);
      const updated = await client.query<TokenRow>(
        `UPDATE strata.api_tokens SET rotated_to = $2, expires_at = LEAST(coalesce(expires_at, $3), $3)
          WHERE id = $1 RETURNING ${columns}`,
        [id, record.id, previousValidUntil],
      );
      await client.query('COMMIT');
      return { previous: toRecord(updated.rows[0]!), record };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async revoke(id: string, by: string): Promise<void> {
    const { rowCount } = await this.pool.query(
      'UPDATE strata.api_tokens SET revoked_at = now(), revoked_by = $2 WHERE id = $1 AND revoked_at IS NULL',
      [id, by],
    );
    if (!rowCount) throw new StrataError('NOT_FOUND', `no live token ${id}`, { tokenId: id });
  }

  async list(filter: TokenFilter): Promise<TokenRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.id !== undefined) where.push(`id = $${params.push(filter.id)}`);
    if (filter.namespace) where.push(`namespace = $${params.push(filter.namespace)}`);
    if (!filter.includeRevoked && filter.id === undefined)
      where.push('revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())');
    const { rows } = await this.pool.query<TokenRow>(
      `SELECT ${columns} FROM strata.api_tokens ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY created_at, id LIMIT 1000`,
      params,
    );
    return rows.map(toRecord);
  }
}
