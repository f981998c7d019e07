import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { StrataApi } from '@strata/contracts';
import { Secret } from '@strata/core';
import { waitFor } from '@strata/testing';
import { adminToken, manifest, testApi, type TestApi } from '../../services/api/src/api-fixture.js';
import { createHttpClient } from '@strata/sdk';

/**
 * The SDK's HTTP mode against the real API (in-process, real PostgreSQL and Redis): first reads,
 * then changes arriving over the change stream, bulk flag reads per tenant, the server's error
 * codes, and secrets through the same client.
 */
let api: TestApi;
let url: string;
let admin: StrataApi;
const shop = { namespace: 'shop', env: 'prod' };

/** Writes through the API and projects it (what relay and projector do in the stack). */
const write = async <T>(call: Promise<T>): Promise<T> => {
  const result = await call;
  await api.project();
  return result;
};

beforeAll(async () => {
  api = await testApi();
  await api.app.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
  admin = new StrataApi({ url, token: adminToken });
  await write(admin.publishManifest('shop', manifest));
  await write(admin.setValue(shop, 'rate_limit.requests_per_minute', 100));
  await write(admin.setFlag(shop, 'new_checkout', { rollout: 100, enabled: true }));
  await write(admin.setSecret({ ...shop, tenant: 'acme' }, 'stripe.api_key', { value: 'sk_acme' }));
});
afterAll(async () => api?.[Symbol.asyncDispose]());

const requestsTo = async (route: string) => {
  const metrics = await (await fetch(`${url}/metrics`)).text();
  let n = 0;
  for (const m of metrics.matchAll(/strata_api_requests_total\{method="GET",route="([^"]+)",status="\d+"\} (\d+)/g))
    if (m[1] === route) n += Number(m[2]);
  return n;
};

describe('createHttpClient', () => {
  test('reads, then follows the change stream: a write shows up without polling', async () => {
    const token = await api.issue('reader', { namespace: 'shop', env: 'prod' });
    await using client = createHttpClient({ namespace: 'shop', environment: 'prod', apiUrl: url, token });
    await client.ready();
    expect(client.get('rate_limit.requests_per_minute')).toBe(100);
    expect(client.resolve('rate_limit.requests_per_minute', { tenant: 'acme' })).toMatchObject({
      reason: 'tenant_loading',
    });
    expect(client.isEnabled('new_checkout', { tenant: 'acme' })).toBe(false);
    await waitFor(
      () =>
        client.evaluate('new_checkout', { tenant: 'acme' }).notReady === false &&
        client.isEnabled('new_checkout', { tenant: 'acme' }),
      'acme loaded',
      10_000,
    );
    // rollout 100: the same for everyone — the real rollout, not a guessed one.
    expect(client.evaluate('new_checkout', { tenant: 'acme' })).toMatchObject({ reason: 'rollout', split: false });

    const changes: unknown[] = [];
    client.onChange('rate_limit', (e) => changes.push([e.tenant, e.value]));
    client.onChange('new_checkout', (e) => changes.push([e.tenant, e.key, e.value]));
    await waitFor(
      () => client.get('rate_limit.requests_per_minute', { tenant: 'acme' }) === 100,
      'acme config',
      10_000,
    );
    const tenantWrite = await write(
      admin.setValue({ ...shop, tenant: 'acme' }, 'rate_limit.requests_per_minute', 1000),
    );
    const flagWrite = await write(admin.setFlag(shop, 'new_checkout', { rollout: 30, enabled: true }));
    await client.waitFor(Math.max(tenantWrite.position, flagWrite.position), 10_000);
    await waitFor(
      () => client.get('rate_limit.requests_per_minute', { tenant: 'acme' }) === 1000,
      'the change',
      10_000,
    );
    expect(changes).toContainEqual(['acme', 1000]);
    await waitFor(() => client.evaluate('new_checkout', { tenant: 'acme' }).split, 'the new rollout', 10_000);

    // Flags come per tenant in bulk, never one request per flag.
    expect(await requestsTo('/v1/namespaces/:ns/envs/:env/tenants/:tenant/flags/:flag')).toBe(0);
    expect(await requestsTo('/v1/namespaces/:ns/envs/:env/tenants/:tenant/flags')).toBeGreaterThan(0);
    expect(client.status()).toMatchObject({ stale: false });
  });

  test("the server's error codes come through: a bad token is UNAUTHENTICATED, not UNAVAILABLE", async () => {
    const errors: unknown[] = [];
    await using client = createHttpClient({
      namespace: 'shop',
      environment: 'prod',
      apiUrl: url,
      token: 'not-a-token-0123456789',
      readyTimeoutMs: 2_000,
      hooks: { onError: (e) => errors.push(e) },
    });
    await expect(client.getSecret('stripe.api_key')).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await waitFor(() => errors.length > 0, 'a load error', 10_000);
    expect(errors[0]).toMatchObject({ code: 'UNAUTHENTICATED' });
    const reader = await api.issue('reader', { namespace: 'shop', env: 'prod' });
    await using plain = createHttpClient({ namespace: 'shop', environment: 'prod', apiUrl: url, token: reader });
    await expect(plain.getSecret('stripe.api_key', { tenant: 'acme' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  test('getSecret reads through the shared client: a redacting Secret; unknown secrets are NOT_FOUND', async () => {
    const token = await api.issue('secret-reader', { namespace: 'shop', env: 'prod' });
    await using client = createHttpClient({ namespace: 'shop', environment: 'prod', apiUrl: url, token });
    const secret = await client.getSecret('stripe.api_key', { tenant: 'acme' });
    expect(secret).toBeInstanceOf(Secret);
    expect(String(secret)).toBe('[redacted]');
    expect(secret.reveal()).toBe('sk_acme');
    await expect(client.getSecret('stripe.api_key')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
