import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fold, initialState, resolveConfig } from '@strata/core';
import { manifest, testApi, type TestApi } from './api-fixture.js';

let api: TestApi;
beforeAll(async () => {
  api = await testApi();
  expect((await api.call('PUT', '/v1/namespaces/shop/manifest', { body: manifest })).statusCode).toBe(200);
});
afterAll(async () => api?.[Symbol.asyncDispose]());

const P = '/v1/namespaces/shop/envs/prod';
const put = (url: string, body: unknown, headers?: Record<string, string>) =>
  api.call('PUT', url, { body, ...(headers ? { headers } : {}) });

describe('optimistic concurrency and idempotency (invariant 3)', () => {
  test('If-Match: current version writes, stale version → 409 with the current version', async () => {
    const first = await put(`${P}/tenants/initech/config/ui.theme`, { value: 'dark' });
    expect(first.statusCode).toBe(200);
    const etag = first.headers['etag'] as string;
    expect(first.json()).toMatchObject({ position: expect.any(Number), version: 1 });
    const second = await put(`${P}/tenants/initech/config/ui.theme`, { value: 'light' }, { 'if-match': etag });
    expect(second.statusCode).toBe(200);
    const before = await api.eventCount();
    const stale = await put(`${P}/tenants/initech/config/ui.theme`, { value: 'dark' }, { 'if-match': etag });
    expect(stale.statusCode).toBe(409);
    expect(stale.json()).toMatchObject({ code: 'VERSION_CONFLICT', currentVersion: 2, expectedVersion: 1 });
    expect(stale.headers['etag']).toBe('"2"');
    expect(await api.eventCount()).toBe(before);
  });

  test('a retried Idempotency-Key answers the original result and appends nothing', async () => {
    const headers = { 'idempotency-key': 'req-42' };
    const first = await put(
      `${P}/config/rate_limit.requests_per_minute`,
      { value: 120, reason: 'black friday' },
      headers,
    );
    expect(first.statusCode).toBe(200);
    const count = await api.eventCount();
    // Even a changed body or a now-stale If-Match: the key wins, the original answer comes back.
    const retry = await put(
      `${P}/config/rate_limit.requests_per_minute`,
      { value: 120, reason: 'black friday' },
      headers,
    );
    expect(retry.statusCode).toBe(200);
    expect(retry.json()).toMatchObject({
      position: first.json().position,
      version: first.json().version,
      replayed: true,
    });
    expect(await api.eventCount()).toBe(count);
    const concurrent = await Promise.all(
      [1, 2, 3].map(() => put(`${P}/config/ui.theme`, { value: 'dark' }, { 'idempotency-key': 'req-43' })),
    );
    expect(new Set(concurrent.map((r) => r.json().position)).size).toBe(1);
    expect(await api.eventCount()).toBe(count + 1);
  });

  test('concurrent writers to one stream all land (internal conflicts are retried)', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        put(`${P}/tenants/hooli/config/rate_limit.requests_per_minute`, { value: 100 + i }),
      ),
    );
    expect(results.map((r) => r.statusCode)).toEqual(Array(8).fill(200));
    expect(new Set(results.map((r) => r.json().version)).size).toBe(8);
  });

  test('immutable keys: set once, then 409', async () => {
    expect((await put(`${P}/tenants/acme/config/billing.plan_id`, { value: 'gold' })).statusCode).toBe(200);
    const again = await put(`${P}/tenants/acme/config/billing.plan_id`, { value: 'silver' });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'IMMUTABLE_KEY' });
  });
});

