import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { manifest, testApi, type TestApi } from './api-fixture.js';

/** Role × endpoint matrix, cross-tenant attempts and 401s (BRIEF invariants 7 and 8). */
let api: TestApi;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  api = await testApi();
  await api.call('PUT', '/v1/namespaces/shop/manifest', { body: manifest });
  await api.call('PUT', '/v1/namespaces/shop/envs/prod/secrets/stripe.api_key', { body: { value: 'sk_live_matrix' } });
  await api.call('PUT', '/v1/namespaces/shop/envs/prod/tenants/acme/config/ui.theme', { body: { value: 'dark' } });
  for (const role of ['reader', 'writer', 'secret-reader', 'secret-writer', 'auditor', 'operator', 'admin']) {
    tokens[role] = await api.issue(role, { namespace: 'shop', env: 'prod' });
  }
  tokens['acme-writer'] = await api.issue('writer', { namespace: 'shop', env: 'prod', tenant: 'acme' });
  tokens['acme-reader'] = await api.issue('reader', { namespace: 'shop', env: 'prod', tenant: 'acme' });
  tokens['acme-secret-reader'] = await api.issue('secret-reader', { namespace: 'shop', env: 'prod', tenant: 'acme' });
  tokens['other-ns-admin'] = await api.issue('admin', { namespace: 'other' });
  await api.project();
});
afterAll(async () => api?.[Symbol.asyncDispose]());

const P = '/v1/namespaces/shop/envs/prod';
const endpoints: Array<{
  name: string;
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  url: string;
  body?: unknown;
  allowed: string[];
}> = [
  {
    name: 'resolved read',
    method: 'GET',
    url: `${P}/tenants/acme/config`,
    allowed: ['reader', 'writer', 'auditor', 'operator', 'admin'],
  },
  {
    name: 'flag read',
    method: 'GET',
    url: `${P}/tenants/acme/flags/new_checkout`,
    allowed: ['reader', 'writer', 'auditor', 'operator', 'admin'],
  },
  {
    name: 'config write',
    method: 'PUT',
    url: `${P}/config/ui.theme`,
    body: { value: 'light' },
    allowed: ['writer', 'operator', 'admin'],
  },
  {
    name: 'flag write',
    method: 'PUT',
    url: `${P}/flags/new_checkout`,
    body: { rollout: 5, enabled: true },
    allowed: ['writer', 'operator', 'admin'],
  },
  // The manifest is namespace-wide: environment-scoped tokens never change it (see the ns-scoped test).
  { name: 'manifest write', method: 'PUT', url: '/v1/namespaces/shop/manifest', body: manifest, allowed: [] },
  { name: 'secret read', method: 'GET', url: `${P}/secrets/stripe.api_key`, allowed: ['secret-reader', 'admin'] },
  {
    name: 'secret list',
    method: 'GET',
    url: `${P}/secrets`,
    allowed: ['reader', 'writer', 'secret-reader', 'secret-writer', 'auditor', 'operator', 'admin'],
  },
  {
    name: 'secret write',
    method: 'PUT',
    url: `${P}/secrets/stripe.api_key`,
    body: { value: 'sk_rotated' },
    allowed: ['secret-writer', 'admin'],
  },
  {
    name: 'history',
    method: 'GET',
    url: '/v1/events?namespace=shop&env=prod',
    allowed: ['auditor', 'operator', 'admin'],
  },
  { name: 'diff', method: 'GET', url: `${P}/diff?from=0`, allowed: ['auditor', 'operator', 'admin'] },
  {
    name: 'revert dry run',
    method: 'POST',
    url: `${P}/revert`,
    body: { to: { position: 1 }, dryRun: true, reason: 'matrix' },
    allowed: ['operator', 'admin'],
  },
  {
    name: 'ofrep',
    method: 'POST',
    url: '/ofrep/v1/evaluate/flags/new_checkout',
    body: { context: { targetingKey: 'acme', namespace: 'shop', environment: 'prod' } },
    allowed: ['reader', 'writer', 'auditor', 'operator', 'admin'],
  },
  { name: 'tokens list', method: 'GET', url: '/v1/tokens', allowed: ['admin'] },
];

