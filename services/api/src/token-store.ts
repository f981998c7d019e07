import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type pg from 'pg';
import { StrataError, type ChangeFeed } from '@strata/core';
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
  /** After this instant the token is refused (401, "expired"); null: until revoked. */
  expiresAt: string | null;
}

export interface TokenRecord extends NewToken {
  id: string;
  createdAt: string;
  revokedAt: string | null;
  /** The successor a rotation issued; this token stays valid until its (shortened) `expiresAt`. */
  rotatedTo: string | null;
}

/** What a presented token is: a principal, or the reason it is refused (the 401's detail). */
export type Authentication = { principal: Principal } | { refused: string; reason: 'unknown' | 'expired' };

/** A row of `strata.api_tokens` as selected here (never the hash). */
interface TokenRow extends TokenScope {
  id: string;
  role: Role;
  description: string | null;
  created_by: string;
  created_at: Date;
  revoked_at: Date | null;
  expires_at: Date | null;
  rotated_to: string | null;
}

/** NOTIFY channel of migration 0021_token_lifetimes.sql: a token row changed (revoked, expiry shortened, rotated). */
export const tokenChangesChannel = 'strata_tokens';

export const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** Opaque bearer token: prefix for secret scanners, 256 random bits. */
const mintToken = (): string => `strata_${randomBytes(32).toString('base64url')}`;
const mintId = (): string => `tok_${randomBytes(10).toString('hex')}`;

const unknownToken: Authentication = { refused: 'unknown or revoked token', reason: 'unknown' };
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

/**
 * Bearer tokens on `strata.api_tokens` (migrations 0020_api.sql, 0021_token_lifetimes.sql). Only
 * sha256 hashes are stored; the token itself exists once, in the answer to `issue` or `rotate`.
 * Lookups are cached so a hot read path costs no query and no hashing. A cached answer never
 * outlives the token's expiry, and with `changes` every process drops a token the moment any
 * process revokes, shortens or rotates it (the row's NOTIFY); while notifications are not being
 * received nothing is cached. Without `changes` (tests of a single process) a change elsewhere
 * takes effect after at most `cacheTtlMs`.
 */
export class TokenStore {
  /** Answers by presented token (process memory only, like the request that carried it). */
  readonly #recent = new Map<string, { answer: Authentication; expires: number; tokenId: string | null }>();
  readonly #adminHash: Buffer | null;

