import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { expect, test } from 'vitest';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A parent that spawns `sleep 300` tied to itself, prints its PID, then waits to be killed. */
const parentOfSleep = (signal: string) => {
  const script = `
    const { spawnTied } = await import('@strata/service-runtime');
    const child = spawnTied('sleep', ['300'], { stdio: 'ignore' }, ${JSON.stringify(signal)});
    child.once('spawn', () => console.log(child.pid));
    setInterval(() => {}, 1000);`;
  return spawn(
    process.execPath,
    ['--conditions=@strata/source', '--import', 'tsx', '--input-type=module', '-e', script],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
};

test.each(['SIGTERM', 'SIGKILL'])(
  'a child spawned tied dies (%s) when its parent is killed outright, and keeps its own PID',
  async (signal) => {
    const parent = parentOfSleep(signal);
    const pid = await new Promise<number>((resolve) =>
      createInterface({ input: parent.stdout! }).once('line', (line) => resolve(Number(line))),
    );
    expect(alive(pid)).toBe(true);
    // The PID spawn answered is the command itself (setpriv execs it), so signals reach it.
    await expect.poll(() => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]).toBe('sleep');
    parent.kill('SIGKILL');
    await expect.poll(() => alive(pid), { timeout: 5_000 }).toBe(false);
  },
);