describe('reads', () => {
  test('resolved config from the views, minPosition waits then 504', async () => {
    const write = await put(`${P}/tenants/acme/config/ui.theme`, { value: 'dark' });
    const position = write.json().position as number;
    const waiting = api.call('GET', `${P}/tenants/acme/config?minPosition=${position}`);
    await sleep(100);
    await api.project();
    const read = await waiting;
    expect(read.statusCode).toBe(200);
    expect(read.json().values['ui.theme']).toEqual({ value: 'dark', source: 'tenant', position });
    expect(read.json().values['rate_limit.requests_per_minute']).toMatchObject({ value: 120, source: 'environment' });
    // Written but not yet projected: the read waits, then answers 504.
    const unprojected = (await put(`${P}/tenants/acme/config/ui.theme`, { value: 'light' })).json().position as number;
    const timeout = await api.call('GET', `${P}/tenants/acme/config`, {
      headers: { 'x-strata-min-position': String(unprojected) },
    });
    expect(timeout.statusCode).toBe(504);
    expect(timeout.json()).toMatchObject({ code: 'TIMEOUT' });
    await api.project();
    // A position no write has answered yet cannot be waited for.
    const beyond = await api.call('GET', `${P}/tenants/acme/config`, {
      headers: { 'x-strata-min-position': String(unprojected + 1000) },
    });
    expect(beyond.statusCode).toBe(400);
  });

  test('flags: rollout, override, OFREP reasons and bulk ETag', async () => {
    expect((await put(`${P}/flags/new_checkout`, { rollout: 100, enabled: true })).statusCode).toBe(200);
    expect((await put(`${P}/tenants/globex/flags/new_checkout`, { override: 'disabled' })).statusCode).toBe(200);
    await api.project();
    expect((await api.call('GET', `${P}/tenants/acme/flags/new_checkout`)).json()).toMatchObject({
      enabled: true,
      reason: 'rollout',
    });
    expect((await api.call('GET', `${P}/tenants/globex/flags/new_checkout`)).json()).toMatchObject({
      enabled: false,
      reason: 'override',
    });
    const context = (targetingKey: string) => ({ context: { targetingKey, namespace: 'shop', environment: 'prod' } });
    const one = await api.call('POST', '/ofrep/v1/evaluate/flags/new_checkout', { body: context('acme') });
    expect(one.json()).toMatchObject({ key: 'new_checkout', value: true, reason: 'SPLIT', variant: 'on' });
    expect(
      (await api.call('POST', '/ofrep/v1/evaluate/flags/new_checkout', { body: context('globex') })).json(),
    ).toMatchObject({ value: false, reason: 'TARGETING_MATCH' });
    const missing = await api.call('POST', '/ofrep/v1/evaluate/flags/nope', { body: context('acme') });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ key: 'nope', errorCode: 'FLAG_NOT_FOUND' });
    const noKey = await api.call('POST', '/ofrep/v1/evaluate/flags/new_checkout', {
      body: { context: { namespace: 'shop', environment: 'prod' } },
    });
    expect(noKey.json()).toMatchObject({ errorCode: 'TARGETING_KEY_MISSING' });
    const noScope = await api.call('POST', '/ofrep/v1/evaluate/flags/new_checkout', {
      body: { context: { targetingKey: 'acme' } },
    });
    expect(noScope.json()).toMatchObject({ errorCode: 'INVALID_CONTEXT' });
    const bulk = await api.call('POST', '/ofrep/v1/evaluate/flags', { body: context('acme') });
    expect(bulk.statusCode).toBe(200);
    expect(bulk.json().flags).toEqual([expect.objectContaining({ key: 'new_checkout', value: true })]);
    const etag = bulk.headers['etag'] as string;
    const cached = await api.call('POST', '/ofrep/v1/evaluate/flags', {
      body: context('acme'),
      headers: { 'if-none-match': etag },
    });
    expect(cached.statusCode).toBe(304);
    expect((await put(`${P}/flags/new_checkout`, { rollout: 0, enabled: false })).statusCode).toBe(200);
    await api.project();
    const changed = await api.call('POST', '/ofrep/v1/evaluate/flags', {
      body: context('acme'),
      headers: { 'if-none-match': etag },
    });
    expect(changed.statusCode).toBe(200);
    expect(changed.json().flags[0]).toMatchObject({ value: false, reason: 'DISABLED' });
  });
});

