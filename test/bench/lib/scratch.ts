import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { migrate } from '@strata/postgres-log';

export const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const kafkaBrokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';

/** A short random id so concurrent runs (and other engineers' tests) never share a name. */
export const runId = (): string => randomBytes(4).toString('hex');

const admin = async (sql: string): Promise<void> => {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
};

export interface ScratchDatabase extends AsyncDisposable {
  url: string;
  name: string;
}

/** `strata_bench_<random>` on the admin server, migrated for Strata unless `migrated: false`; dropped on dispose. */
export const scratchDatabase = async (
  label: string,
  options: { migrated?: boolean } = {},
): Promise<ScratchDatabase> => {
  const name = `strata_bench_${label}_${runId()}`;
  await admin(`CREATE DATABASE "${name}"`);
  const url = Object.assign(new URL(adminUrl), { pathname: `/${name}` }).toString();
  const drop = () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  try {
    if (options.migrated !== false) await migrate(url);
  } catch (error) {
    await drop();
    throw error;
  }
  return { url, name, [Symbol.asyncDispose]: drop };
};

/** Deletes every Redis key under `prefix`. */
export const deleteRedisPrefix = async (prefix: string): Promise<void> => {
  const redis = new Redis(redisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
};

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