  constructor(
    private readonly pool: pg.Pool,
    adminToken: string | null,
    private readonly changes: ChangeFeed | null = null,
    private readonly cacheTtlMs = changes ? 60_000 : 5_000,
  ) {
    this.#adminHash = adminToken ? sha256(adminToken) : null;
    changes?.on(tokenChangesChannel, (id) => this.#forget(id));
    changes?.onGap(() => this.#recent.clear());
  }

  /** The cached answer for a token, undefined when not cached. */
  known(token: string): Authentication | undefined {
    const recent = this.#recent.get(token);
    return recent && recent.expires > Date.now() ? recent.answer : undefined;
  }

  /** The principal for a presented token, or why it is refused. */
  async authenticate(token: string): Promise<Authentication> {
    // Hot path: a token seen recently costs one map lookup, no hashing.
    const recent = this.known(token);
    if (recent) return recent;
    const epoch = this.changes?.epoch;
    const { answer, tokenId, expiresAt } = await this.#lookup(token);
    const now = Date.now();
    // A change announced while we looked may not be in what we read: answer it, but do not keep it.
    const cacheable = this.changes === null || (this.changes.listening && this.changes.epoch === epoch);
    if (cacheable) {
      if (this.#recent.size > 10_000) this.#recent.clear();
      this.#recent.set(token, { answer, tokenId, expires: Math.min(now + this.cacheTtlMs, expiresAt ?? Infinity) });
    }
    return answer;
  }

  async #lookup(token: string): Promise<{ answer: Authentication; tokenId: string | null; expiresAt?: number }> {
    const hash = sha256(token);
    if (this.#adminHash && timingSafeEqual(hash, this.#adminHash)) {
      const principal: Principal = {
        subject: 'admin',
        tokenId: null,
        role: 'admin',
        namespace: null,
        environment: null,
        tenant: null,
        expiresAt: null,
      };
      return { answer: { principal }, tokenId: null };
    }
    const { rows } = await this.pool.query<
      Pick<TokenRow, 'id' | 'role' | 'namespace' | 'environment' | 'tenant' | 'expires_at'>
    >(
      'SELECT id, role, namespace, environment, tenant, expires_at FROM strata.api_tokens WHERE token_hash = $1 AND revoked_at IS NULL',
      [hash],
    );
    const row = rows[0];
    if (!row) return { answer: unknownToken, tokenId: null };
    const expiresAt = row.expires_at?.getTime();
    if (expiresAt !== undefined && expiresAt <= Date.now()) {
      return {
        answer: { refused: `token ${row.id} expired at ${row.expires_at!.toISOString()}`, reason: 'expired' },
        tokenId: row.id,
      };
    }
    const principal: Principal = {
      subject: `token:${row.id}`,
      tokenId: row.id,
      role: row.role,
      namespace: row.namespace,
      environment: row.environment,
      tenant: row.tenant,
      expiresAt: row.expires_at?.toISOString() ?? null,
    };
    return { answer: { principal }, tokenId: row.id, ...(expiresAt === undefined ? {} : { expiresAt }) };
  }

  /** Forgets every cached answer about one token (it changed, here or in another process). */
  #forget(tokenId: string): void {
    for (const [token, entry] of this.#recent) if (entry.tokenId === tokenId) this.#recent.delete(token);
  }

  /** Stores a new token's hash; the returned token is never retrievable again. */
  async issue(
    input: NewToken,
    client: pg.Pool | pg.PoolClient = this.pool,
  ): Promise<{ record: TokenRecord; token: string }> {
    const token = mintToken();
    const { rows } = await client.query<TokenRow>(
      `INSERT INTO strata.api_tokens (id, token_hash, role, namespace, environment, tenant, description, created_by, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${columns}`,
      [
        mintId(),
        sha256(token),
        input.role,
        input.namespace,
        input.environment,
        input.tenant,
        input.description,
        input.createdBy,
        input.expiresAt,
      ],
    );
    return { record: toRecord(rows[0]!), token };
  }

  /**
   * Issues a successor with the same role, scope and description, and lets the old token live on
   * only until `previousValidUntil` (never longer than it already would). One transaction: either
   * both happen or neither. NOT_FOUND when no live token has this id; VERSION_CONFLICT when it was
   * already rotated.
   */
  async rotate(
    id: string,
    options: { previousValidUntil: Date; expiresAt: string | null; createdBy: string },
  ): Promise<{ previous: TokenRecord; record: TokenRecord; token: string }> {
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
      const issued = await this.issue(
        { ...toRecord(old), createdBy: options.createdBy, expiresAt: options.expiresAt },
        client,
      );
      const updated = await client.query<TokenRow>(
        `UPDATE strata.api_tokens SET rotated_to = $2, expires_at = LEAST(coalesce(expires_at, $3), $3)
          WHERE id = $1 RETURNING ${columns}`,
        [id, issued.record.id, options.previousValidUntil],
      );
      await client.query('COMMIT');
      this.#forget(id);
      return { previous: toRecord(updated.rows[0]!), ...issued };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** Revokes; NOT_FOUND when no live token has this id. */
  async revoke(id: string, by: string): Promise<void> {
    const { rowCount } = await this.pool.query(
      'UPDATE strata.api_tokens SET revoked_at = now(), revoked_by = $2 WHERE id = $1 AND revoked_at IS NULL',
      [id, by],
    );
    if (!rowCount) throw new StrataError('NOT_FOUND', `no live token ${id}`, { tokenId: id });
    this.#forget(id);
  }

  async get(id: string): Promise<TokenRecord | undefined> {
    return (await this.list({ id }))[0];
  }

  /** Tokens by id or namespace; without `id` only live ones (neither revoked nor expired) unless `includeRevoked`. */
  async list(
    filter: { id?: string; namespace?: string | null; includeRevoked?: boolean } = {},
  ): Promise<TokenRecord[]> {
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
