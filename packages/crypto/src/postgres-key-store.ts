import type pg from 'pg';
import { StrataError, type ChangeFeed } from '@strata/core';
import { randomKey, unwrapKey, wrapKey } from './aes-gcm.js';
import type { Kek } from './encrypt-secret.js';
import { kekContext, newKekId, tenantColumn, type KeyStore } from './key-store.js';
import type { Keyring } from './keyring.js';

/** NOTIFY channel of migration 0011_key_changes.sql: a tenant key row changed (shredded, re-wrapped). */
export const keyChangesChannel = 'strata_tenant_keys';

export interface PostgresKeyStoreOptions {
  /**
   * How long an unwrapped KEK stays in memory. A shred through this instance takes effect at
   * once; one in another process when its NOTIFY arrives (`changes`), else after at most this
   * long. Default 30 s.
   */
  cacheTtlMs?: number;
  /**
   * The database's change notifications (ChangeNotifications): a shred or re-wrap in any process
   * drops the key here at once, and nothing is cached while notifications are not received.
   */
  changes?: ChangeFeed;
  /** Rows re-wrapped per transaction by `rewrapAll`. Default 500. */
  rewrapBatchSize?: number;
  now?: () => number;
}

interface KeyRow {
  key_id: string;
  namespace: string;
  tenant: string;
  wrapped_key: string | null;
  wrapped_by: string | null;
}

/**
 * KeyStore on table `strata.tenant_keys` (migration 0010_keys.sql). Works as the app role:
 * it only needs SELECT, INSERT and UPDATE of the wrapping columns.
 *
 * Shredding nulls `wrapped_key`; PostgreSQL may keep the old row version in dead tuples, WAL and
 * backups until they age out, so after a shred that must be irreversible, rotate the master key
 * (`rewrapAll`) and destroy the old one — then no copy of the wrapped KEK can be opened.
 */
export class PostgresKeyStore implements KeyStore {
  readonly #pool: pg.Pool;
  readonly #keyring: Keyring;
  readonly #ttl: number;
  readonly #batch: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, { key: Buffer; expires: number }>();
  readonly #changes: ChangeFeed | undefined;

  constructor(pool: pg.Pool, keyring: Keyring, options: PostgresKeyStoreOptions = {}) {
    this.#pool = pool;
    this.#keyring = keyring;
    this.#ttl = options.cacheTtlMs ?? 30_000;
    this.#batch = options.rewrapBatchSize ?? 500;
    this.#now = options.now ?? Date.now;
    this.#changes = options.changes;
    this.#changes?.on(keyChangesChannel, (kekId) => this.#forget(kekId));
    this.#changes?.onGap(() => this.#cache.clear());
  }

  async kekFor(namespace: string, tenant: string | null): Promise<Kek> {
    const scope = [namespace, tenantColumn(tenant)];
    // Bounded: only a shred racing between the insert and the select sends us round again.
    for (let attempt = 0; attempt < 5; attempt++) {
      const epoch = this.#changes?.epoch;
      const live = await this.#pool.query<KeyRow>(
        `SELECT key_id, namespace, tenant, wrapped_key, wrapped_by FROM strata.tenant_keys
          WHERE namespace = $1 AND tenant = $2 AND shredded_at IS NULL`,
        scope,
      );
      const row = live.rows[0];
      if (row) return { id: row.key_id, key: this.#unwrap(row, epoch) };

      const key = randomKey();
      const fresh = { key_id: newKekId(), namespace, tenant: tenantColumn(tenant) };
      const kid = this.#keyring.activeKid;
      // The partial unique index makes concurrent creators agree: one insert wins, the rest re-read.
      const inserted = await this.#pool.query(
        `INSERT INTO strata.tenant_keys (key_id, namespace, tenant, wrapped_key, wrapped_by)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (namespace, tenant) WHERE shredded_at IS NULL DO NOTHING`,
        [fresh.key_id, namespace, fresh.tenant, wrapKey(this.#keyring.key(kid), key, kekContext(fresh)), kid],
      );
      if (inserted.rowCount === 1) {
        this.#remember(fresh.key_id, key, epoch);
        return { id: fresh.key_id, key: Buffer.from(key) };
      }
      key.fill(0);
    }
    throw new StrataError('UNAVAILABLE', 'could not obtain a tenant key (concurrent shredding)', { namespace, tenant });
  }

  resolve = async (kekId: string): Promise<Buffer> => {
    const cached = this.#cache.get(kekId);
    if (cached && cached.expires > this.#now()) return cached.key;
    this.#cache.delete(kekId);
    const epoch = this.#changes?.epoch;
    const { rows } = await this.#pool.query<KeyRow & { shredded_at: Date | null }>(
      `SELECT key_id, namespace, tenant, wrapped_key, wrapped_by, shredded_at FROM strata.tenant_keys WHERE key_id = $1`,
      [kekId],
    );
    const row = rows[0];
    if (!row) throw new StrataError('KEY_NOT_FOUND', `tenant key '${kekId}' does not exist`, { kek: kekId });
    return this.#unwrap(row, epoch);
  };

  async shred(namespace: string, tenant: string | null): Promise<string | null> {
    const { rows } = await this.#pool.query<{ key_id: string }>(
      `UPDATE strata.tenant_keys SET wrapped_key = NULL, shredded_at = now()
        WHERE namespace = $1 AND tenant = $2 AND shredded_at IS NULL
        RETURNING key_id`,
      [namespace, tenantColumn(tenant)],
    );
    for (const { key_id } of rows) this.#forget(key_id);
    return rows[0]?.key_id ?? null;
  }

