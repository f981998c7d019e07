import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { expect, test } from 'vitest';
import { cleanupIfRunnerDies, shellQuote } from './runner-death-cleanup.js';

// spawnTied (service-runtime) and cleanupIfRunnerDies: nothing a test runner started outlives it.

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const childrenOf = (pid: number): number[] => {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
};
const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

/** A runner stand-in: runs `body` (an ES module snippet), prints its one-line answer, waits to be killed. */
const runner = async (body: string): Promise<{ pid: number; line: string }> => {
  const script = `${body}\nsetInterval(() => {}, 1000);`;
  const child = spawn(
    process.execPath,
    ['--conditions=@strata/source', '--import', 'tsx', '--input-type=module', '-e', script],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
  return { pid: child.pid!, line };
};

test.each(['SIGTERM', 'SIGKILL'])(
  'a child spawned tied dies (%s) when its parent is killed outright, and keeps its own PID',
  async (signal) => {
    const { pid: parent, line } = await runner(`
      const { spawnTied } = await import('@strata/service-runtime');
      const child = spawnTied('sleep', ['300'], { stdio: 'ignore' }, ${JSON.stringify(signal)});
      await new Promise((resolve) => child.once('spawn', resolve));
      console.log(child.pid);`);
    const pid = Number(line);
    expect(alive(pid)).toBe(true);
    // The PID spawn answered is the command itself (setpriv execs it), so signals reach it.
    await expect.poll(() => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]).toBe('sleep');
    process.kill(parent, 'SIGKILL');
    await expect.poll(() => alive(pid), { timeout: 5_000 }).toBe(false);
  },
);

test('the cleanup runs when the runner is killed outright, and nothing of it stays behind', async () => {
  const marker = path.join(mkdtempSync(path.join(tmpdir(), 'strata-reaper-')), 'cleaned');
  const { pid, line } = await runner(`
    const { cleanupIfRunnerDies } = await import('@strata/testing');
    const armed = cleanupIfRunnerDies(${JSON.stringify(`touch ${shellQuote(marker)}`)});
    console.log(armed.pid);`);
  const shell = Number(line);
  await expect.poll(() => childrenOf(shell).length).toBe(1); // its sleep: the traps are set
  const sleeper = childrenOf(shell)[0]!;
  expect(existsSync(marker)).toBe(false);
  process.kill(pid, 'SIGKILL');
  await expect.poll(() => existsSync(marker), { timeout: 5_000 }).toBe(true);
  await expect.poll(() => alive(shell) || alive(sleeper), { timeout: 5_000 }).toBe(false);
});

test('disarmed, it exits without running the cleanup and leaves no sleep behind', async () => {
  const marker = path.join(mkdtempSync(path.join(tmpdir(), 'strata-reaper-')), 'cleaned');
  const armed = cleanupIfRunnerDies(`touch ${shellQuote(marker)}`);
  await expect.poll(() => childrenOf(armed.pid!).length).toBe(1);
  const sleeper = childrenOf(armed.pid!)[0]!;
  await armed.disarm();
  expect(alive(armed.pid!)).toBe(false);
  await expect.poll(() => alive(sleeper)).toBe(false);
  expect(existsSync(marker)).toBe(false);
});

test('a private PostgreSQL (a daemon) stops when the runner that started it is killed outright', async () => {
  const { pid, line } = await runner(`
    const { privatePostgres } = await import('@strata/testing');
    const pg = await privatePostgres();
    console.log(pg.port);`);
  const port = Number(line);
  expect(await accepts(port)).toBe(true);
  process.kill(pid, 'SIGKILL');
  await expect.poll(() => accepts(port), { timeout: 15_000, interval: 200 }).toBe(false);
}, 90_000);