describe('role × endpoint', () => {
  for (const endpoint of endpoints) {
    test(endpoint.name, async () => {
      for (const role of ['reader', 'writer', 'secret-reader', 'secret-writer', 'auditor', 'operator', 'admin']) {
        const response = await api.call(endpoint.method, endpoint.url, { token: tokens[role]!, body: endpoint.body });
        const expected = endpoint.allowed.includes(role);
        expect({ role, status: response.statusCode < 300 }, response.body).toEqual({ role, status: expected });
        if (!expected) {
          expect(response.statusCode).toBe(403);
          expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
          expect(response.json()).toMatchObject({ status: 403, code: 'FORBIDDEN', errorId: expect.any(String) });
        }
      }
    });
  }

  test('system-wide endpoints refuse namespace-scoped tokens; the bootstrap admin may call them', async () => {
    expect((await api.call('GET', '/v1/verify', { token: tokens['auditor']! })).statusCode).toBe(403);
    const verify = await api.call('GET', '/v1/verify');
    expect(verify.statusCode).toBe(200);
    expect(verify.json()).toMatchObject({ ok: true });
    expect((await api.call('GET', '/v1/projections/status', { token: tokens['operator']! })).statusCode).toBe(403);
    expect((await api.call('GET', '/v1/projections/status')).statusCode).toBe(200);
  });
});

describe('tenant scope (invariant 8)', () => {
  test('a tenant token reads and writes its own tenant only', async () => {
    const before = await api.eventCount();
    expect((await api.call('GET', `${P}/tenants/acme/config`, { token: tokens['acme-reader']! })).statusCode).toBe(200);
    expect((await api.call('GET', `${P}/tenants/globex/config`, { token: tokens['acme-reader']! })).statusCode).toBe(
      403,
    );
    expect((await api.call('GET', `${P}/config`, { token: tokens['acme-reader']! })).statusCode).toBe(403);
    expect(
      (await api.call('GET', `${P}/tenants/globex/flags/new_checkout`, { token: tokens['acme-reader']! })).statusCode,
    ).toBe(403);
    expect(
      (
        await api.call('PUT', `${P}/tenants/globex/config/ui.theme`, {
          token: tokens['acme-writer']!,
          body: { value: 'dark' },
        })
      ).statusCode,
    ).toBe(403);
    expect(
      (await api.call('DELETE', `${P}/tenants/globex/config/ui.theme`, { token: tokens['acme-writer']! })).statusCode,
    ).toBe(403);
    expect(
      (await api.call('PUT', `${P}/config/ui.theme`, { token: tokens['acme-writer']!, body: { value: 'dark' } }))
        .statusCode,
    ).toBe(403);
    expect(
      (
        await api.call('PUT', `${P}/flags/new_checkout`, {
          token: tokens['acme-writer']!,
          body: { rollout: 100, enabled: true },
        })
      ).statusCode,
    ).toBe(403);
    expect(
      (
        await api.call('PUT', `${P}/tenants/globex/flags/new_checkout`, {
          token: tokens['acme-writer']!,
          body: { override: 'enabled' },
        })
      ).statusCode,
    ).toBe(403);
    expect(
      (await api.call('GET', `${P}/tenants/globex/secrets/stripe.api_key`, { token: tokens['acme-secret-reader']! }))
        .statusCode,
    ).toBe(403);
    expect(
      (await api.call('GET', '/v1/events?namespace=shop&env=prod&tenant=globex', { token: tokens['acme-reader']! }))
        .statusCode,
    ).toBe(403);
    const ofrep = await api.call('POST', '/ofrep/v1/evaluate/flags/new_checkout', {
      token: tokens['acme-reader']!,
      body: { context: { targetingKey: 'globex' } },
    });
    expect(ofrep.statusCode).toBe(403);
    expect(await api.eventCount()).toBe(before);
    const own = await api.call('PUT', `${P}/tenants/acme/config/ui.theme`, {
      token: tokens['acme-writer']!,
      body: { value: 'light' },
    });
    expect(own.statusCode).toBe(200);
    const ownOfrep = await api.call('POST', '/ofrep/v1/evaluate/flags/new_checkout', {
      token: tokens['acme-reader']!,
      body: { context: { targetingKey: 'acme' } },
    });
    expect(ownOfrep.statusCode).toBe(200);
  });

  test('namespace-scoped operators publish manifests', async () => {
    const operator = await api.issue('operator', { namespace: 'shop' });
    const writer = await api.issue('writer', { namespace: 'shop' });
    expect(
      (await api.call('PUT', '/v1/namespaces/shop/manifest', { token: operator, body: manifest })).statusCode,
    ).toBe(200);
    expect((await api.call('PUT', '/v1/namespaces/shop/manifest', { token: writer, body: manifest })).statusCode).toBe(
      403,
    );
  });

  test('a token of another namespace reaches nothing here', async () => {
    expect((await api.call('GET', `${P}/tenants/acme/config`, { token: tokens['other-ns-admin']! })).statusCode).toBe(
      403,
    );
    expect(
      (
        await api.call('POST', '/v1/tokens', {
          token: tokens['other-ns-admin']!,
          body: { role: 'admin', namespace: 'shop' },
        })
      ).statusCode,
    ).toBe(403);
    expect(
      (await api.call('POST', '/v1/tokens', { token: tokens['other-ns-admin']!, body: { role: 'admin' } })).statusCode,
    ).toBe(403);
  });
});

