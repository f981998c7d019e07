import { afterAll, beforeAll, expect, test } from 'vitest';
import { manifest, testApi, type TestApi } from './api-fixture.js';

/** Invariant 7: plaintext leaves only to secret-read, after the read is recorded. */
const marker = 'sk_live_MARKER_7f3a9c1e2b';
const tenantMarker = 'sk_live_TENANT_MARKER_44d1';
let api: TestApi;
const P = '/v1/namespaces/shop/envs/prod';
let tokens: Record<string, string>;

beforeAll(async () => {
  api = await testApi();
  await api.call('PUT', '/v1/namespaces/shop/manifest', { body: manifest });
  tokens = {
    writer: await api.issue('secret-writer', { namespace: 'shop', env: 'prod' }),
    reader: await api.issue('secret-reader', { namespace: 'shop', env: 'prod' }),
    acmeReader: await api.issue('secret-reader', { namespace: 'shop', env: 'prod', tenant: 'acme' }),
    plainReader: await api.issue('reader', { namespace: 'shop', env: 'prod' }),
    auditor: await api.issue('auditor', { namespace: 'shop', env: 'prod' }),
  };
  expect(
    (
      await api.call('PUT', `${P}/secrets/stripe.api_key`, {
        token: tokens.writer!,
        body: { value: marker, reason: 'initial' },
      })
    ).statusCode,
  ).toBe(200);
  expect(
    (
      await api.call('PUT', `${P}/tenants/acme/secrets/stripe.api_key`, {
        token: tokens.writer!,
        body: { value: tenantMarker },
      })
    ).statusCode,
  ).toBe(200);
  await api.project();
});
afterAll(async () => api?.[Symbol.asyncDispose]());

test('only secret-reader gets plaintext; the read is logged first with who, what and from where', async () => {
  const read = await api.call('GET', `${P}/secrets/stripe.api_key`, {
    token: tokens.reader!,
    headers: { 'user-agent': 'billing-svc/1.0' },
  });
  expect(read.statusCode).toBe(200);
  expect(read.json()).toEqual({ value: marker, version: 1, source: 'environment' });
  expect(read.headers['cache-control']).toBe('no-store');
  const { rows } = await api.owner.query('SELECT * FROM strata.secret_access_log ORDER BY id');
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({
    actor: expect.stringMatching(/^token:/),
    namespace: 'shop',
    environment: 'prod',
    tenant: null,
    name: 'stripe.api_key',
    version: 1,
    user_agent: 'billing-svc/1.0',
    ip: expect.any(String),
  });
  for (const token of [tokens.writer!, tokens.plainReader!, tokens.auditor!]) {
    const denied = await api.call('GET', `${P}/secrets/stripe.api_key`, { token });
    expect(denied.statusCode).toBe(403);
    expect(denied.body).not.toContain(marker);
  }
  const own = await api.call('GET', `${P}/tenants/acme/secrets/stripe.api_key`, { token: tokens.acmeReader! });
  expect(own.json()).toMatchObject({ value: tenantMarker, source: 'tenant' });
  const inherited = await api.call('GET', `${P}/tenants/globex/secrets/stripe.api_key`, { token: tokens.reader! });
  expect(inherited.json()).toMatchObject({ value: marker, source: 'environment' });
});

test('rotation: new version, previous readable only within its grace period', async () => {
  const until = new Date(Date.now() + 60_000).toISOString();
  const rotated = await api.call('PUT', `${P}/secrets/stripe.api_key`, {
    token: tokens.writer!,
    body: { value: `${marker}-v2`, previousReadableUntil: until },
  });
  expect(rotated.json()).toMatchObject({ secretVersion: 2 });
  expect((await api.call('GET', `${P}/secrets/stripe.api_key`, { token: tokens.reader! })).json()).toMatchObject({
    value: `${marker}-v2`,
    version: 2,
  });
  expect(
    (await api.call('GET', `${P}/secrets/stripe.api_key?version=1`, { token: tokens.reader! })).json(),
  ).toMatchObject({ value: marker, version: 1 });
  const list = await api.call('GET', `${P}/secrets`, { token: tokens.plainReader! });
  expect(list.statusCode).toBe(200);
  expect(list.json().secrets[0].versions.map((v: { version: number }) => v.version)).toEqual([1, 2]);
  expect(list.body).not.toContain(marker);
  expect(list.body).not.toContain('ciphertext');
});

test('the access log is append-only, even for the owner', async () => {
  await expect(api.owner.query('UPDATE strata.secret_access_log SET actor = $1', ['x'])).rejects.toThrow(/append-only/);
  await expect(api.owner.query('DELETE FROM strata.secret_access_log')).rejects.toThrow(/append-only/);
  await expect(api.owner.query('TRUNCATE strata.secret_access_log')).rejects.toThrow(/append-only/);
});

test('fail closed: when the access log cannot be written, the secret is not returned', async () => {
  await api.owner.query('REVOKE INSERT ON strata.secret_access_log FROM strata_app');
  try {
    const read = await api.call('GET', `${P}/secrets/stripe.api_key`, { token: tokens.reader! });
    expect(read.statusCode).toBe(503);
    expect(read.body).not.toContain(marker);
  } finally {
    await api.owner.query('GRANT INSERT ON strata.secret_access_log TO strata_app');
  }
});

test('the marker never appears in the log, the access log, history, errors or API logs', async () => {
  const events = JSON.stringify((await api.owner.query('SELECT data, metadata FROM strata.events')).rows);
  expect(events).not.toContain(marker);
  expect(events).not.toContain(tenantMarker);
  expect(events).toContain('ciphertext');
  expect(JSON.stringify((await api.owner.query('SELECT * FROM strata.secret_access_log')).rows)).not.toContain(marker);
  const history = await api.call('GET', '/v1/events?namespace=shop&env=prod&type=SecretVersionAdded', {
    token: tokens.auditor!,
  });
  expect(history.statusCode).toBe(200);
  expect(history.json().events[0].data.envelope).toEqual({ version: 1, kek: expect.any(String) });
  expect(history.body).not.toContain(marker);
  expect(history.body).not.toContain('ciphertext');
  const exported = await api.call('GET', '/v1/events/export?namespace=shop&env=prod');
  expect(exported.body).not.toContain(marker);
  const diff = await api.call('GET', `${P}/diff?from=0`);
  expect(diff.body).not.toContain(marker);
  // A bad write quoting the marker in an unknown key: the error must not echo it.
  const bad = await api.call('PUT', `${P}/secrets/stripe.api_key`, {
    token: tokens.writer!,
    body: { value: marker, extra: marker },
  });
  expect(bad.statusCode).toBe(400);
  expect(bad.body).not.toContain(marker);
  expect(api.logLines.join('\n')).not.toContain(marker);
  expect(api.logLines.join('\n')).not.toContain(tenantMarker);
});

test('revert restores a secret version re-encrypted under its new version number', async () => {
  const target = (await api.call('GET', '/v1/events?type=SecretVersionAdded&limit=1000')).json().events[1]
    .position as number;
  const reverted = await api.call('POST', `${P}/revert`, {
    body: { to: { position: target }, keys: ['stripe.api_key'], dryRun: false, reason: 'bad rotation' },
  });
  expect(reverted.statusCode, reverted.body).toBe(200);
  expect(reverted.body).not.toContain(marker);
  const read = await api.call('GET', `${P}/secrets/stripe.api_key`, { token: tokens.reader! });
  expect(read.json()).toMatchObject({ value: marker, version: 3 });
});
