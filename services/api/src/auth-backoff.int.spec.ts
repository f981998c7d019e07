import { afterAll, beforeAll, expect, test } from 'vitest';
import { adminToken, testApi, type TestApi } from './api-fixture.js';

/** Repeated failed authentication from one address backs off (429 + Retry-After) and is counted by reason. */
let api: TestApi;
beforeAll(async () => {
  api = await testApi({ authFailureAllowance: 10 });
});
afterAll(async () => api?.[Symbol.asyncDispose]());

const from = (remoteAddress: string, authorization?: string) =>
  api.app.inject({
    method: 'GET',
    url: '/v1/tokens',
    remoteAddress,
    headers: authorization === undefined ? {} : { authorization },
  });

const metric = async (name: string) => {
  const text = (await api.call('GET', '/metrics', { token: null })).body;
  return Number(new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
};

test('300 wrong tokens from one address: 10 quick 401s, then 429 with Retry-After', async () => {
  // A valid token verified before the attack keeps working from the same address.
  expect((await from('10.0.0.1', `Bearer ${adminToken}`)).statusCode).toBe(200);
  const statuses: number[] = [];
  let retryAfter: string | string[] | undefined;
  for (let i = 0; i < 300; i++) {
    const response = await from('10.0.0.1', `Bearer wrong-${i}`);
    statuses.push(response.statusCode);
    if (response.statusCode === 429) {
      retryAfter ??= response.headers['retry-after'];
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.json()).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
    }
  }
  expect(statuses.slice(0, 11)).toEqual(Array(11).fill(401)); // the 11th is heard, and starts the backoff
  expect(statuses[11]).toBe(429);
  // Each wait that runs out lets one more attempt be heard, which doubles the wait: on a slow
  // machine a few more 401s, never more than the doublings that fit in the run.
  const heard = statuses.filter((s) => s === 401).length;
  expect(heard).toBeLessThanOrEqual(11 + 6);
  expect(statuses.filter((s) => s === 429)).toHaveLength(300 - heard);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  expect((await from('10.0.0.1', `Bearer ${adminToken}`)).statusCode).toBe(200);
  // Another address is not affected, nor are public routes.
  expect((await from('10.0.0.2', 'Bearer wrong')).statusCode).toBe(401);
  expect((await api.app.inject({ method: 'GET', url: '/healthz', remoteAddress: '10.0.0.1' })).statusCode).toBe(200);
  expect(await metric('strata_api_auth_failures_total{reason="unknown"}')).toBe(heard + 1);
  expect(await metric('strata_api_auth_backoffs_total')).toBe(300 - heard);
});

test('failures are counted by reason: missing header, malformed header, unknown token, expired token', async () => {
  const issued = await api.call('POST', '/v1/tokens', {
    body: { role: 'reader', expiresAt: new Date(Date.now() + 1_500).toISOString() },
  });
  expect(issued.statusCode, issued.body).toBe(201);
  const shortLived = (issued.json() as { token: string }).token;
  const before = {
    missing: await metric('strata_api_auth_failures_total{reason="missing"}'),
    malformed: await metric('strata_api_auth_failures_total{reason="malformed"}'),
    unknown: await metric('strata_api_auth_failures_total{reason="unknown"}'),
    expired: await metric('strata_api_auth_failures_total{reason="expired"}'),
  };
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  expect((await from('10.0.1.1', `Bearer ${shortLived}`)).statusCode).toBe(401);
  expect(await metric('strata_api_auth_failures_total{reason="expired"}')).toBe(before.expired + 1);
  expect((await from('10.0.1.1')).statusCode).toBe(401);
  expect((await from('10.0.1.1', 'Basic Zm9vOmJhcg==')).statusCode).toBe(401);
  expect((await from('10.0.1.1', 'Bearer ')).statusCode).toBe(401);
  expect((await from('10.0.1.1', 'Bearer nope')).statusCode).toBe(401);
  expect(await metric('strata_api_auth_failures_total{reason="missing"}')).toBe(before.missing + 1);
  expect(await metric('strata_api_auth_failures_total{reason="malformed"}')).toBe(before.malformed + 2);
  expect(await metric('strata_api_auth_failures_total{reason="unknown"}')).toBe(before.unknown + 1);
});

test('valid tokens are never slowed down, however many requests they make', async () => {
  const reader = await api.issue('reader');
  await api.project();
  const statuses = new Set<number>();
  for (let i = 0; i < 300; i++)
    statuses.add((await api.call('GET', '/v1/namespaces/any/envs/prod/config', { token: reader })).statusCode);
  expect([...statuses]).toEqual([200]);
});
