import { expect, test } from 'vitest';
import { startStack, waitFor } from './stack-fixture.js';

/**
 * The whole pipeline through real processes and HTTP only: API → PostgreSQL log → relay → Kafka
 * → projector → Redis views → an SDK in another process; then the log's answers about the past,
 * a revert, and the hash chain.
 */
const ns = 'shop';
const P = `/v1/namespaces/${ns}/envs/prod`;
const manifest = {
  keys: {
    'rate_limit.requests_per_minute': { type: 'integer', default: 60, minimum: 1, maximum: 10000 },
    'ui.theme': { type: 'string', default: 'light', enum: ['light', 'dark'] },
  },
  flags: { new_checkout: { type: 'boolean', description: 'the new checkout' } },
  secrets: {},
};

interface Change {
  type: string;
  kind?: string;
  key?: string;
  tenant?: string | null;
  value?: unknown;
  position?: number;
  read?: unknown;
}

test('a write is readable through Kafka, the projector and another process’s SDK; the past, revert and the chain hold', async () => {
  await using stack = await startStack();
  const ok = async (method: string, path: string, body?: unknown) => {
    const answer = await stack.call(method, path, body);
    if (answer.status >= 300) throw new Error(`${method} ${path} → ${answer.status} ${answer.text}`);
    return answer.body;
  };

  // 1. Writes through HTTP; every one answers its log position.
  const published = await ok('PUT', `/v1/namespaces/${ns}/manifest`, { ...manifest, reason: 'e2e' });
  expect(published.position).toBeGreaterThan(0);
  await ok('PUT', `${P}/config/rate_limit.requests_per_minute`, { value: 100, reason: 'env' });
  await ok('PUT', `${P}/tenants/acme/config/rate_limit.requests_per_minute`, { value: 500, reason: 'tier 2' });
  await ok('PUT', `${P}/flags/new_checkout`, { rollout: 25, enabled: true, reason: 'ramp' });
  const override = await ok('PUT', `${P}/tenants/acme/flags/new_checkout`, { override: 'disabled', reason: 'beta' });
  const before = override.position as number;

  // 2. Read-your-writes: the views (fed by relay → Kafka → projector) reach the write's position.
  const then = await ok('GET', `${P}/tenants/acme/config?minPosition=${before}`);
  expect(then.position).toBeGreaterThanOrEqual(before);
  expect(then.values['rate_limit.requests_per_minute']).toMatchObject({ value: 500, source: 'tenant' });
  expect(then.values['ui.theme']).toMatchObject({ value: 'light', source: 'default' });
  const globex = await ok('GET', `${P}/tenants/globex/config?minPosition=${before}`);
  expect(globex.values['rate_limit.requests_per_minute']).toMatchObject({ value: 100, source: 'environment' });
  expect(await ok('GET', `${P}/tenants/acme/flags/new_checkout?minPosition=${before}`)).toMatchObject({
    enabled: false,
    reason: 'override',
  });
  const historyThen = (await ok('GET', `/v1/events?namespace=${ns}&limit=1000`)).events as { position: number }[];
  expect(historyThen.map((e) => e.position).at(-1)).toBe(before);

  // 3. An SDK in another process sees the next changes; its read right after equals the new value.
  const sdk = stack.spawnScript('sdk', 'test/e2e/sdk-child.ts', { SDK_NAMESPACE: ns, SDK_ENV: 'prod' });
  const lines = (): Change[] =>
    sdk
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Change);
  await waitFor(() => lines().some((l) => l.type === 'ready'), 'the SDK child to load', 20_000);
  const changed = await ok('PUT', `${P}/tenants/acme/config/rate_limit.requests_per_minute`, {
    value: 750,
    reason: 'upgrade',
  });
  const flipped = await ok('PUT', `${P}/tenants/acme/flags/new_checkout`, { override: 'enabled', reason: 'go' });
  const seenValue = await waitFor(
    () => lines().find((l) => l.type === 'change' && l.key === 'rate_limit.requests_per_minute' && l.tenant === 'acme'),
    'the SDK child to see the new rate limit',
    10_000,
  );
  expect(seenValue).toMatchObject({ value: 750, read: 750, position: changed.position });
  const seenFlag = await waitFor(
    () => lines().find((l) => l.type === 'change' && l.key === 'new_checkout' && l.tenant === 'acme'),
    'the SDK child to see the override',
    10_000,
  );
  expect(seenFlag).toMatchObject({ value: true, read: true, position: flipped.position });
  const now = await ok('GET', `${P}/tenants/acme/config?minPosition=${flipped.position}`);
  expect(now.values['rate_limit.requests_per_minute']).toMatchObject({ value: 750, source: 'tenant' });

  // 4. The past, from the log: exactly what was read then.
  const past = await ok('GET', `${P}/tenants/acme/config?position=${before}`);
  expect(past.values).toEqual(then.values);

  // 5. Revert to that state: compensating events, the old ones untouched.
  const dry = await stack.call('POST', `${P}/revert`, { to: { position: before }, dryRun: true, reason: 'dry' });
  expect(dry.status).toBe(200);
  expect(dry.body.plan.streams.length).toBeGreaterThan(0);
  const reverted = await ok('POST', `${P}/revert`, { to: { position: before }, dryRun: false, reason: 'undo' });
  expect(reverted.position).toBeGreaterThan(flipped.position);
  const restored = await ok('GET', `${P}/tenants/acme/config?minPosition=${reverted.position}`);
  const strip = (values: Record<string, { value: unknown; source: string }>) =>
    Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v.value, source: v.source }]));
  expect(strip(restored.values)).toEqual(strip(then.values));
  expect(await ok('GET', `${P}/tenants/acme/flags/new_checkout?minPosition=${reverted.position}`)).toMatchObject({
    enabled: false,
    reason: 'override',
  });
  await waitFor(
    () =>
      lines().some(
        (l) => l.key === 'rate_limit.requests_per_minute' && l.tenant === 'acme' && l.value === 500 && l.read === 500,
      ),
    'the SDK child to see the revert',
    10_000,
  );

  const historyNow = (await ok('GET', `/v1/events?namespace=${ns}&limit=1000`)).events as { position: number }[];
  expect(historyNow.slice(0, historyThen.length)).toEqual(historyThen);
  expect(historyNow.at(-1)!.position).toBe(reverted.position);
  expect(historyNow.length).toBeGreaterThan(historyThen.length + 2);

  const verified = await ok('GET', '/v1/verify');
  expect(verified).toMatchObject({ ok: true });
  expect(verified.checked).toBeGreaterThanOrEqual(reverted.position);
}, 90_000);
