import pg from 'pg';

export interface CreatePoolOptions extends Omit<pg.PoolConfig, 'connectionString'> {
  /** Errors of idle connections (server restart, network): without a handler they crash the process. */
  onError?: (error: Error) => void;
}

/** A pool for the event log. The service owns it and ends it on shutdown. */
export const createPool = (url: string, options: CreatePoolOptions = {}): pg.Pool => {
  const { onError, ...config } = options;
  const pool = new pg.Pool({ max: 10, ...config, connectionString: url });
  pool.on('error', onError ?? ((error) => console.error('strata postgres pool error', error)));
  return pool;
};
