import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ApiError, StrataApi } from '@strata/contracts';
import { waitFor } from '@strata/testing';
import { adminToken, manifest, testApi, type TestApi } from './api-fixture.js';

/**
 * The contract check: every operation of `/openapi.json` is called for real, over HTTP, through
 * the one client, which parses each 2xx answer with the contract's zod schema (an answer outside
 * it throws). The API's own metrics then prove that every documented route answered 2xx.
 */
let api: TestApi;
let client: StrataApi;
let url: string;
const shop = { namespace: 'shop', env: 'prod' };
const acme = { ...shop, tenant: 'acme' };

beforeAll(async () => {
  // A short replay window, so one stream ends with a resync (the server closes it).
  api = await testApi({ changes: { maxReplay: 5 } });
  await api.app.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
  client = new StrataApi({ url, token: adminToken });
});
afterAll(async () => api?.[Symbol.asyncDispose]());

interface OpenApi {
  paths: Record<
    string,
    Record<string, { responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> }>
  >;
}

const operations = (doc: OpenApi) =>
  Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ method: method.toUpperCase(), path, op })),
  );

describe('the HTTP contract', () => {
  test('/openapi.json has a 2xx response schema for every operation', async () => {
    const doc = (await (await fetch(`${url}/openapi.json`)).json()) as OpenApi;
    const ops = operations(doc);
    expect(ops.length).toBeGreaterThanOrEqual(45);
    const missing = ops.filter(
      ({ op }) =>
        !Object.entries(op.responses ?? {}).some(
          ([status, r]) => /^2\d\d$/.test(status) && Object.values(r.content ?? {}).some((c) => c.schema !== undefined),
        ),
    );
    expect(missing.map((o) => `${o.method} ${o.path}`)).toEqual([]);
  });

  test('every route answers within its schema (real calls through the shared client)', async () => {
    const ofrepContext = { targetingKey: 'acme', namespace: 'shop', environment: 'prod' };
    await client.health();
    expect((await client.readiness()).status).toBe('ready');
    expect(await (await fetch(`${url}/metrics`)).text()).toContain('strata_api_requests_total');

    await client.publishManifest('shop', manifest);
    await client.setValue(shop, 'rate_limit.requests_per_minute', 100);
    const tenantWrite = await client.setValue(acme, 'rate_limit.requests_per_minute', 1000);
    // Resume right after a write: the replay delivers exactly that change.
    const stream = new AbortController();
    const changes = client.changes(shop, { after: tenantWrite.position - 1, signal: stream.signal });
    expect((await changes.next()).value).toEqual({ event: 'ready', position: tenantWrite.position - 1 });
    expect((await changes.next()).value).toEqual({
      event: 'change',
      change: {
        position: tenantWrite.position,
        type: 'ConfigValueSet',
        kind: 'config',
        name: 'rate_limit.requests_per_minute',
        tenant: 'acme',
        recordedAt: expect.any(String),
      },
    });
    stream.abort();
    await changes.return(undefined);
    await client.unsetValue(acme, 'ui.theme');
    await client.unsetValue(shop, 'ui.theme');
    await client.setFlag(shop, 'new_checkout', { rollout: 30, enabled: true });
    await client.setFlagOverride(acme, 'new_checkout', 'enabled');
    await client.setSecret(shop, 'stripe.api_key', { value: 'sk_env' });
    await client.setSecret(acme, 'stripe.api_key', { value: 'sk_acme' });
    await api.project();

    expect((await client.resolvedConfig(shop)).values['rate_limit.requests_per_minute']?.value).toBe(100);
    const tenant = await client.resolvedConfig(acme, { minPosition: client.lastWritePosition });
    expect(tenant.values['rate_limit.requests_per_minute']).toMatchObject({ value: 1000, source: 'tenant' });
    expect(await client.evaluateFlag(acme, 'new_checkout')).toMatchObject({ enabled: true, reason: 'override' });
    expect(await client.evaluateFlag({ ...shop, tenant: 'globex' }, 'new_checkout')).toMatchObject({
      reason: 'rollout',
      rollout: 30,
    });
    expect((await client.tenantFlags(acme)).flags['new_checkout']).toMatchObject({ enabled: true, reason: 'override' });
    expect((await client.getSecret(shop, 'stripe.api_key')).value).toBe('sk_env');
    expect((await client.getSecret(acme, 'stripe.api_key')).source).toBe('tenant');
    expect((await client.listSecrets(shop)).secrets).toHaveLength(1);
    expect((await client.listSecrets(acme)).secrets).toHaveLength(2);

    expect((await client.events({ namespace: 'shop' })).events.length).toBeGreaterThan(5);
    const exported = await new Response(await client.exportEvents({ namespace: 'shop' })).text();
    expect(exported.trim().split('\n').length).toBeGreaterThan(5);
    expect(await client.verify()).toMatchObject({ ok: true });
    expect((await client.diff(shop, { from: 0 })).changes.length).toBeGreaterThan(0);
    expect(await client.revert(shop, { to: { position: 1 }, dryRun: true, reason: 'preview' })).toMatchObject({
      dryRun: true,
    });
    expect(await client.revert(shop, { to: { position: 2 }, keys: ['ui.theme'], reason: 'contract' })).toMatchObject({
      appended: expect.any(Number),
    });

    await client.setSegment(shop, 'beta', { logic: { in: [{ var: 'targetingKey' }, ['acme']] } });
    await client.deleteSegment(shop, 'beta');
    const imported = await client.importFlags(shop, {
      flags: { new_checkout: { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'off' } },
    });
    expect(imported.flags).toEqual(['new_checkout']);
    expect((await client.exportFlags(shop)).flags).toHaveProperty('new_checkout');
    expect(
      await client.previewFlag(shop, 'new_checkout', { definition: { rollout: 100 }, tenants: ['globex'] }),
    ).toMatchObject({ flag: 'new_checkout', evaluated: 1 });
    expect(await client.secretsDue()).toMatchObject({ overdue: 0 });
    expect(await client.self()).toMatchObject({ role: 'admin' });
    const imported2 = await client.call('POST', '/v1/namespaces/shop/envs/prod/import', null, {
      body: {
        changes: [{ kind: 'value', tenant: 'acme', key: 'ui.theme', value: 'dark' }],
        reason: 'contract',
        dryRun: true,
      },
    });
    expect(imported2.status).toBe(200);

    const issued = await client.issueToken({ role: 'reader', namespace: 'shop', env: 'prod' });
    const rotated = await client.rotateToken(issued.id, { graceSeconds: 60 });
    expect(rotated).toMatchObject({ previousId: issued.id, token: expect.any(String) });
    expect((await client.listTokens()).tokens.map((t) => t.id)).toContain(issued.id);
    expect(await client.revokeToken(rotated.id)).toMatchObject({ revoked: true });

    expect((await client.rebuildProjections('contract')).started).toBe(true);
    expect(await client.projectionStatus()).toMatchObject({
      head: expect.any(Number),
      checkpoints: expect.any(Array),
      partitions: expect.any(Array),
    });
    expect((await client.keyStatus()).masterKeys).toHaveLength(1);
    expect((await client.rotateKeys()).rotations).toEqual([]);

    expect(await client.ofrepEvaluate('new_checkout', ofrepContext)).toMatchObject({
      value: true,
      reason: 'TARGETING_MATCH',
    });
    const bulk = await client.ofrepEvaluateAll(ofrepContext);
    expect(bulk?.answer.eventStreams?.[0]).toMatchObject({ type: 'sse' });
    // A matching If-None-Match is a 304: nothing to parse.
    expect(await client.ofrepEvaluateAll(ofrepContext, bulk!.etag)).toBeNull();

    const messages = [];
    for await (const message of client.changes(shop, { after: 0 })) messages.push(message);
    expect(messages).toEqual([{ event: 'resync', position: expect.any(Number) }]);

    await client.deleteSecret(acme, 'stripe.api_key');
    await client.deleteSecret(shop, 'stripe.api_key', 'rotated out');
    expect(await client.shredTenant('shop', 'acme', 'contract ended')).toMatchObject({ keyId: expect.any(String) });

    // Every documented operation answered 2xx at least once (the API counts by route pattern; a
    // stream is counted once the server has seen the client go).
    const doc = (await (await fetch(`${url}/openapi.json`)).json()) as OpenApi;
    const documented = operations(doc).map(({ method, path }) => `${method} ${path.replace(/\{(\w+)\}/g, ':$1')}`);
    const unanswered = async () => {
      const metrics = await (await fetch(`${url}/metrics`)).text();
      const answered = new Set(
        [...metrics.matchAll(/strata_api_requests_total\{method="(\w+)",route="([^"]+)",status="(2\d\d)"\}/g)].map(
          (m) => `${m[1]} ${m[2]}`,
        ),
      );
      return documented.filter((op) => !answered.has(op));
    };
    await waitFor(async () => (await unanswered()).length === 0, 'every route counted', 10_000).catch(() => undefined);
    expect(await unanswered()).toEqual([]);
  });

  test('errors come back as StrataErrors with the server code, status and errorId', async () => {
    const reader = new StrataApi({ url, token: await api.issue('reader', { namespace: 'shop', env: 'prod' }) });
    const denied = await reader.setValue(shop, 'ui.theme', 'dark').catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(ApiError);
    expect(denied).toMatchObject({ code: 'FORBIDDEN', status: 403, problem: { errorId: expect.any(String) } });
    const unknown = await client.setValue(shop, 'no.such.key', 1).catch((e: unknown) => e);
    expect(unknown).toMatchObject({ code: 'UNKNOWN_KEY', status: 422 });
    const nobody = await new StrataApi({ url, token: 'nobody-0123456789' }).health();
    expect(nobody).toEqual({ status: 'ok' });
    const unauthenticated = await new StrataApi({ url, token: 'nobody-0123456789' })
      .resolvedConfig(shop)
      .catch((e: unknown) => e);
    expect(unauthenticated).toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });
  });
});
