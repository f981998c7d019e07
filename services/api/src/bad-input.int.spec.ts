import { afterAll, beforeAll, expect, test } from 'vitest';
import { adminToken, manifest, testApi, type TestApi } from './api-fixture.js';

/** Hostile and malformed requests: always a 4xx problem+json, never a 5xx, never an event. */
let api: TestApi;
beforeAll(async () => {
  api = await testApi();
  await api.call('PUT', '/v1/namespaces/shop/manifest', { body: manifest });
  await api.project();
});
afterAll(async () => api?.[Symbol.asyncDispose]());

const P = '/v1/namespaces/shop/envs/prod';
const longTenant = 'a'.repeat(10_240);
const cases: Array<{
  name: string;
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  url: string;
  raw?: string;
  body?: unknown;
  headers?: Record<string, string>;
}> = [
  { name: 'malformed JSON', method: 'PUT', url: `${P}/config/ui.theme`, raw: '{"value": "dark"' },
  { name: 'empty JSON body', method: 'PUT', url: `${P}/config/ui.theme`, raw: '' },
  { name: 'JSON array body', method: 'PUT', url: `${P}/config/ui.theme`, raw: '[1,2]' },
  {
    name: 'proto pollution',
    method: 'PUT',
    url: `${P}/config/ui.theme`,
    raw: '{"value":"dark","__proto__":{"admin":true}}',
  },
  {
    name: 'wrong type for value',
    method: 'PUT',
    url: `${P}/config/rate_limit.requests_per_minute`,
    body: { value: 'many' },
  },
  {
    name: 'value out of range',
    method: 'PUT',
    url: `${P}/config/rate_limit.requests_per_minute`,
    body: { value: 10_000_000 },
  },
  { name: 'missing value', method: 'PUT', url: `${P}/config/ui.theme`, body: { reason: 'no value' } },
  { name: 'unknown body key', method: 'PUT', url: `${P}/config/ui.theme`, body: { value: 'dark', admin: true } },
  { name: 'unknown manifest key', method: 'PUT', url: `${P}/config/not.declared`, body: { value: 1 } },
  { name: 'rollout wrong type', method: 'PUT', url: `${P}/flags/new_checkout`, body: { rollout: '50', enabled: true } },
  { name: 'rollout 101', method: 'PUT', url: `${P}/flags/new_checkout`, body: { rollout: 101, enabled: true } },
  { name: 'override bogus', method: 'PUT', url: `${P}/tenants/acme/flags/new_checkout`, body: { override: 'maybe' } },
  { name: 'oversized body', method: 'PUT', url: `${P}/config/ui.theme`, body: { value: 'x'.repeat(70_000) } },
  {
    name: 'wrong content type',
    method: 'PUT',
    url: `${P}/config/ui.theme`,
    raw: 'value=dark',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  },
  {
    name: 'path traversal namespace',
    method: 'PUT',
    url: '/v1/namespaces/..%2F..%2Fetc/envs/prod/config/ui.theme',
    body: { value: 'dark' },
  },
  { name: 'path traversal tenant', method: 'GET', url: `${P}/tenants/..%2F..%2Fpasswd/config` },
  {
    name: 'SQL fragment tenant',
    method: 'PUT',
    url: `${P}/tenants/acme'%3B%20DROP%20TABLE%20strata.events%3B--/config/ui.theme`,
    body: { value: 'dark' },
  },
  { name: 'SQL fragment key', method: 'PUT', url: `${P}/config/ui.theme'%20OR%201%3D1`, body: { value: 'dark' } },
  { name: 'control chars tenant', method: 'GET', url: `${P}/tenants/acme%00%0A%1B/config` },
  { name: 'control chars in events filter', method: 'GET', url: '/v1/events?actor=admin%00%0A' },
  {
    name: '10 KB tenant id',
    method: 'PUT',
    url: `${P}/tenants/${longTenant}/config/ui.theme`,
    body: { value: 'dark' },
  },
  { name: '10 KB tenant id read', method: 'GET', url: `${P}/tenants/${longTenant}/config` },
  {
    name: 'uppercase namespace',
    method: 'PUT',
    url: '/v1/namespaces/SHOP/envs/prod/config/ui.theme',
    body: { value: 'dark' },
  },
  { name: 'bad minPosition', method: 'GET', url: `${P}/tenants/acme/config?minPosition=-1` },
  { name: 'bad at', method: 'GET', url: `${P}/tenants/acme/config?at=yesterday` },
  {
    name: 'bad X-Strata-Min-Position on a read of the past',
    method: 'GET',
    url: `${P}/tenants/acme/flags/new_checkout?position=1`,
    headers: { 'x-strata-min-position': 'soon' },
  },
  { name: 'unknown query key', method: 'GET', url: `${P}/tenants/acme/config?debug=1` },
  {
    name: 'bad If-Match',
    method: 'PUT',
    url: `${P}/config/ui.theme`,
    body: { value: 'dark' },
    headers: { 'if-match': 'abc' },
  },
  {
    name: 'bad Idempotency-Key',
    method: 'PUT',
    url: `${P}/config/ui.theme`,
    body: { value: 'dark' },
    headers: { 'idempotency-key': 'a b\tc' },
  },
  { name: 'bad event type filter', method: 'GET', url: '/v1/events?type=DropTables' },
  { name: 'limit too large', method: 'GET', url: '/v1/events?limit=100000' },
  { name: 'revert without reason', method: 'POST', url: `${P}/revert`, body: { to: { position: 1 }, dryRun: false } },
  {
    name: 'revert to both',
    method: 'POST',
    url: `${P}/revert`,
    body: { to: { position: 1, at: '2020-01-01T00:00:00Z' }, reason: 'x' },
  },
  { name: 'token with bogus role', method: 'POST', url: '/v1/tokens', body: { role: 'root' } },
  { name: 'token with extra key', method: 'POST', url: '/v1/tokens', body: { role: 'reader', superuser: true } },
  { name: 'bad token id', method: 'DELETE', url: "/v1/tokens/1'%20OR%20'1'='1" },
  {
    name: 'manifest with bad schema',
    method: 'PUT',
    url: '/v1/namespaces/shop/manifest',
    body: { keys: { 'a.b': { type: 'uuid' } } },
  },
  {
    name: 'manifest with bad key name',
    method: 'PUT',
    url: '/v1/namespaces/shop/manifest',
    body: { keys: { '../x': { type: 'string' } } },
  },
  { name: 'secret not declared', method: 'PUT', url: `${P}/secrets/not.declared`, body: { value: 'x' } },
  { name: 'secret wrong type', method: 'PUT', url: `${P}/secrets/stripe.api_key`, body: { value: 42 } },
  {
    name: 'ofrep bad targeting key',
    method: 'POST',
    url: '/ofrep/v1/evaluate/flags/new_checkout',
    body: { context: { targetingKey: '../../x', namespace: 'shop', environment: 'prod' } },
  },
  {
    name: 'ofrep missing targeting key',
    method: 'POST',
    url: '/ofrep/v1/evaluate/flags/new_checkout',
    body: { context: { namespace: 'shop', environment: 'prod' } },
  },
  { name: 'ofrep context not an object', method: 'POST', url: '/ofrep/v1/evaluate/flags', body: { context: 'acme' } },
  { name: 'unknown route', method: 'GET', url: '/v1/../../etc/passwd' },
];