describe('time travel, diff and revert (invariant 6)', () => {
  test('?at= and ?position= equal the fold of the log at that point', async () => {
    await put(`${P}/tenants/umbrella/config/ui.theme`, { value: 'dark' });
    await sleep(20);
    const at = new Date().toISOString();
    const position = (await api.call('GET', '/v1/events?limit=1000')).json().events.at(-1).position as number;
    await sleep(20);
    await put(`${P}/tenants/umbrella/config/ui.theme`, { value: 'light' });
    await put(`${P}/config/rate_limit.requests_per_minute`, { value: 300 });
    const all = await api.log.history({ limit: 10_000 });
    const expected = resolveConfig(
      fold(
        initialState('shop', 'prod'),
        all.filter((e) => e.position <= position),
      ),
      'umbrella',
    );
    for (const query of [`at=${encodeURIComponent(at)}`, `position=${position}`]) {
      const past = await api.call('GET', `${P}/tenants/umbrella/config?${query}`);
      expect(past.statusCode).toBe(200);
      expect(past.json().position).toBe(position);
      for (const [key, v] of Object.entries(expected.values))
        expect(past.json().values[key]).toEqual({ value: v.value, source: v.source, position: v.position });
      expect(past.json().values['ui.theme'].value).toBe('dark');
    }
  });

  test('revert round trip: dry run, apply, state restored, history intact', async () => {
    const target = (await api.call('GET', '/v1/events?limit=1000')).json().events.at(-1).position as number;
    await put(`${P}/tenants/umbrella/config/ui.theme`, { value: 'dark' });
    await put(`${P}/config/rate_limit.requests_per_minute`, { value: 999 });
    await put(`${P}/flags/new_checkout`, { rollout: 50, enabled: true });
    const diff = await api.call('GET', `${P}/diff?from=${target}`);
    expect(diff.statusCode).toBe(200);
    expect(
      diff
        .json()
        .changes.map((c: { kind: string }) => c.kind)
        .sort(),
    ).toEqual(['config', 'config', 'flag']);
    const before = await api.eventCount();
    const dry = await api.call('POST', `${P}/revert`, {
      body: { to: { position: target }, dryRun: true, reason: 'oops' },
    });
    expect(dry.statusCode).toBe(200);
    expect(dry.json().plan.streams.flatMap((s: { events: unknown[] }) => s.events)).toHaveLength(3);
    expect(await api.eventCount()).toBe(before);
    const applied = await api.call('POST', `${P}/revert`, {
      body: { to: { position: target }, dryRun: false, reason: 'oops' },
    });
    expect(applied.statusCode).toBe(200);
    expect(applied.json()).toMatchObject({ position: expect.any(Number), appended: 3 });
    expect(await api.eventCount()).toBe(before + 3);
    const after = await api.call('GET', `${P}/diff?from=${target}&to=${applied.json().position}`);
    expect(after.json().changes).toEqual([]);
    await api.project();
    const now = (await api.call('GET', `${P}/tenants/umbrella/config`)).json();
    const then = (await api.call('GET', `${P}/tenants/umbrella/config?position=${target}`)).json();
    for (const key of Object.keys(then.values)) expect(now.values[key].value).toEqual(then.values[key].value);
    const history = (await api.call('GET', `/v1/events?namespace=shop&env=prod&after=${target}&limit=1000`)).json()
      .events;
    expect(history).toHaveLength(6);
    expect(
      history
        .slice(3)
        .every(
          (e: { metadata: { source: string; revertTo: number } }) =>
            e.metadata.source === 'revert' && e.metadata.revertTo === target,
        ),
    ).toBe(true);
    expect(
      (await api.call('GET', `${P}/tenants/umbrella/config?position=${target + 2}`)).json().values[
        'rate_limit.requests_per_minute'
      ].value,
    ).toBe(999);
  });
});

describe('audit', () => {
  test('events carry actor, reason and before/after; filters and cursor work; export is NDJSON', async () => {
    const writer = await api.issue('writer', { namespace: 'shop', env: 'prod' });
    await api.call('PUT', `${P}/tenants/wayne/config/ui.theme`, {
      token: writer,
      body: { value: 'dark', reason: 'customer asked' },
    });
    await api.call('PUT', `${P}/tenants/wayne/config/ui.theme`, {
      token: writer,
      body: { value: 'light', reason: 'changed mind' },
    });
    const page = (await api.call('GET', '/v1/events?tenant=wayne&key=ui.theme')).json();
    expect(page.next).toBeNull();
    expect(page.events).toHaveLength(2);
    expect(page.events[1]).toMatchObject({
      actor: expect.stringMatching(/^token:tok_/),
      metadata: { reason: 'changed mind' },
      before: { value: 'dark' },
      after: { value: 'light' },
    });
    const byActor = (await api.call('GET', `/v1/events?actor=${page.events[0].actor}`)).json();
    expect(byActor.events).toHaveLength(2);
    const first = (await api.call('GET', '/v1/events?limit=2')).json();
    expect(first.next).toBe(first.events[1].position);
    const second = (await api.call('GET', `/v1/events?limit=2&after=${first.next}`)).json();
    expect(second.events[0].position).toBeGreaterThan(first.next);
    const exported = await api.call('GET', '/v1/events/export?tenant=wayne');
    expect(exported.headers['content-type']).toMatch(/ndjson/);
    const lines = exported.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l: { position: number }) => l.position)).toEqual(
      page.events.map((e: { position: number }) => e.position),
    );
  });

  test('projections: rebuild and status', async () => {
    const started = await api.call('POST', '/v1/projections/rebuild', { body: { reason: 'test' } });
    expect(started.statusCode).toBe(202);
    let status = (await api.call('GET', '/v1/projections/status')).json();
    for (let i = 0; i < 100 && status.rebuilding; i++) {
      await sleep(50);
      status = (await api.call('GET', '/v1/projections/status')).json();
    }
    expect(status).toMatchObject({ generation: expect.any(Number), needsRebuild: false, rebuilding: null });
    expect(status.last.position).toBe(status.head);
  });

  test('metrics count requests by route pattern, never raw tenant ids', async () => {
    const metrics = (await api.call('GET', '/metrics', { token: null })).body;
    expect(metrics).toContain('route="/v1/namespaces/:ns/envs/:env/tenants/:tenant/config"');
    expect(metrics).toContain('strata_api_request_duration_seconds_bucket');
    expect(metrics).not.toContain('umbrella');
  });
});
