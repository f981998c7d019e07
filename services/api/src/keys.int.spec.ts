import { afterAll, beforeAll, expect, test } from 'vitest';
import { generateMasterKey, Keyring } from '@strata/crypto';
import { manifest, testApi, type TestApi } from './api-fixture.js';

/** Key management: status, master-key rotation recorded as an event, and crypto-shredding a tenant. */
const oldKey = generateMasterKey('mk-old');
const newKey = generateMasterKey('mk-new');
const P = '/v1/namespaces/shop/envs/prod';
let api: TestApi;

beforeAll(async () => {
  api = await testApi({}, Keyring.parse(oldKey));
  await api.call('PUT', '/v1/namespaces/shop/manifest', { body: manifest });
  for (const tenant of ['acme', 'globex']) {
    const stored = await api.call('PUT', `${P}/tenants/${tenant}/secrets/stripe.api_key`, {
      body: { value: `sk_${tenant}_value` },
    });
    expect(stored.statusCode).toBe(200);
  }
});
afterAll(async () => api?.[Symbol.asyncDispose]());

test('only admin sees key status: which master key wraps how many tenant keys', async () => {
  const status = await api.call('GET', '/v1/keys');
  expect(status.statusCode).toBe(200);
  expect(status.json()).toEqual({ activeKid: 'mk-old', masterKeys: [{ kid: 'mk-old', active: true, wraps: 2 }] });
  const operator = await api.issue('operator', { namespace: 'shop' });
  expect((await api.call('GET', '/v1/keys', { token: operator })).statusCode).toBe(403);
  expect((await api.call('POST', '/v1/keys/rotate', { token: operator, body: {} })).statusCode).toBe(403);
});

test('rotation re-wraps every tenant key under the new master key, records it, and secrets still read', async () => {
  const rotated = await api.withKeyring(Keyring.parse(`*${newKey},${oldKey}`));
  const answer = await rotated.inject({
    method: 'POST',
    url: '/v1/keys/rotate',
    headers: { authorization: 'Bearer test-admin-token-0123456789abcdef', 'content-type': 'application/json' },
    payload: JSON.stringify({ reason: 'yearly rotation' }),
  });
  expect(answer.statusCode).toBe(200);
  expect(answer.json()).toMatchObject({
    activeKid: 'mk-new',
    rotations: [{ fromKeyId: 'mk-old', toKeyId: 'mk-new', rewrapped: 2 }],
  });
  const status = await rotated.inject({
    method: 'GET',
    url: '/v1/keys',
    headers: { authorization: 'Bearer test-admin-token-0123456789abcdef' },
  });
  expect(status.json()).toMatchObject({
    masterKeys: [
      { kid: 'mk-new', wraps: 2 },
      { kid: 'mk-old', wraps: 0 },
    ],
  });

  // The old master key can now be dropped from the keyring: everything reads with the new one alone.
  const newOnly = await api.withKeyring(Keyring.parse(newKey));
  const read = await newOnly.inject({
    method: 'GET',
    url: `${P}/tenants/acme/secrets/stripe.api_key`,
    headers: { authorization: 'Bearer test-admin-token-0123456789abcdef' },
  });
  expect(read.statusCode).toBe(200);
  expect(read.json()).toMatchObject({ value: 'sk_acme_value', version: 1 });

  const { rows } = await api.owner.query<{ data: { fromKeyId: string; rewrappedKeyIds: string[] } }>(
    "SELECT data FROM strata.events WHERE type = 'MasterKeyRotated'",
  );
  expect(rows).toHaveLength(1);
  expect(rows[0]!.data.fromKeyId).toBe('mk-old');
  expect(rows[0]!.data.rewrappedKeyIds).toHaveLength(2);
});

test('shredding a tenant makes its secrets unreadable for good, leaves others readable, and keeps history', async () => {
  const before = await api.eventCount();
  const shredded = await api.call('DELETE', '/v1/namespaces/shop/tenants/acme/keys', {
    body: { reason: 'contract ended' },
  });
  expect(shredded.statusCode).toBe(200);
  expect(await api.eventCount()).toBe(before + 1);

  const gone = await api.call('GET', `${P}/tenants/acme/secrets/stripe.api_key`);
  expect(gone.statusCode).toBe(410);
  expect(gone.json()).toMatchObject({ code: 'KEY_SHREDDED' });
  expect(gone.body).not.toContain('sk_acme_value');
  // Read where the current master key is: the rotation above re-wrapped globex's key with mk-new,
  // and every API instance dropped its cached copy on the re-wrap's notification.
  const current = await api.withKeyring(Keyring.parse(`*${newKey},${oldKey}`));
  const other = await current.inject({
    method: 'GET',
    url: `${P}/tenants/globex/secrets/stripe.api_key`,
    headers: { authorization: 'Bearer test-admin-token-0123456789abcdef' },
  });
  expect(other.json()).toMatchObject({ value: 'sk_globex_value' });

  const history = await api.call('GET', '/v1/events?namespace=shop&tenant=acme');
  const types = (history.json() as { events: { type: string }[] }).events.map((e) => e.type);
  expect(types).toContain('SecretVersionAdded');
  expect((await api.call('DELETE', '/v1/namespaces/shop/tenants/nobody/keys')).statusCode).toBe(404);
});
