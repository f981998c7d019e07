import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { consoleDistDir } from '@strata/console';
import { testApi, type TestApi } from './api-fixture.js';

/** The console's files under /console (public, cached by kind, SPA fallback) and the whoami route it signs in with. */
let api: TestApi;
beforeAll(async () => {
  api = await testApi();
});
afterAll(async () => api?.[Symbol.asyncDispose]());

test('the app is served without a token; index.html is revalidated, hashed assets are immutable', async () => {
  for (const url of ['/console', '/console/', '/console/history', '/console/time-travel?x=1']) {
    const page = await api.call('GET', url, { token: null });
    expect(page.statusCode, url).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.body).toContain('<div id="root"></div>');
  }
  const asset = readdirSync(path.join(consoleDistDir, 'assets')).find((f) => f.endsWith('.js'));
  expect(asset).toBeDefined();
  const js = await api.call('GET', `/console/assets/${asset}`, { token: null });
  expect(js.statusCode).toBe(200);
  expect(js.headers['content-type']).toMatch(/javascript/);
  expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
});

test('a missing asset is a 404 problem, never the app; paths cannot leave the build folder', async () => {
  const missing = await api.call('GET', '/console/assets/index-missing.js', { token: null });
  expect(missing.statusCode).toBe(404);
  expect(missing.headers['content-type']).toMatch(/^application\/problem\+json/);
  for (const url of [
    '/console/assets/..%2f..%2fpackage.json',
    '/console/assets/../../package.json',
    '/console/assets/..',
  ]) {
    const answer = await api.call('GET', url, { token: null });
    expect(answer.body, url).not.toContain('"@strata/console"');
  }
});

test('GET /v1/tokens/self tells any valid token its role, scope and permissions', async () => {
  const admin = await api.call('GET', '/v1/tokens/self');
  expect(admin.statusCode).toBe(200);
  expect(admin.json()).toMatchObject({ subject: 'admin', role: 'admin', namespace: null, env: null, tenant: null });
  expect(admin.json().permissions).toContain('revert');

  const reader = await api.issue('secret-reader', { namespace: 'shop', env: 'prod', tenant: 'acme' });
  const self = await api.call('GET', '/v1/tokens/self', { token: reader });
  expect(self.statusCode).toBe(200);
  expect(self.json()).toMatchObject({ role: 'secret-reader', namespace: 'shop', env: 'prod', tenant: 'acme' });
  expect(self.json().permissions).toEqual(['secret:list', 'secret:read']);
  expect(self.body).not.toContain(reader);

  expect((await api.call('GET', '/v1/tokens/self', { token: null })).statusCode).toBe(401);
  expect((await api.call('GET', '/v1/tokens/self', { token: 'not-a-token' })).statusCode).toBe(401);
});