test.each(cases)('$name → 4xx problem, nothing appended', async ({ method, url, raw, body, headers }) => {
  const before = await api.eventCount();
  const response = await api.call(method, url, {
    ...(raw !== undefined ? { raw } : {}),
    ...(body !== undefined ? { body } : {}),
    ...(headers ? { headers } : {}),
  });
  expect(response.statusCode, response.body).toBeGreaterThanOrEqual(400);
  expect(response.statusCode, response.body).toBeLessThan(500);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  const problem = response.json();
  expect(problem).toMatchObject({
    type: expect.any(String),
    title: expect.any(String),
    status: response.statusCode,
    code: expect.any(String),
    errorId: expect.any(String),
  });
  expect(response.body).not.toMatch(/\bat .+\.(ts|js):\d+/); // never a stack trace
  expect(await api.eventCount()).toBe(before);
});

test('the errorId of a problem is in the log line', async () => {
  const response = await api.call('PUT', `${P}/config/ui.theme`, { raw: '{' });
  const { errorId } = response.json() as { errorId: string };
  expect(api.logLines.some((line) => line.includes(errorId))).toBe(true);
});

test('at LOG_LEVEL=info a served request writes no line, a rejected one its errorId; debug adds the request lines', async () => {
  await using quiet = await testApi({}, undefined, { logLevel: 'info' });
  const messages = (lines: string[]) => lines.map((line) => (JSON.parse(line) as { msg: string }).msg);
  const before = quiet.logLines.length;
  for (let i = 0; i < 5; i++) expect((await quiet.call('GET', '/v1/tokens')).statusCode).toBe(200);
  expect(messages(quiet.logLines.slice(before))).toEqual([]);
  const { errorId } = (await quiet.call('PUT', `${P}/config/ui.theme`, { raw: '{' })).json() as { errorId: string };
  const rejected = quiet.logLines.slice(before);
  expect(messages(rejected)).toEqual(['request rejected']);
  expect(rejected[0]).toContain(errorId);

  const seen = api.logLines.length; // the suite's API logs at debug
  expect((await api.call('GET', '/v1/tokens')).statusCode).toBe(200);
  const lines = api.logLines.slice(seen);
  expect(messages(lines)).toEqual(['incoming request', 'request completed']);
  expect(lines[0]).not.toContain(adminToken); // the authorization header is redacted
  expect(JSON.parse(lines[1]!)).toMatchObject({ level: 'debug', res: { statusCode: 200 } });
});

test('specific statuses: 413, 422, 404', async () => {
  expect((await api.call('PUT', `${P}/config/ui.theme`, { body: { value: 'x'.repeat(70_000) } })).statusCode).toBe(413);
  expect((await api.call('PUT', `${P}/config/ui.theme`, { body: { value: 'blue' } })).statusCode).toBe(422);
  expect((await api.call('GET', '/v1/nothing')).statusCode).toBe(404);
  expect((await api.call('GET', `${P}/secrets/stripe.api_key`)).statusCode).toBe(404);
});

test('rate limit per token → 429 problem with Retry-After', async () => {
  await using limited = await testApi({ ratePerSecond: 1, rateBurst: 3 });
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) statuses.push((await limited.call('GET', '/healthz', {})).statusCode);
  expect(statuses).toEqual([200, 200, 200, 200, 200]); // public routes are not limited per token
  const limitedStatuses: number[] = [];
  for (let i = 0; i < 5; i++) limitedStatuses.push((await limited.call('GET', '/v1/tokens')).statusCode);
  expect(limitedStatuses.slice(0, 3)).toEqual([200, 200, 200]);
  expect(limitedStatuses[4]).toBe(429);
  const response = await limited.call('GET', '/v1/tokens');
  expect(response.headers['retry-after']).toBeDefined();
  expect(response.json()).toMatchObject({ code: 'RATE_LIMITED' });
});
