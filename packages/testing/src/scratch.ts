import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import pg from 'pg';
import { migrate } from '@strata/postgres-log';

/**
 * Server fixtures that need no vitest (`@strata/testing/scratch`): benchmarks run under plain tsx,
 * specs get the same pieces through `createTestDatabase` and `testRedis`.
 */

/** Runs one statement on the maintenance database (CREATE/DROP DATABASE cannot run in a transaction). */
export const adminQuery = async (maintenanceUrl: string, sql: string): Promise<void> => {
  const client = new pg.Client({ connectionString: maintenanceUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
};

/**
 * Waits (bounded) until nobody is connected to a database. `pool.end()` can resolve while its
 * clients are still saying goodbye; dropping the database WITH (FORCE) under them would make
 * them emit errors after the spec has finished.
 */
export const waitUntilUnused = async (maintenanceUrl: string, database: string, timeoutMs: number): Promise<void> => {
  const client = new pg.Client({ connectionString: maintenanceUrl });
  await client.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const { rows } = await client.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [database],
      );
      if ((rows[0]?.n ?? 0) === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await client.end();
  }
};

/** Deletes every key under `prefix`, in SCAN batches with UNLINK so Redis never blocks long. */
export const deleteByPrefix = async (client: Redis, prefix: string): Promise<void> => {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await client.unlink(...keys);
  } while (cursor !== '0');
};

export interface ScratchDatabase extends AsyncDisposable {
  url: string;
  name: string;
}

/** `strata_<label>_<random>` on the server of `adminUrl`, migrated unless `migrated: false`; dropped on dispose, once its sessions are gone (3 s at most). */
export const scratchDatabase = async (
  adminUrl: string,
  label: string,
  options: { migrated?: boolean } = {},
): Promise<ScratchDatabase> => {
  const name = `strata_${label}_${randomBytes(4).toString('hex')}`;
  await adminQuery(adminUrl, `CREATE DATABASE "${name}"`);
  const url = Object.assign(new URL(adminUrl), { pathname: `/${name}` }).toString();
  const drop = () => adminQuery(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  try {
    if (options.migrated !== false) await migrate(url);
  } catch (error) {
    await drop();
    throw error;
  }
  return {
    url,
    name,
    [Symbol.asyncDispose]: async () => {
      await waitUntilUnused(adminUrl, name, 3_000);
      await drop();
    },
  };
};

/**
 * Every key under `prefix` with its content, whatever its type (hashes as objects, sets sorted),
 * keys sorted: for byte-exact before/after comparisons and for searching all of it for a leak.
 */
export const dumpKeys = async (client: Redis, prefix: string): Promise<Record<string, unknown>> => {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...found);
  } while (cursor !== '0');
  const out: Record<string, unknown> = {};
  for (const key of keys.sort()) {
    const type = await client.type(key);
    out[key] =
      type === 'string'
        ? await client.get(key)
        : type === 'hash'
          ? await client.hgetall(key)
          : type === 'set'
            ? (await client.smembers(key)).sort()
            : type === 'list'
              ? await client.lrange(key, 0, -1)
              : type === 'zset'
                ? await client.zrange(key, 0, -1, 'WITHSCORES')
                : type === 'stream'
                  ? await client.xrange(key, '-', '+')
                  : `unknown type ${type}`;
  }
  return out;
};
