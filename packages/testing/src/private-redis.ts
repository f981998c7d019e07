import { type ChildProcess } from 'node:child_process';
import { spawnTied } from '@strata/service-runtime';
import { createInterface } from 'node:readline';
import { freePort } from './wait.js';

/**
 * A redis-server of its own, for fault tests that stop and start Redis: the shared one must never
 * be stopped. Empty and without persistence, so a restart comes back empty, like a lost cache.
 * Disposing kills whatever server is running.
 */
export interface PrivateRedis extends AsyncDisposable {
  port: number;
  url: string;
  /** Every redis-server process it started, for specs that check none is left behind. */
  readonly pids: readonly number[];
  /** SIGKILL: connections drop at once, nothing is saved. */
  kill(): Promise<void>;
  /** A new, empty server on the same port. */
  start(): Promise<void>;
}

const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));

const launch = (port: number): Promise<ChildProcess> => {
  // Tied to the runner: a test run killed midway leaves no redis-server behind.
  const child = spawnTied(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output: string[] = [];
  return new Promise<ChildProcess>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server not ready:\n${output.join('\n')}`));
    }, 10_000);
    child.once('error', (error) => (clearTimeout(timer), reject(error)));
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (${code ?? signal}):\n${output.join('\n')}`));
    });
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        output.push(line);
        if (line.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve(child);
        }
      });
    }
  });
};

export const privateRedis = async (): Promise<PrivateRedis> => {
  const port = await freePort();
  const pids: number[] = [];
  const started = async () => {
    const child = await launch(port);
    if (child.pid !== undefined) pids.push(child.pid);
    return child;
  };
  let current: ChildProcess | null = await started();
  const kill = async () => {
    const child = current;
    current = null;
    if (!child) return;
    child.kill('SIGKILL');
    await exited(child);
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    pids,
    kill,
    async start() {
      if (current) throw new Error('the private redis-server is already running');
      current = await started();
    },
    [Symbol.asyncDispose]: kill,
  };
};
