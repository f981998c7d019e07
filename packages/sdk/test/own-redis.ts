import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { expect } from 'vitest';
import { Redis } from 'ioredis';
import { freePort } from '@strata/testing';

/**
 * A redis-server of the spec's own on a free port, for specs that kill and restart Redis: the
 * shared server must never be restarted (other specs use it in parallel).
 */

const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** An empty, non-persistent redis-server on `port`; resolves once it accepts connections. */
const startRedis = async (port: number, children: ChildProcess[]): Promise<ChildProcess> => {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  const output: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server not ready:\n${output.join('\n')}`)), 5_000);
    child.once('error', (error) => (clearTimeout(timer), reject(error)));
    child.once(
      'exit',
      (code, signal) => (
        clearTimeout(timer),
        reject(new Error(`redis-server exited (${code ?? signal}):\n${output.join('\n')}`))
      ),
    );
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        output.push(line);
        if (line.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
    }
  });
  return child;
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
  const children: ChildProcess[] = [];
  const connections: Redis[] = [];
  try {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    let current = await startRedis(port, children);
    await body({
      url,
      /** A connection to the current server that gives up (no reconnect) when it dies. */
      redis: async () => {
        const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
        redis.on('error', () => undefined);
        connections.push(redis);
        await redis.connect();
        return redis;
      },
      kill: async () => {
        current.kill('SIGKILL');
        await exited(current);
        expect(alive(current.pid!)).toBe(false);
      },
      /** A new, empty server on the same port: a restart without persistence. */
      restart: async () => {
        current = await startRedis(port, children);
      },
    });
  } finally {
    for (const redis of connections) redis.disconnect();
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited(child);
    }
    for (const child of children) if (child.pid !== undefined) expect(alive(child.pid)).toBe(false);
  }
};
