import { expect } from 'vitest';
import { Redis } from 'ioredis';
import { privateRedis } from '@strata/testing';

/**
 * A redis-server of the spec's own on a free port (`privateRedis` of @strata/testing), for specs
 * that kill and restart Redis: the shared server must never be restarted (other specs use it in
 * parallel).
 */

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * Runs `body` against its own redis-server (restartable through `restart`), then kills every
 * redis-server it started and checks that none of their pids is left, whatever happened.
 */
export const withOwnRedis = async (
  body: (own: {
    url: string;
    redis: () => Promise<Redis>;
    kill: () => Promise<void>;
    restart: () => Promise<void>;
  }) => Promise<void>,
): Promise<void> => {
  const connections: Redis[] = [];
  const own = await privateRedis();
  try {
    await body({
      url: own.url,
      /** A connection to the current server that gives up (no reconnect) when it dies. */
      redis: async () => {
        const redis = new Redis(own.url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
        redis.on('error', () => undefined);
        connections.push(redis);
        await redis.connect();
        return redis;
      },
      kill: async () => {
        await own.kill();
        expect(alive(own.pids.at(-1)!)).toBe(false);
      },
      /** A new, empty server on the same port: a restart without persistence. */
      restart: () => own.start(),
    });
  } finally {
    for (const redis of connections) redis.disconnect();
    await own[Symbol.asyncDispose]();
    for (const pid of own.pids) expect(alive(pid)).toBe(false);
  }
};
