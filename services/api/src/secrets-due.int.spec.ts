import { afterAll, beforeAll, expect, test } from 'vitest';
import { testApi, type TestApi } from './api-fixture.js';

/** Rotation cadence: manifest `rotateEvery`, `GET /v1/secrets/due` and the overdue gauge. */
let api: TestApi;
const manifest = {
  keys: {},
  flags: {},
  secrets: {
    // Due a second after each version: the spec waits for that instead of moving clocks.
    'erp.api_key': { description: 'ERP key', rotateEvery: 'PT1S' },
    'stripe.api_key': { rotateEvery: 'P90D' },
    'smtp.password': {},
  },
};

const put = async (path: string, value: string) => {
  const answer = await api.call('PUT', path, { body: { value } });
  expect(answer.statusCode).toBe(200);
};

beforeAll(async () => {
  api = await testApi();
  for (const ns of ['shop', 'books']) {
    expect((await api.call('PUT', `/v1/namespaces/${ns}/manifest`, { body: manifest })).statusCode).toBe(200);
  }
  await put('/v1/namespaces/shop/envs/prod/secrets/erp.api_key', 'v1');
  await put('/v1/namespaces/shop/envs/prod/tenants/acme/secrets/erp.api_key', 'acme-v1');
  await put('/v1/namespaces/shop/envs/prod/tenants/globex/secrets/erp.api_key', 'globex-v1');
  await put('/v1/namespaces/shop/envs/staging/secrets/stripe.api_key', 's1');
  await put('/v1/namespaces/shop/envs/prod/secrets/smtp.password', 'never due');
  await put('/v1/namespaces/books/envs/prod/secrets/erp.api_key', 'b1');
  await new Promise((resolve) => setTimeout(resolve, 1_200));
});
afterAll(async () => api?.[Symbol.asyncDispose]());

const due = async (query = '', token?: string) => {
  const answer = await api.call('GET', `/v1/secrets/due${query}`, token === undefined ? {} : { token });
  return { status: answer.statusCode, body: answer.json() as { overdue: number; secrets: Record<string, unknown>[] } };
};

test('overdue versions are listed per scope with age and due date; soon-due ones with `within`', async () => {
  const all = await due();
  expect(all.status).toBe(200);
  expect(all.body.overdue).toBe(4);
  const shopProd = await due('?namespace=shop&env=prod');
  expect(shopProd.body.secrets.map((s) => [s['tenant'], s['name'], s['version'], s['overdue']])).toEqual(
    expect.arrayContaining([
      [null, 'erp.api_key', 1, true],
      ['acme', 'erp.api_key', 1, true],
      ['globex', 'erp.api_key', 1, true],
    ]),
  );
  expect(shopProd.body.secrets).toHaveLength(3);
  const first = shopProd.body.secrets[0]!;
  expect(first).toMatchObject({ namespace: 'shop', env: 'prod', rotateEvery: 'PT1S' });
  expect(first['ageSeconds']).toBeGreaterThanOrEqual(1);
  expect(Date.parse(first['dueAt'] as string) - Date.parse(first['addedAt'] as string)).toBe(1_000);

  // P90D is not overdue, but due within 100 days.
  expect((await due('?namespace=shop&env=staging')).body.secrets).toEqual([]);
  const soon = await due('?namespace=shop&env=staging&within=P100D');
  expect(soon.body).toMatchObject({ overdue: 0, secrets: [{ name: 'stripe.api_key', overdue: false }] });

  // A new version resets the clock.
  await put('/v1/namespaces/shop/envs/prod/tenants/acme/secrets/erp.api_key', 'acme-v2');
  const after = await due('?namespace=shop&env=prod');
  // Version 2 is due a second after it was added: on a slow machine it may be listed already, never version 1.
  expect(after.body.secrets.filter((s) => s['tenant'] === 'acme').map((s) => s['version'])).not.toContain(1);
  expect((await due('?within=nonsense')).status).toBe(400);
});

test('secret-writer, auditor, operator and admin may ask within their scope; others may not', async () => {
  for (const role of ['secret-writer', 'auditor', 'operator']) {
    const token = await api.issue(role, { namespace: 'books' });
    const own = await due('', token);
    expect(own.status).toBe(200);
    expect(own.body.secrets.map((s) => s['namespace'])).toEqual(['books']);
    expect((await due('?namespace=shop', token)).status).toBe(403);
  }
  const globex = await api.issue('secret-writer', { namespace: 'shop', env: 'prod', tenant: 'globex' });
  expect((await due('', globex)).body.secrets.map((s) => s['tenant'])).toEqual(['globex']);
  for (const role of ['reader', 'writer', 'secret-reader']) {
    expect((await due('', await api.issue(role))).status).toBe(403);
  }
});

test('/metrics has the overdue gauge', async () => {
  // Versions only become overdue as time passes: the gauge lies between two listings around it.
  const before = (await due()).body.overdue;
  const metrics = await api.call('GET', '/metrics', { token: null });
  const after = (await due()).body.overdue;
  const gauge = Number(/^strata_secrets_overdue (\d+)$/m.exec(metrics.body)?.[1]);
  expect(gauge).toBeGreaterThanOrEqual(Math.max(before, 3));
  expect(gauge).toBeLessThanOrEqual(after);
});

test('a bad rotateEvery is refused at publish (422) and nothing is appended', async () => {
  const before = await api.eventCount();
  const answer = await api.call('PUT', '/v1/namespaces/shop/manifest', {
    body: { ...manifest, secrets: { ...manifest.secrets, 'erp.api_key': { rotateEvery: '90 days' } } },
  });
  expect(answer.statusCode).toBe(422);
  expect(answer.json()).toMatchObject({ detail: expect.stringContaining('secrets.erp.api_key: rotateEvery') });
  expect(await api.eventCount()).toBe(before);
});
