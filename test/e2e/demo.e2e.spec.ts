import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { tenantIds, tenants } from '../../examples/shelfwise/shelfwise.js';
import { repoRoot, startStack, waitFor } from './stack-fixture.js';
import { spawnTied } from '@strata/service-runtime';

/**
 * The ShelfWise demo (examples/shelfwise) as `npm run demo` tells it, against a stack of its own:
 * the story as one process, the sample SDK service as another, and its Python twin (through
 * packages/client-python) as a third.
 */
const bucket = (tenant: string, flag: string) =>
  parseInt(createHash('sha256').update(`${tenant}:${flag}`).digest('hex').slice(0, 8), 16) % 100;

/** What the story must count: the seed's buckets, beta forced on, restricted forced off. */
const expectedEnabled = (rollout: number) =>
  tenantIds.filter((t) =>
    t === tenants.beta ? true : t === tenants.restricted ? false : bucket(t, 'ai_recommendations') < rollout,
  ).length;

test('the ShelfWise story runs end to end and the sample service hot-reloads', async () => {
  // Per-request access logs of 1,000 flag reads are noise here.
  await using stack = await startStack({ env: { LOG_LEVEL: 'warn' } });
  const service = stack.spawnScript('service', 'examples/shelfwise/service.ts');
  await waitFor(() => service.output().includes('ShelfWise service up'), 'the sample service to start', 20_000);
  let python = '';
  const pythonService = spawnTied('python3', [join(repoRoot, 'examples/shelfwise/service.py')], {
    env: { ...process.env, ...stack.env, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pythonExited = new Promise((resolve) => pythonService.once('exit', resolve));
  for (const stream of [pythonService.stdout!, pythonService.stderr!])
    stream.on('data', (c: Buffer) => (python += c.toString()));
  await waitFor(
    () => python.includes('ShelfWise service up (Python)'),
    `the Python service to start:\n${python}`,
    20_000,
  );

  const story = stack.spawnScript('story', 'examples/shelfwise/story.ts');
  const exit = await Promise.race([
    story.exited,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`the story did not finish in 60 s:\n${story.output()}`)), 60_000),
    ),
  ]);
  const out = story.output();
  expect(exit, out).toEqual({ code: 0, signal: null });

  for (const rollout of [5, 25, 100]) {
    const line = out.split('\n').find((l) => new RegExp(`^\\s+${rollout}%: `).test(l));
    expect(line, `the ${rollout}% line in:\n${out}`).toBeDefined();
    expect(line).toContain(`${expectedEnabled(rollout)} of ${tenantIds.length} tenants enabled`);
    expect(line).toMatch(/beta on, restricted off$/);
  }
  expect(out).toContain(`${expectedEnabled(25)} of ${tenantIds.length} tenants enabled again, exactly as at 25%`);
  expect(out).toContain('the authorised inventory-sync token reads it back: the same value');
  expect(out).toMatch(/the same token asking for tenant A's secret: 403/);
  expect(out).toMatch(/a reader token without secret-read permission: 403/);
  expect(out).toMatch(/searched [1-9]\d* Kafka messages/);
  expect(out).toMatch(/hash chain intact: [1-9]\d* events checked/);

  // The service saw the changes without a restart: tenant A's limit and every rollout step.
  await waitFor(
    () => (service.output().match(/hot reload: flag ai_recommendations for every tenant/g) ?? []).length >= 4,
    'the service to hot-reload three ramps and the revert',
    10_000,
  );
  expect(service.output()).toMatch(/hot reload: rate_limit\.requests_per_minute for tenant \w{8}: 100 → 1000/);
  expect(service.output()).not.toMatch(/service failed/);

  // The story began by importing the legacy table with the CLI, atomically, and once only.
  expect(out).toMatch(/→ \d+ values?, 1 rollout, 2 overrides, 1 secret/);
  expect(out).toMatch(/imported: \d+ event\(s\) in one transaction at position \d+/);
  expect(out).toMatch(/again:\n\s+.*\n\s+nothing to write: the store already holds all of it/);
  expect(out).toContain(
    'plaintext (the imported key and the rotated one) found in PostgreSQL, Redis or Kafka: nowhere',
  );

  // The Python service hot-reloaded tenant A's imported limit, as the Node one did.
  await waitFor(
    () => /python: hot reload: rate_limit\.requests_per_minute for tenant A: (100|null) → 1000/.test(python),
    `the Python service to hot-reload tenant A's limit:\n${python}`,
    10_000,
  );
  pythonService.kill('SIGTERM');
  await pythonExited;
  expect(python).toContain('ShelfWise service (Python) stopping');
  expect(python).not.toMatch(/Traceback/);
}, 120_000);
