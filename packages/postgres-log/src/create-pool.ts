import pg from 'pg';

export interface CreatePoolOptions extends Omit<pg.PoolConfig, 'connectionString'> {
  /** Errors of idle connections (server restart, network): without a handler they crash the process. */
  onError?: (error: Error) => void;
}

/**
 * A pool for the event log. The service owns it and ends it on shutdown.
 *
 * Bounded by default, so a database that is down or stuck fails requests in seconds (503) instead
 * of holding them: waiting for a connection (`connectionTimeoutMillis`, pg-pool's default is
 * forever) and a statement (`statement_timeout`, enforced by the server) are limited, and TCP
 * keep-alive notices a peer that vanished. Broken connections leave the pool on their own, so it
 * recovers when the database is back, without a restart.
 */
export const createPool = (url: string, options: CreatePoolOptions = {}): pg.Pool => {
  const { onError, ...config } = options;
  const pool = new pg.Pool({
    max: 10,
    connectionTimeoutMillis: 5_000,
    statement_timeout: 30_000,
    idle_in_transaction_session_timeout: 60_000,
    keepAlive: true,
    ...config,
    connectionString: url,
  });
  pool.on('error', onError ?? ((error) => console.error('strata postgres pool error', error)));
  return pool;
};

/**
 * Opens the connections `pool` keeps (its `min`), all at once, and readies each with `prepare`
 * (for the event log: `PostgresEventLog.prepareConnection`), so the first requests find warm
 * connections instead of each paying a backend start, catalog loads and statement parses; being
 * the pool's minimum, they stay open through quiet periods. Best effort: a connection that fails
 * to open or prepare is left to the pool, which opens another on demand; the first such error is
 * returned (not thrown), for the caller to log.
 */
export const warmPool = async (
  pool: pg.Pool,
  prepare: (client: pg.PoolClient) => Promise<void>,
): Promise<Error | null> => {
  const size = pool.options.min ?? 0;
  const outcomes = await Promise.allSettled(
    Array.from({ length: size }, async () => {
      const client = await pool.connect();
      try {
        await prepare(client);
        client.release();
      } catch (error) {
        // A connection that failed half-way may be in any state: the pool drops it.
        client.release(error as Error);
        throw error;
      }
    }),
  );
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  return failed ? (failed.reason as Error) : null;
};

/** A readiness probe: throws unless PostgreSQL answers a query through `pool`. */
export const pingPostgres = async (pool: pg.Pool): Promise<void> => {
  await pool.query('SELECT 1');
};
