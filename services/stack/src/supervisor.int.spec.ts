import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@strata/testing';
import { Supervisor, type GaveUp } from './supervisor.js';

/**
 * The supervisor behind `npm start` with real child processes (node --import tsx, as for the
 * services): small scripts that crash a given number of times, or always.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
let dir = '';

/** Exits with `code` on its first `crashes` runs (counted in a file), then stays up until SIGTERM. */
const crashingScript = (file: string, crashes: number, code: number) => `
import { readFileSync, writeFileSync } from 'node:fs';
const counter = ${JSON.stringify(file)};
let runs = 0;
try { runs = Number(readFileSync(counter, 'utf8')); } catch {}
writeFileSync(counter, String(runs + 1));
console.log('run ' + (runs + 1));
if (runs < ${crashes}) process.exit(${code});
console.log('up');
const keepAlive = setInterval(() => {}, 1000);
process.on('SIGTERM', () => { clearInterval(keepAlive); console.log('stopping'); });
`;

const script = async (name: string, crashes: number, code = 1) => {
  const file = path.join(dir, `${name}.mjs`);
  await writeFile(file, crashingScript(path.join(dir, `${name}.count`), crashes, code));
  return file;
};

const recorder = () => {
  const lines: { at: number; line: string }[] = [];
  return { lines, log: (line: string) => lines.push({ at: Date.now(), line }), text: () => lines.map((l) => l.line) };
};

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'strata-supervisor-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A supervisor whose workers never count as stable within a test: every exit is a restart. */
const restarting = (
  out: ReturnType<typeof recorder>,
  delays: { maxRestarts: number; initialDelayMs: number; maxDelayMs: number },
) => new Supervisor(root, out.log, { ...delays, stableAfterMs: 60_000 });

describe('Supervisor', () => {
  it('restarts a crashing worker with growing delays until it stays up, without giving up', async () => {
    const entry = await script('flaky', 3);
    const out = recorder();
    const supervisor = restarting(out, { maxRestarts: 5, initialDelayMs: 400, maxDelayMs: 5_000 });
    let gaveUp: GaveUp | undefined;
    void supervisor.gaveUp.then((value) => (gaveUp = value));
    try {
      supervisor.start({ name: 'flaky', entry });
      await waitFor(() => out.text().some((l) => l.endsWith('| up')), 'the fourth run to stay up', 30_000);
      expect(supervisor.running()).toEqual(['flaky']);
      const restarts = out.lines.filter(({ line }) => line.includes('restarting in'));
      expect(restarts.map(({ line }) => line.replace(/^flaky\s*\| /, ''))).toEqual([
        expect.stringMatching(/^exited with code 1; restarting in 0\.[345]\d* s \(restart 1 of at most 5\)$/),
        expect.stringMatching(/^exited with code 1; restarting in (0\.[6-9]|1\.0)\d* s \(restart 2 of at most 5\)$/),
        expect.stringMatching(/^exited with code 1; restarting in 1\.\d+ s \(restart 3 of at most 5\)$/),
      ]);
      // Each restart waited at least its announced delay before the next run began.
      const runs = out.lines.filter(({ line }) => /\| run \d$/.test(line));
      expect(runs).toHaveLength(4);
      for (const [i, restart] of restarts.entries()) {
        const delayMs = Number(/restarting in ([\d.]+) s/.exec(restart.line)![1]) * 1000;
        expect(runs[i + 1]!.at - restart.at).toBeGreaterThanOrEqual(delayMs - 100);
      }
    } finally {
      await supervisor.stop();
    }
    expect(supervisor.running()).toEqual([]);
    expect(gaveUp).toBeUndefined();
    expect(out.text().at(-1)).toMatch(/\| stopping$/);
  }, 60_000);

  it('gives up on a worker that keeps failing, loudly, after the bounded number of restarts', async () => {
    const entry = await script('broken', 1_000, 3);
    const out = recorder();
    const supervisor = restarting(out, { maxRestarts: 3, initialDelayMs: 100, maxDelayMs: 1_000 });
    try {
      supervisor.start({ name: 'broken', entry });
      const gaveUp = await Promise.race([
        supervisor.gaveUp,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('did not give up')), 30_000)),
      ]);
      expect(gaveUp).toEqual({ name: 'broken', code: 3, restarts: 3 });
      expect(out.text().filter((l) => /\| run \d+$/.test(l))).toHaveLength(4);
      expect(out.text().at(-1)).toMatch(
        /^broken\s*\| exited with code 3 and keeps failing: giving up after 3 restarts in a row/,
      );
      expect(supervisor.running()).toEqual([]);
    } finally {
      await supervisor.stop();
    }
  }, 60_000);

  it('does not restart a one-shot program that exits', async () => {
    const entry = await script('once', 1, 0);
    const out = recorder();
    const supervisor = new Supervisor(root, out.log, { initialDelayMs: 100 });
    try {
      const child = supervisor.start({ name: 'once', entry, restart: false });
      await new Promise((resolve) => child.once('exit', resolve));
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(out.text()).toEqual(['once     | run 1', 'once     | exited with code 0']);
    } finally {
      await supervisor.stop();
    }
  }, 30_000);
});
