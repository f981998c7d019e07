import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type pg from 'pg';
import { StrataError } from '@strata/core';
import type { Principal, Role } from './access-policy.js';

/** How far a token reaches; null at a level means all of it. */
export interface TokenScope {
  namespace: string | null;
  environment: string | null;
  tenant: string | null;
}

export interface NewToken extends TokenScope {
  role: Role;
  description: string | null;
  createdBy: string;
}

export interface TokenRecord extends NewToken {
  id: string;
  createdAt: string;
  revokedAt: string | null;
}

/** A row of `strata.api_tokens` as selected here (never the hash). */
interface TokenRow extends TokenScope {
  id: string;
  role: Role;
  description: string | null;
  created_by: string;
  created_at: Date;
  revoked_at: Date | null;
}

export const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** Opaque bearer token: prefix for secret scanners, 256 random bits. */
const mintToken = (): string => `strata_${randomBytes(32).toString('base64url')}`;
const mintId = (): string => `tok_${randomBytes(10).toString('hex')}`;

/**
 * Bearer tokens on `strata.api_tokens` (migration 0020_api.sql). Only sha256 hashes are stored;
 * the token itself exists once, in the answer to `issue`. Lookups are cached briefly so a hot
 * read path costs no query and no hashing; a revoke through this instance takes effect at once, elsewhere after
 * at most `cacheTtlMs`.
 */
export class TokenStore {
  /** Answers by presented token (process memory only, like the request that carried it). */
  readonly #recent = new Map<string, { principal: Principal | null; expires: number }>();
  readonly #adminHash: Buffer | null;

  constructor(
    private readonly pool: pg.Pool,
    adminToken: string | null,
    private readonly cacheTtlMs = 5_000,
  ) {
    this.#adminHash = adminToken ? sha256(adminToken) : null;
  }

  /** The cached answer for a token seen in the last `cacheTtlMs` (null: refused), undefined when not cached. */
  known(token: string): Principal | null | undefined {
    const recent = this.#recent.get(token);
    return recent && recent.expires > Date.now() ? recent.principal : undefined;
  }

  /** The principal for a presented token, or null when unknown or revoked. */
  async authenticate(token: string): Promise<Principal | null> {
    // Hot path: a token seen in the last `cacheTtlMs` costs one map lookup, no hashing.
    const now = Date.now();
    const recent = this.#recent.get(token);
    if (recent && recent.expires > now) return recent.principal;
    const principal = await this.#lookup(token);
    if (this.#recent.size > 10_000) this.#recent.clear();
    this.#recent.set(token, { principal, expires: now + this.cacheTtlMs });
    return principal;
  }

  async #lookup(token: string): Promise<Principal | null> {
    const hash = sha256(token);
    if (this.#adminHash && timingSafeEqual(hash, this.#adminHash)) {
      return { subject: 'admin', tokenId: null, role: 'admin', namespace: null, environment: null, tenant: null };
    }
    const { rows } = await this.pool.query<Pick<TokenRow, 'id' | 'role' | 'namespace' | 'environment' | 'tenant'>>(
      'SELECT id, role, namespace, environment, tenant FROM strata.api_tokens WHERE token_hash = $1 AND revoked_at IS NULL',
      [hash],
    );
    const row = rows[0];
    return row
      ? {
          subject: `token:${row.id}`,
          tokenId: row.id,
          role: row.role,
          namespace: row.namespace,
          environment: row.environment,
          tenant: row.tenant,
        }
      : null;
  }

  /** Stores a new token's hash; the returned token is never retrievable again. */
  async issue(input: NewToken): Promise<{ record: TokenRecord; token: string }> {
    const token = mintToken();
    const id = mintId();
    const { rows } = await this.pool.query<{ created_at: Date }>(
      `INSERT INTO strata.api_tokens (id, token_hash, role, namespace, environment, tenant, description, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING created_at`,
      [
        id,
        sha256(token),
        input.role,
        input.namespace,
        input.environment,
        input.tenant,
        input.description,
        input.createdBy,
      ],
    );
    const createdAt = (rows[0]?.created_at ?? new Date()).toISOString();
    return { record: { id, ...input, createdAt, revokedAt: null }, token };
  }

  /** Revokes; NOT_FOUND when no live token has this id. */
  async revoke(id: string, by: string): Promise<void> {
    const { rowCount } = await this.pool.query(
      'UPDATE strata.api_tokens SET revoked_at = now(), revoked_by = $2 WHERE id = $1 AND revoked_at IS NULL',
      [id, by],
    );
    if (!rowCount) throw new StrataError('NOT_FOUND', `no live token ${id}`, { tokenId: id });
    this.#recent.clear();
  }

  async get(id: string): Promise<TokenRecord | undefined> {
    return (await this.list({ id }))[0];
  }

  async list(
    filter: { id?: string; namespace?: string | null; includeRevoked?: boolean } = {},
  ): Promise<TokenRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.id !== undefined) where.push(`id = $${params.push(filter.id)}`);
    if (filter.namespace) where.push(`namespace = $${params.push(filter.namespace)}`);
    if (!filter.includeRevoked && filter.id === undefined) where.push('revoked_at IS NULL');
    const { rows } = await this.pool.query<TokenRow>(
      `SELECT id, role, namespace, environment, tenant, description, created_by, created_at, revoked_at
         FROM strata.api_tokens ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, id LIMIT 1000`,
      params,
    );
    return rows.map((r) => ({
      id: r.id,
      role: r.role,
      namespace: r.namespace,
      environment: r.environment,
      tenant: r.tenant,
      description: r.description,
      createdBy: r.created_by,
      createdAt: r.created_at.toISOString(),
      revokedAt: r.revoked_at?.toISOString() ?? null,
    }));
  }
}
