import { join } from 'node:path';
import { expect, test } from 'vitest';
import { repoRoot, startStack } from './stack-fixture.js';
import { spawnTied } from '@strata/service-runtime';

/**
 * The Python client's own suite (`python3 -m unittest`, packages/client-python/tests) against a
 * stack of its own, so `npm test` covers it. Tests that need the change stream skip, loudly,
 * only when the server answers 404 for it; once it exists nothing may skip.
 */

const run = (env: Record<string, string>): Promise<{ code: number | null; output: string }> =>
  new Promise((resolve) => {
    const child = spawnTied('python3', ['-m', 'unittest', 'discover', '-s', 'tests', '-t', 'tests', '-v'], {
      cwd: join(repoRoot, 'packages/client-python'),
      env: { ...process.env, ...env, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });

test('python3 -m unittest: the Python client and its seed-compatible functions', async () => {
  await using stack = await startStack({ env: { LOG_LEVEL: 'warn' } });
  const probe = new AbortController();
  const stream = await fetch(`${stack.url}/v1/namespaces/probe/envs/prod/changes`, {
    headers: { authorization: `Bearer ${stack.adminToken}` },
    signal: probe.signal,
  });
  probe.abort();
  const { code, output } = await run({ STRATA_URL: stack.url, STRATA_TOKEN: stack.adminToken });
  expect(code, output).toBe(0);
  const ran = /^Ran (\d+) tests? in/m.exec(output);
  expect(ran, output).not.toBeNull();
  expect(Number(ran![1]), output).toBeGreaterThanOrEqual(12);
  // The change stream exists, so no Python test may skip for want of it.
  expect(stream.status).toBe(200);
  expect(/skipped=(\d+)/.exec(output), output).toBeNull();
  // The measured hot-reload latency, for the report.
  const latency = /write → visible in the Python client: .*/.exec(output)?.[0];
  if (latency) console.info(latency);
}, 300_000);