describe('authentication', () => {
  test('no token, malformed header, unknown token: 401 problem', async () => {
    for (const headers of [
      {} as Record<string, string>,
      { authorization: 'Basic Zm9vOmJhcg==' },
      { authorization: 'Bearer ' },
      { authorization: 'Bearer nope' },
    ]) {
      const response = await api.call('GET', `${P}/tenants/acme/config`, { token: null, headers });
      expect(response.statusCode).toBe(401);
      expect(response.json()).toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });
    }
    // 401 comes before validation: nothing about the request is revealed to strangers.
    expect((await api.call('PUT', '/v1/namespaces/..%2F/manifest', { token: null, raw: '{' })).statusCode).toBe(401);
  });

  test('every documented route, and the HEAD of every GET, refuses a caller without a token unless it is public', async () => {
    // Its own instance: so many refusals from one address would make the shared one back off.
    await using strangers = await testApi({ authFailureAllowance: 10_000 });
    const openapi = (await strangers.call('GET', '/openapi.json', { token: null })).json() as {
      paths: Record<string, Record<string, unknown>>;
    };
    const publicRoutes = new Set(['GET /healthz', 'GET /readyz', 'GET /metrics']);
    const refused: string[] = [];
    for (const [path, operations] of Object.entries(openapi.paths)) {
      const url = path.replace(/\{[^}]+\}/g, 'x');
      for (const method of Object.keys(operations).map((m) => m.toUpperCase())) {
        if (publicRoutes.has(`${method} ${path}`)) continue;
        for (const asked of method === 'GET' ? ['GET', 'HEAD'] : [method]) {
          const response = await strangers.call(asked as 'GET', url, {
            token: null,
            ...(asked === 'GET' || asked === 'HEAD' ? {} : { raw: '{}' }),
          });
          if (response.statusCode !== 401) refused.push(`${asked} ${path}: ${response.statusCode}`);
        }
      }
    }
    expect(refused).toEqual([]);
    expect(Object.keys(openapi.paths).length).toBeGreaterThan(30);
  });

  test('public endpoints need no token', async () => {
    expect((await api.call('GET', '/healthz', { token: null })).statusCode).toBe(200);
    expect((await api.call('GET', '/readyz', { token: null })).statusCode).toBe(200);
    expect((await api.call('GET', '/metrics', { token: null })).body).toContain('strata_api_requests_total');
    const openapi = await api.call('GET', '/openapi.json', { token: null });
    expect(openapi.statusCode).toBe(200);
    expect(Object.keys(openapi.json().paths)).toContain('/v1/namespaces/{ns}/envs/{env}/tenants/{tenant}/config');
  });

  test('tokens: stored as hashes, shown once, revocation is an event and takes effect', async () => {
    const issued = await api.call('POST', '/v1/tokens', {
      body: { role: 'reader', namespace: 'shop', env: 'prod', description: 'ci' },
    });
    expect(issued.statusCode).toBe(201);
    const { id, token, position } = issued.json() as { id: string; token: string; position: number };
    expect(position).toBeGreaterThan(0);
    const { rows } = await api.owner.query(
      "SELECT token_hash, encode(token_hash, 'hex') AS hex FROM strata.api_tokens WHERE id = $1",
      [id],
    );
    expect(rows[0].hex).toHaveLength(64);
    const dump =
      JSON.stringify((await api.owner.query('SELECT * FROM strata.api_tokens')).rows) +
      JSON.stringify((await api.owner.query('SELECT data, metadata FROM strata.events')).rows);
    expect(dump).not.toContain(token);
    const listed = await api.call('GET', '/v1/tokens');
    expect(listed.body).not.toContain(token);
    expect(listed.json().tokens.map((t: { id: string }) => t.id)).toContain(id);
    expect((await api.call('GET', `${P}/tenants/acme/config`, { token })).statusCode).toBe(200);
    const revoked = await api.call('DELETE', `/v1/tokens/${id}`);
    expect(revoked.statusCode).toBe(200);
    expect((await api.call('GET', `${P}/tenants/acme/config`, { token })).statusCode).toBe(401);
    const events = await api.call('GET', '/v1/events?type=TokenIssued&type=TokenRevoked&limit=1000');
    const types = events
      .json()
      .events.filter((e: { data: { tokenId: string } }) => e.data.tokenId === id)
      .map((e: { type: string }) => e.type);
    expect(types).toEqual(['TokenIssued', 'TokenRevoked']);
    expect((await api.call('DELETE', `/v1/tokens/${id}`)).statusCode).toBe(404);
  });
});
