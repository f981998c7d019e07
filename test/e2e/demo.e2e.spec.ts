import { createHash } from 'node:crypto';
import { expect, test } from 'vitest';
import { tenantIds, tenants } from '../../examples/shelfwise/shelfwise.js';
import { startStack, waitFor } from './stack-fixture.js';

/**
 * The ShelfWise demo (examples/shelfwise) as `npm run demo` tells it, against a stack of its own:
 * the story as one process, the sample SDK service as another.
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
  expect(out).toContain('plaintext found in PostgreSQL, Redis or Kafka: nowhere');
  expect(out).toMatch(/hash chain intact: [1-9]\d* events checked/);

  // The service saw the changes without a restart: tenant A's limit and every rollout step.
  await waitFor(
    () => (service.output().match(/hot reload: flag ai_recommendations for every tenant/g) ?? []).length >= 4,
    'the service to hot-reload three ramps and the revert',
    10_000,
  );
  expect(service.output()).toMatch(/hot reload: rate_limit\.requests_per_minute for tenant \w{8}: 100 → 1000/);
  expect(service.output()).not.toMatch(/service failed/);
}, 120_000);