  async rewrapAll(fromKid: string, toKid: string): Promise<string[]> {
    if (fromKid === toKid) throw new StrataError('BAD_REQUEST', `cannot re-wrap master key '${fromKid}' with itself`);
    const from = this.#keyring.key(fromKid);
    const to = this.#keyring.key(toKid);
    const rewrapped: string[] = [];
    for (;;) {
      const client = await this.#pool.connect();
      let batch: KeyRow[];
      try {
        await client.query('BEGIN');
        // Rows leave the selection once re-wrapped, so batches advance without a cursor.
        ({ rows: batch } = await client.query<KeyRow>(
          `SELECT key_id, namespace, tenant, wrapped_key, wrapped_by FROM strata.tenant_keys
            WHERE wrapped_by = $1 AND wrapped_key IS NOT NULL
            ORDER BY key_id LIMIT $2 FOR UPDATE`,
          [fromKid, this.#batch],
        ));
        for (const row of batch) {
          const key = this.#unwrapWith(from, row);
          try {
            await client.query(`UPDATE strata.tenant_keys SET wrapped_key = $2, wrapped_by = $3 WHERE key_id = $1`, [
              row.key_id,
              wrapKey(to, key, kekContext(row)),
              toKid,
            ]);
          } finally {
            key.fill(0);
          }
        }
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
      rewrapped.push(...batch.map((row) => row.key_id));
      if (batch.length < this.#batch) return rewrapped;
    }
  }

  async keysWrappedBy(kid: string): Promise<string[]> {
    const { rows } = await this.#pool.query<{ key_id: string }>(
      `SELECT key_id FROM strata.tenant_keys WHERE wrapped_by = $1 AND wrapped_key IS NOT NULL ORDER BY key_id`,
      [kid],
    );
    return rows.map((row) => row.key_id);
  }

  /** `epoch`: the change feed's epoch when `row` was read (a change since then: do not cache). */
  #unwrap(row: KeyRow, epoch: number | undefined): Buffer {
    if (row.wrapped_key === null || row.wrapped_by === null) {
      this.#forget(row.key_id);
      throw new StrataError('KEY_SHREDDED', `tenant key '${row.key_id}' has been shredded`, { kek: row.key_id });
    }
    const cached = this.#cache.get(row.key_id);
    if (cached && cached.expires > this.#now()) return cached.key;
    const key = this.#unwrapWith(this.#keyring.key(row.wrapped_by), row);
    this.#remember(row.key_id, key, epoch);
    return key;
  }

  #unwrapWith(masterKey: Buffer, row: KeyRow): Buffer {
    const key = row.wrapped_key === null ? undefined : unwrapKey(masterKey, row.wrapped_key, kekContext(row));
    if (!key) {
      throw new StrataError(
        'DECRYPTION_FAILED',
        `tenant key '${row.key_id}' could not be unwrapped with master key '${row.wrapped_by}'`,
        {
          kek: row.key_id,
          kid: row.wrapped_by,
        },
      );
    }
    return key;
  }

  #remember(kekId: string, key: Buffer, epoch: number | undefined): void {
    const changes = this.#changes;
    if (changes && (!changes.listening || changes.epoch !== epoch)) return;
    this.#cache.set(kekId, { key: Buffer.from(key), expires: this.#now() + this.#ttl });
  }

  #forget(kekId: string): void {
    this.#cache.delete(kekId);
  }
}
