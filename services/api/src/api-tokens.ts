import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ChangeFeed, TokenRecord as StoredToken, TokenStore } from '@strata/core';
import { tokenChangesChannel } from '@strata/postgres-log';
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

export const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** Opaque bearer token: prefix for secret scanners, 256 random bits. */
const mintToken = (): string => `strata_${randomBytes(32).toString('base64url')}`;
const mintId = (): string => `tok_${randomBytes(10).toString('hex')}`;

const unknownToken: Authentication = { refused: 'unknown or revoked token', reason: 'unknown' };
const asRecord = (stored: StoredToken): TokenRecord => stored as TokenRecord;

/**
 * Bearer tokens over a TokenStore, which keeps only sha256 hashes: the token itself exists once,
 * in the answer to `issue` or `rotate`.
 * Lookups are cached so a hot read path costs no query and no hashing. A cached answer never
 * outlives the token's expiry, and with `changes` every process drops a token the moment any
 * process revokes, shortens or rotates it (the row's NOTIFY); while notifications are not being
 * received nothing is cached. Without `changes` (tests of a single process) a change elsewhere
 * takes effect after at most `cacheTtlMs`.
 */
export class ApiTokens {
  /** Answers by presented token (process memory only, like the request that carried it). */
  readonly #recent = new Map<string, { answer: Authentication; expires: number; tokenId: string | null }>();
  readonly #adminHash: Buffer | null;

  constructor(
    private readonly store: TokenStore,
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
    const row = await this.store.findByHash(hash);
    if (!row) return { answer: unknownToken, tokenId: null };
    const expiresAt = row.expiresAt === null ? undefined : Date.parse(row.expiresAt);
    if (expiresAt !== undefined && expiresAt <= Date.now()) {
      return {
        answer: { refused: `token ${row.id} expired at ${new Date(expiresAt).toISOString()}`, reason: 'expired' },
        tokenId: row.id,
      };
    }
    const principal: Principal = {
      subject: `token:${row.id}`,
      tokenId: row.id,
      role: row.role as Role,
      namespace: row.namespace,
      environment: row.environment,
      tenant: row.tenant,
      expiresAt: row.expiresAt,
    };
    return { answer: { principal }, tokenId: row.id, ...(expiresAt === undefined ? {} : { expiresAt }) };
  }

  /** Forgets every cached answer about one token (it changed, here or in another process). */
  #forget(tokenId: string): void {
    for (const [token, entry] of this.#recent) if (entry.tokenId === tokenId) this.#recent.delete(token);
  }

  /** Stores a new token's hash; the returned token is never retrievable again. */
  async issue(input: NewToken): Promise<{ record: TokenRecord; token: string }> {
    const token = mintToken();
    const record = await this.store.insert({ ...input, id: mintId(), tokenHash: sha256(token) });
    return { record: asRecord(record), token };
  }

  /**
   * Issues a successor with the same role, scope and description, and lets the old token live on
   * only until `previousValidUntil` (never longer than it already would). Both happen or neither.
   * NOT_FOUND when no live token has this id; VERSION_CONFLICT when it was already rotated.
   */
  async rotate(
    id: string,
    options: { previousValidUntil: Date; expiresAt: string | null; createdBy: string },
  ): Promise<{ previous: TokenRecord; record: TokenRecord; token: string }> {
    const token = mintToken();
    const { previous, record } = await this.store.rotate(
      id,
      { id: mintId(), tokenHash: sha256(token), createdBy: options.createdBy, expiresAt: options.expiresAt },
      options.previousValidUntil.toISOString(),
    );
    this.#forget(id);
    return { previous: asRecord(previous), record: asRecord(record), token };
  }

  /** Revokes; NOT_FOUND when no live token has this id. */
  async revoke(id: string, by: string): Promise<void> {
    await this.store.revoke(id, by);
    this.#forget(id);
  }

  async get(id: string): Promise<TokenRecord | undefined> {
    return (await this.list({ id }))[0];
  }

  /** Tokens by id or namespace; without `id` only live ones (neither revoked nor expired) unless `includeRevoked`. */
  async list(
    filter: { id?: string; namespace?: string | null; includeRevoked?: boolean } = {},
  ): Promise<TokenRecord[]> {
    return (await this.store.list(filter)).map(asRecord);
  }
}
