import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { Secret } from '@strata/core';
import { createHttpClient } from './create-http-client.js';

/** A stand-in for the API's read routes (the contract in BRIEF.md), counting 304s. */
const fakeApi = async () => {
  const state = { position: 5, rpm: 100, notModified: 0, secretReads: 0 };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.headers.authorization !== 'Bearer t0k') return void res.writeHead(401).end();
    const etag = `"p${state.position}"`;
    const url = req.url ?? '';
    if (url.endsWith('/secrets/stripe_key')) {
      state.secretReads++;
      return void res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ value: 'sk_live_123', version: 2 }));
    }
    if (url.endsWith('/flags/new_checkout')) {
      return void res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ enabled: true, reason: 'override', position: 3 }));
    }
    if (url.endsWith('/config')) {
      if (req.headers['if-none-match'] === etag) {
        state.notModified++;
        return void res.writeHead(304, { etag }).end();
      }
      const values = {
        'rate_limit.requests_per_minute': {
          value: url.includes('/tenants/') ? state.rpm * 2 : state.rpm,
          source: 'environment',
          position: state.position,
        },
      };
      return void res
        .writeHead(200, { 'content-type': 'application/json', etag })
        .end(JSON.stringify({ position: state.position, values }));
    }
    res
      .writeHead(404, { 'content-type': 'application/problem+json' })
      .end(JSON.stringify({ title: 'Not Found', detail: 'no such secret' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { state, apiUrl, [Symbol.asyncDispose]: () => new Promise<void>((resolve) => server.close(() => resolve())) };
};

describe('createHttpClient', () => {
  it('given the HTTP API, when reading and polling, then the same read API with ETag revalidation', async () => {
    await using api = await fakeApi();
    await using client = createHttpClient({
      namespace: 'shop',
      environment: 'prod',
      apiUrl: api.apiUrl,
      token: 't0k',
      pollIntervalMs: 20,
    });
    await client.ready();
    expect(client.get('rate_limit.requests_per_minute')).toBe(100);
    expect(client.resolve('rate_limit.requests_per_minute', { tenant: 'acme' })).toMatchObject({
      reason: 'tenant_loading',
      value: 100,
    });
    expect(client.isEnabled('new_checkout', { tenant: 'acme' })).toBe(false);
    for (
      let i = 0;
      i < 200 && (api.state.notModified === 0 || !client.isEnabled('new_checkout', { tenant: 'acme' }));
      i++
    )
      await sleep(10);
    expect(client.get('rate_limit.requests_per_minute', { tenant: 'acme' })).toBe(200);
    expect(client.isEnabled('new_checkout', { tenant: 'acme' })).toBe(true);
    expect(api.state.notModified).toBeGreaterThan(0);
    const changes: unknown[] = [];
    client.onChange('rate_limit', (e) => changes.push([e.tenant, e.value]));
    api.state.position = 6;
    api.state.rpm = 150;
    await client.waitFor(6, 1_000);
    expect(client.get('rate_limit.requests_per_minute', { tenant: 'acme' })).toBe(300);
    expect(changes).toEqual(
      expect.arrayContaining([
        [null, 150],
        ['acme', 300],
      ]),
    );
  });

  it('given a secret-read token, when getting a secret, then a redacting Secret; unknown secrets reject with NOT_FOUND', async () => {
    await using api = await fakeApi();
    await using client = createHttpClient({ namespace: 'shop', environment: 'prod', apiUrl: api.apiUrl, token: 't0k' });
    const secret = await client.getSecret('stripe_key', { tenant: 'acme' });
    expect(secret).toBeInstanceOf(Secret);
    expect(String(secret)).toBe('[redacted]');
    expect(secret.reveal()).toBe('sk_live_123');
    await expect(client.getSecret('nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
