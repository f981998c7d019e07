import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createClient, createHttpClient } from '@strata/sdk';
import { adminToken, manifest, testApi, type TestApi } from '../../services/api/src/api-fixture.js';

/**
 * The SDK's read-your-writes follows the API's rule: `waitFor(n)` waits until the client reflects
 * every log event up to n, so a write to another environment leaves nothing to wait for, while a
 * write to the client's own scope still waits until it is applied.
 */
let api: TestApi;
let apiUrl: string;
beforeAll(async () => {
  api = await testApi({ readWaitMs: 3_000 });
  apiUrl = await api.app.listen({ port: 0, host: '127.0.0.1' });
  expect((await api.call('PUT', '/v1/namespaces/shop/manifest', { body: manifest })).statusCode).toBe(200);
});
afterAll(async () => api?.[Symbol.asyncDispose]());

const put = async (url: string, body: unknown): Promise<number> => {
  const answer = await api.call('PUT', url, { body });
  expect(answer.statusCode, answer.body).toBe(200);
  return (answer.json() as { position: number }).position;
};
const staging = '/v1/namespaces/shop/envs/staging';
const prod = '/v1/namespaces/shop/envs/prod';
/** A shop/staging client over the test API's views; with `apiUrl`, it asks the API about other scopes. */
const stagingClient = (options: { apiUrl?: string } = {}) =>
  createClient({
    namespace: 'shop',
    environment: 'staging',
    redis: api.redis.url,
    prefix: api.redis.prefix,
    ...(options.apiUrl === undefined ? {} : { apiUrl: options.apiUrl, token: adminToken }),
  });

describe('SDK waitFor across scopes', () => {
  test('the Redis client: a prod write does not stall a staging client; its own writes still wait', async () => {
    await put(`${staging}/config/ui.theme`, { value: 'dark' });
    await api.project();
    await using client = stagingClient({ apiUrl });
    await client.ready();
    const elsewhere = await put(`${prod}/tenants/acme/config/ui.theme`, { value: 'light' });
    const started = performance.now();
    await client.waitFor(elsewhere, 2_500);
    expect(performance.now() - started).toBeLessThan(2_000);

    const own = await put(`${staging}/config/rate_limit.requests_per_minute`, { value: 77 });
    const waiting = client.waitFor(own, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await api.project();
    await waiting;
    expect(client.get('rate_limit.requests_per_minute')).toBe(77);
  });

  test('without an API to ask, a position of another scope is waited for (and times out)', async () => {
    await using client = stagingClient();
    await client.ready();
    const elsewhere = await put(`${prod}/config/ui.theme`, { value: 'dark' });
    await expect(client.waitFor(elsewhere, 300)).rejects.toMatchObject({ code: 'TIMEOUT' });
  });

  test('the HTTP client follows the same rule', async () => {
    await api.project();
    await using client = createHttpClient({
      namespace: 'shop',
      environment: 'staging',
      apiUrl,
      token: adminToken,
    });
    await client.ready();
    const elsewhere = await put(`${prod}/tenants/acme/config/ui.theme`, { value: 'dark' });
    const started = performance.now();
    await client.waitFor(elsewhere, 2_500);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});
