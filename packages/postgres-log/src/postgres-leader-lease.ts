import {
  fenceCheckpoints,
  StrataError,
  type Checkpoints,
  type LeaderLease,
  type Lease,
  type LeaseLoss,
} from '@strata/core';
import type pg from 'pg';
import { createPool } from './create-pool.js';
import { PostgresCheckpoints } from './postgres-checkpoints.js';

export interface PostgresLeaderLeaseOptions {
  /** Names the session in `pg_stat_activity`, so an operator can see (and end) it. */
  applicationName?: string;
  /** How often a held lease checks its session (and how fast a half-open connection is noticed). */
  renewEveryMs?: number;
  /** Failures of the lease's connection; the lease itself reports the loss through `lost`. */
  onError?: (error: Error) => void;
}

/**
 * Leadership as a session-level advisory lock on one dedicated connection: the session is the lease.
 * When the connection dies PostgreSQL ends the session and frees the lock, so another candidate
 * takes over; the holder notices the same failure (an error on the connection, or a renewal that
 * fails) and its lease is lost. Its fenced checkpoints are written through that same session, so a
 * holder whose session is gone cannot move them, whether it noticed yet or not.
 */
export class PostgresLeaderLease implements LeaderLease {
  readonly #pool: pg.Pool;
  readonly #renewEveryMs: number;
  readonly #onError: (error: Error) => void;
  /** The connection kept between attempts, so a standby does not reconnect every time. */
  #standby: pg.PoolClient | undefined;
  #lease: PostgresLease | undefined;

  constructor(databaseUrl: string, options: PostgresLeaderLeaseOptions = {}) {
    this.#renewEveryMs = options.renewEveryMs ?? 1_000;
    this.#onError = options.onError ?? ((error) => console.error('strata leader lease connection error', error));
    // query_timeout turns a half-open connection into an error within seconds instead of a holder
    // that never notices.
    this.#pool = createPool(databaseUrl, {
      max: 1,
      keepAlive: true,
      query_timeout: 5_000,
      application_name: options.applicationName ?? 'strata-leader-lease',
      onError: this.#onError,
    });
  }

  async tryAcquire(name: string): Promise<Lease | undefined> {
    if (this.#lease?.held) throw new StrataError('BAD_REQUEST', `this candidate already holds lease ${name}`);
    let client = this.#standby;
    try {
      if (!client) {
        client = await this.#pool.connect();
        // A checked-out client with no 'error' listener would crash the process on a dropped
        // connection; the failed query that follows tells us to reconnect.
        client.on('error', this.#onError);
        this.#standby = client;
      }
      const { rows } = await client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked',
        [name],
      );
      if (!rows[0]?.locked) return undefined;
      this.#standby = undefined;
      this.#lease = new PostgresLease(name, client, this.#renewEveryMs, this.#onError);
      return this.#lease;
    } catch (error) {
      if (client) {
        client.removeListener('error', this.#onError);
        client.release(true);
      }
      this.#standby = undefined;
      throw error;
    }
  }

  async close(): Promise<void> {
    this.#standby?.removeListener('error', this.#onError);
    this.#standby?.release();
    this.#standby = undefined;
    await this.#pool.end();
  }
}

class PostgresLease implements Lease {
  #held = true;
  #lost!: (loss: LeaseLoss) => void;
  readonly lost = new Promise<LeaseLoss>((resolve) => (this.#lost = resolve));
  readonly checkpoints: Checkpoints;
  readonly #client: pg.PoolClient;
  readonly #renewal: NodeJS.Timeout;
  readonly #onError: (error: Error) => void;
  readonly #onClientError = (error: Error) => this.#lose('lock connection failed', error);
  #released = false;

  constructor(
    readonly name: string,
    client: pg.PoolClient,
    renewEveryMs: number,
    onError: (error: Error) => void,
  ) {
    this.#client = client;
    this.#onError = onError;
    this.checkpoints = fenceCheckpoints(this, new PostgresCheckpoints(client));
    client.on('error', this.#onClientError);
    this.#renewal = setInterval(() => void this.renew(), renewEveryMs);
  }

  get held(): boolean {
    return this.#held;
  }

  async renew(): Promise<boolean> {
    if (!this.#held) return false;
    try {
      await this.#client.query('SELECT 1');
    } catch (error) {
      this.#lose('lock connection check failed', error);
    }
    return this.#held;
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    clearInterval(this.#renewal);
    this.#client.removeListener('error', this.#onClientError);
    // A destroyed connection keeps its error listener: a late error on it must not crash the process.
    if (!this.#held) {
      // Destroy the connection: if the session still exists somewhere, ending it frees the lock.
      this.#client.release(true);
      return;
    }
    this.#held = false;
    try {
      await this.#client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [this.name]);
      this.#client.removeListener('error', this.#onError);
      this.#client.release();
    } catch {
      this.#client.release(true);
    }
  }

  #lose(reason: string, cause: unknown): void {
    // Synchronously, before anything else runs: users check `held` before every step.
    if (!this.#held) return;
    this.#held = false;
    clearInterval(this.#renewal);
    this.#lost({ reason, cause });
  }
}
