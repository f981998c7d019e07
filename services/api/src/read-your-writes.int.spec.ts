import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { manifest, testApi, type TestApi } from './api-fixture.js';

/**
 * `?minPosition=n` means "reflects every log event up to n", in any scope: a view of a scope with
 * no event in (its position, n] is current and answers at once; only real lag waits.
 */
const readWaitMs = 4_000;
/** Well under the wait bound: "at once" on a loaded machine. */
const atOnceMs = 2_000;

let api: TestApi;
beforeAll(async () => {
  api = await testApi({ readWaitMs });
  for (const ns of ['shop', 'other'])
    expect((await api.call('PUT', `/v1/namespaces/${ns}/manifest`, { body: manifest })).statusCode).toBe(200);
});
afterAll(async () => api?.[Symbol.asyncDispose]());

const prod = '/v1/namespaces/shop/envs/prod';
const staging = '/v1/namespaces/shop/envs/staging';
const put = async (url: string, body: unknown): Promise<number> => {
  const answer = await api.call('PUT', url, { body });
  expect(answer.statusCode, answer.body).toBe(200);
  return (answer.json() as { position: number }).position;
};
const timed = async (url: string, headers?: Record<string, string>) => {
  const started = performance.now();
  const answer = await api.call('GET', url, headers ? { headers } : {});
  return { answer, ms: performance.now() - started };
};

describe('minPosition across scopes', () => {
  test('a write to prod does not stall a read of staging, of another namespace, or of a flag', async () => {
    const stagingAt = await put(`${staging}/config/ui.theme`, { value: 'dark' });
    await api.project();
    const prodAt = await put(`${prod}/tenants/acme/config/ui.theme`, { value: 'dark' });
    const otherAt = await put('/v1/namespaces/other/envs/prod/config/ui.theme', { value: 'dark' });
    // Not projected: the prod and other views lag, the staging view has nothing newer to show.
    for (const url of [
      `${staging}/config?minPosition=${prodAt}`,
      `${staging}/tenants/acme/config?minPosition=${otherAt}`,
      `${staging}/tenants/acme/flags/new_checkout?minPosition=${otherAt}`,
    ]) {
      const { answer, ms } = await timed(url);
      expect(answer.statusCode, `${url}: ${answer.body}`).toBe(200);
      expect(ms, url).toBeLessThan(atOnceMs);
      expect(answer.headers['strata-read-source']).toBeUndefined();
    }
    for (const url of ['/ofrep/v1/evaluate/flags/new_checkout', '/ofrep/v1/evaluate/flags']) {
      const started = performance.now();
      const answer = await api.call('POST', url, {
        body: { context: { targetingKey: 'acme', namespace: 'shop', environment: 'staging' } },
        headers: { 'x-strata-min-position': String(prodAt) },
      });
      expect(answer.statusCode, `${url}: ${answer.body}`).toBe(200);
      expect(performance.now() - started, url).toBeLessThan(atOnceMs);
    }
    const staged = await timed(`${staging}/tenants/acme/config`, { 'x-strata-min-position': String(otherAt) });
    expect(staged.answer.statusCode).toBe(200);
    expect(staged.answer.json().values['ui.theme']).toEqual({
      value: 'dark',
      source: 'environment',
      position: stagingAt,
    });
  });

  test('events no view holds (a token scoped to the environment) do not stall it either', async () => {
    await api.project();
    const token = await api.call('POST', '/v1/tokens', { body: { role: 'reader', namespace: 'shop', env: 'staging' } });
    expect(token.statusCode).toBe(201);
    const head = await api.log.headPosition();
    const { answer, ms } = await timed(`${staging}/config?minPosition=${head}`);
    expect(answer.statusCode, answer.body).toBe(200);
    expect(ms).toBeLessThan(atOnceMs);
  });

  test('real lag still waits: another tenant of prod waits for the prod write, then sees it', async () => {
    await api.project();
    const at = await put(`${prod}/config/rate_limit.requests_per_minute`, { value: 321 });
    const started = performance.now();
    const waiting = api.call('GET', `${prod}/tenants/globex/config?minPosition=${at}`);
    await sleep(300);
    await api.project();
    const answer = await waiting;
    expect(answer.statusCode).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    expect(answer.json().values['rate_limit.requests_per_minute']).toEqual({
      value: 321,
      source: 'environment',
      position: at,
    });
  });

  test('a manifest the views have not applied is waited for, and an unchanged publish answers its position', async () => {
    await api.project();
    const changed = { ...manifest, keys: { ...manifest.keys, 'ui.banner': { type: 'string', default: 'hello' } } };
    const published = await api.call('PUT', '/v1/namespaces/shop/manifest', { body: changed });
    expect(published.statusCode).toBe(200);
    const manifestAt = (published.json() as { position: number }).position;
    // The same manifest again appends nothing and answers the position of the manifest in force.
    const again = await api.call('PUT', '/v1/namespaces/shop/manifest', { body: changed });
    expect(again.json()).toMatchObject({ position: manifestAt, appended: 0 });
    const waiting = api.call('GET', `${staging}/config?minPosition=${manifestAt}`);
    await sleep(300);
    await api.project();
    const answer = await waiting;
    expect(answer.statusCode).toBe(200);
    expect(answer.json().values['ui.banner']).toMatchObject({ value: 'hello', source: 'default' });
  });

  test('a position the log has not reached yet is refused at once (no write answered it)', async () => {
    await api.project();
    const head = await api.log.headPosition();
    const { answer } = await timed(`${staging}/config?minPosition=${head + 100}`);
    expect(answer.statusCode).toBe(400);
    expect(answer.json()).toMatchObject({ code: 'BAD_REQUEST', head });
  });
});

describe('reads without minPosition take the view version the API was told of', () => {
  test('a read for minPosition is fresh while the change announcement is still on its way; others follow the announcements', async () => {
    await using told = await testApi({ readWaitMs }, undefined, { announcements: true });
    const write = async (value: number) => {
      const answer = await told.call('PUT', `${prod}/tenants/acme/config/rate_limit.requests_per_minute`, {
        body: { value },
      });
      expect(answer.statusCode, answer.body).toBe(200);
      return (answer.json() as { position: number }).position;
    };
    const rate = async (query = '') => {
      const answer = await told.call('GET', `${prod}/tenants/acme/config${query}`);
      expect(answer.statusCode, answer.body).toBe(200);
      return (answer.json() as { values: Record<string, { value: unknown }> }).values['rate_limit.requests_per_minute']
        ?.value;
    };
    expect((await told.call('PUT', '/v1/namespaces/shop/manifest', { body: manifest })).statusCode).toBe(200);
    await write(100);
    await told.project();
    expect(await rate()).toBe(100); // the version read here is known from now on
    // Hold the announcement back: the API still knows the old version.
    told.announcements!.stream.pause();
    const at = await write(200);
    await told.project();
    expect(await rate(`?minPosition=${at}`)).toBe(200);
    told.announcements!.stream.resume();
    await vi.waitFor(async () => expect(await rate()).toBe(200), { timeout: 5_000 });
  });
});
