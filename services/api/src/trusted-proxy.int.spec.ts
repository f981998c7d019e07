import { afterAll, beforeAll, expect, test } from 'vitest';
import { adminToken, manifest, testApi, type TestApi } from './api-fixture.js';

/**
 * Behind a load balancer (STRATA_TRUST_PROXY) the client is the address the trusted proxy names in
 * X-Forwarded-For: failed authentications back off per real client, not for everyone behind the
 * proxy, and the secret-access log records who read. A peer that is not trusted cannot pick the
 * address it is counted under by sending the header itself.
 */
const proxy = '10.9.0.5';
let api: TestApi;
beforeAll(async () => {
  api = await testApi({ authFailureAllowance: 3 }, undefined, { trustProxy: ['10.9.0.0/16'] });
});
afterAll(async () => api?.[Symbol.asyncDispose]());

const from = (remoteAddress: string, forwardedFor: string | undefined, authorization: string) =>
  api.app.inject({
    method: 'GET',
    url: '/v1/tokens',
    remoteAddress,
    headers: { authorization, ...(forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor }) },
  });

const statusesOf = async (count: number, send: (i: number) => ReturnType<typeof from>) => {
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) statuses.push((await send(i)).statusCode);
  return statuses;
};

test('through a trusted proxy, one client backing off does not lock out the others behind it', async () => {
  const attacker = await statusesOf(8, (i) => from(proxy, '203.0.113.7', `Bearer wrong-${i}`));
  expect(attacker.slice(0, 4)).toEqual([401, 401, 401, 401]);
  expect(attacker.slice(4)).toEqual([429, 429, 429, 429]);
  // Another client of the same proxy is heard, and so is the proxy's own address.
  expect((await from(proxy, '203.0.113.8', 'Bearer wrong')).statusCode).toBe(401);
  expect((await from(proxy, undefined, 'Bearer wrong')).statusCode).toBe(401);
  // A chain ending at the trusted proxy: the client is the hop before it.
  expect((await from(proxy, '198.51.100.1, 203.0.113.7', 'Bearer wrong')).statusCode).toBe(429);
});

test('a peer that is not a trusted proxy is counted under its own address, whatever it forwards', async () => {
  expect((await from('192.0.2.1', undefined, `Bearer ${adminToken}`)).statusCode).toBe(200);
  const spoofer = await statusesOf(8, (i) => from('192.0.2.1', `198.51.100.${i}`, `Bearer wrong-${i}`));
  expect(spoofer.slice(0, 4)).toEqual([401, 401, 401, 401]);
  expect(spoofer.slice(4)).toEqual([429, 429, 429, 429]);
  // A token verified before still works from there; the spoofed addresses were never counted.
  expect((await from('192.0.2.1', undefined, `Bearer ${adminToken}`)).statusCode).toBe(200);
  expect((await from(proxy, '198.51.100.0', 'Bearer wrong')).statusCode).toBe(401);
});

test('the secret-access log records the client the trusted proxy names', async () => {
  const P = '/v1/namespaces/shop/envs/prod';
  await api.call('PUT', '/v1/namespaces/shop/manifest', { body: manifest });
  const written = await api.call('PUT', `${P}/secrets/stripe.api_key`, { body: { value: 'sk_test_proxy' } });
  expect(written.statusCode, written.body).toBe(200);
  await api.project();
  const read = await api.app.inject({
    method: 'GET',
    url: `${P}/secrets/stripe.api_key`,
    remoteAddress: proxy,
    headers: { authorization: `Bearer ${adminToken}`, 'x-forwarded-for': '203.0.113.99' },
  });
  expect(read.statusCode, read.body).toBe(200);
  const { rows } = await api.owner.query<{ ip: string }>('SELECT ip FROM strata.secret_access_log ORDER BY id');
  expect(rows.map((row) => row.ip)).toEqual(['203.0.113.99']);
});

test('a hop count trusts that many proxies in front of the API: the client is the next hop out', async () => {
  await using counted = await testApi({ authFailureAllowance: 3 }, undefined, { trustProxy: 1 });
  const send = (forwardedFor: string, i: number) =>
    counted.app.inject({
      method: 'GET',
      url: '/v1/tokens',
      remoteAddress: '192.0.2.9',
      headers: { authorization: `Bearer wrong-${i}`, 'x-forwarded-for': forwardedFor },
    });
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) statuses.push((await send(`198.51.100.${i}, 203.0.113.20`, i)).statusCode);
  expect(statuses).toEqual([401, 401, 401, 401, 429]);
  expect((await send('203.0.113.21', 9)).statusCode).toBe(401);
});
