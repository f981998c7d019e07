import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  bearerRequest,
  freePort,
  sleep,
  startStack,
  waitFor,
  type Json,
  type Stack,
  type StartedProcess,
} from './stack-fixture.js';

/**
 * Short-lived credentials and shredding across processes: two real API processes on one
 * database, each with its own token and tenant-key caches. A change made through one must be
 * refused by the other within one second (each caches for a minute or more when left alone).
 */
const ns = 'creds';
const P = `/v1/namespaces/${ns}/envs/prod`;

let stack: Stack;
let second: { url: string; process: StartedProcess };

/** A JSON call against the second API process. */
const callSecond = async (method: string, path: string, token: string, body?: unknown) => {
  const response = await fetch(`${second.url}${path}`, bearerRequest(method, token, body));
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as Json };
};

const ok = async (method: string, path: string, body?: unknown, token?: string): Promise<Json> => {
  const answer = await stack.call(method, path, body, token);
  if (answer.status >= 300) throw new Error(`${method} ${path} → ${answer.status} ${answer.text}`);
  return answer.body;
};

/** Polls the second process until `done(status)`; the ms it took. Bounded by `timeoutMs`. */
const msUntil = async (path: string, token: string, done: (status: number) => boolean, timeoutMs = 5_000) => {
  const started = Date.now();
  await waitFor(
    async () => done((await callSecond('GET', path, token)).status),
    `${path} on the second API`,
    timeoutMs,
    20,
  );
  return Date.now() - started;
};

beforeAll(async () => {
  stack = await startStack();
  const port = await freePort();
  second = {
    url: `http://127.0.0.1:${port}`,
    process: stack.spawnScript('api-2', 'services/api/src/main.ts', { PORT: String(port) }),
  };
  await waitFor(
    async () => {
      if (second.process.child.exitCode !== null) throw new Error(`api-2 exited:\n${second.process.output()}`);
      return (await fetch(`${second.url}/readyz`).catch(() => null))?.ok;
    },
    'the second API ready',
    30_000,
    100,
  );
  await ok('PUT', `/v1/namespaces/${ns}/manifest`, {
    keys: {},
    flags: {},
    secrets: { 'erp.api_key': { description: 'ERP key' } },
  });
}, 90_000);
afterAll(async () => stack?.[Symbol.asyncDispose]());

describe('tokens across two API processes', () => {
  test('a token revoked through one API is refused by the other within one second', async () => {
    const { id, token } = await ok('POST', '/v1/tokens', { role: 'admin', description: 'to revoke' });
    // Both processes have seen (and cached) it.
    expect((await stack.call('GET', '/v1/tokens', undefined, token)).status).toBe(200);
    expect((await callSecond('GET', '/v1/tokens', token)).status).toBe(200);
    await ok('DELETE', `/v1/tokens/${id}`);
    const ms = await msUntil('/v1/tokens', token, (status) => status === 401);
    console.log(`revoked in api-1 → refused by api-2: ${ms} ms`);
    expect(ms).toBeLessThan(1_000);
    expect((await callSecond('GET', '/v1/tokens', token)).body).toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  test('an expired token answers 401 saying it expired, in every process, from its expiry on', async () => {
    const expiresAt = new Date(Date.now() + 5_000).toISOString();
    const issued = await ok('POST', '/v1/tokens', { role: 'auditor', namespace: ns, expiresAt });
    expect(issued.expiresAt).toBe(expiresAt);
    const path = `/v1/events?namespace=${ns}&limit=1`;
    expect((await stack.call('GET', path, undefined, issued.token)).status).toBe(200);
    expect((await callSecond('GET', path, issued.token)).status).toBe(200);
    await sleep(Math.max(0, Date.parse(expiresAt) - Date.now()));
    const ms = await msUntil(path, issued.token, (status) => status === 401);
    console.log(`expiry → refused by api-2: ${ms} ms`);
    expect(ms).toBeLessThan(1_000);
    for (const answer of [
      await stack.call('GET', path, undefined, issued.token),
      await callSecond('GET', path, issued.token),
    ]) {
      expect(answer.status).toBe(401);
      expect(answer.body).toMatchObject({ code: 'UNAUTHENTICATED', detail: expect.stringMatching(/expired at/) });
    }
    // Gone from the list of live tokens; the event records the expiry.
    expect((await ok('GET', '/v1/tokens')).tokens.map((t: Json) => t.id)).not.toContain(issued.id);
    const events = await ok('GET', '/v1/events?type=TokenIssued&limit=1000');
    expect(events.events.find((e: Json) => e.data.tokenId === issued.id).data.expiresAt).toBe(expiresAt);
  });

  test('rotation issues a successor at once and keeps the old token for the grace it names, then refuses it everywhere', async () => {
    const old = await ok('POST', '/v1/tokens', { role: 'auditor', namespace: ns, description: 'audit export' });
    const path = `/v1/events?namespace=${ns}&limit=1`;
    expect((await callSecond('GET', path, old.token)).status).toBe(200);

    const rotated = await ok('POST', `/v1/tokens/${old.id}/rotate`, { graceSeconds: 5, reason: 'quarterly' });
    expect(rotated).toMatchObject({
      previousId: old.id,
      role: 'auditor',
      namespace: ns,
      graceSeconds: 5,
      previousValidUntil: expect.any(String),
    });
    expect(rotated.id).not.toBe(old.id);
    // The successor works everywhere at once; the old one still works during the grace.
    expect((await callSecond('GET', path, rotated.token)).status).toBe(200);
    expect((await callSecond('GET', path, old.token)).status).toBe(200);
    // Rotating the same token twice is a conflict; the successor can be rotated in turn.
    expect((await stack.call('POST', `/v1/tokens/${old.id}/rotate`, {})).status).toBe(409);

    await sleep(Math.max(0, Date.parse(rotated.previousValidUntil) - Date.now()));
    const ms = await msUntil(path, old.token, (status) => status === 401);
    console.log(`rotation grace over → old token refused by api-2: ${ms} ms`);
    expect(ms).toBeLessThan(1_000);
    expect((await callSecond('GET', path, old.token)).body.detail).toMatch(/expired at/);
    expect((await callSecond('GET', path, rotated.token)).status).toBe(200);
    const event = (await ok('GET', '/v1/events?type=TokenIssued&limit=1000')).events.find(
      (e: Json) => e.data.tokenId === rotated.id,
    );
    expect(event.data).toMatchObject({ rotatedFrom: old.id, previousValidUntil: rotated.previousValidUntil });
  });

  test("a short-lived issuer's tokens end when it does at the latest", async () => {
    const parent = await ok('POST', '/v1/tokens', {
      role: 'admin',
      expiresAt: new Date(Date.now() + 600_000).toISOString(),
    });
    const child = await ok('POST', '/v1/tokens', { role: 'reader' }, parent.token);
    expect(child.expiresAt).toBe(parent.expiresAt);
    const sooner = new Date(Date.now() + 300_000).toISOString();
    expect((await ok('POST', '/v1/tokens', { role: 'reader', expiresAt: sooner }, parent.token)).expiresAt).toBe(
      sooner,
    );
    const rotated = await ok('POST', `/v1/tokens/${child.id}/rotate`, { expiresAt: null }, parent.token);
    expect(rotated.expiresAt).toBe(parent.expiresAt);
  });

  test('bad lifetimes are 400 and issue nothing', async () => {
    const before = (await ok('GET', '/v1/events?type=TokenIssued&limit=1000')).events.length;
    const past = await stack.call('POST', '/v1/tokens', { role: 'reader', expiresAt: '2020-01-01T00:00:00Z' });
    expect(past.status).toBe(400);
    expect(past.body.detail).toMatch(/not in the future/);
    expect((await stack.call('POST', '/v1/tokens', { role: 'reader', expiresAt: 'tomorrow' })).status).toBe(400);
    const { id } = await ok('POST', '/v1/tokens', { role: 'reader' });
    expect((await stack.call('POST', `/v1/tokens/${id}/rotate`, { graceSeconds: 8 * 24 * 3600 })).status).toBe(400);
    expect((await stack.call('POST', `/v1/tokens/${id}/rotate`, { graceSeconds: -1 })).status).toBe(400);
    expect((await stack.call('POST', '/v1/tokens/tok_00000000000000000000/rotate', {})).status).toBe(404);
    expect((await ok('GET', '/v1/events?type=TokenIssued&limit=1000')).events.length).toBe(before + 1);
  });
});

test("a shredded tenant's secrets stop being served by every API process within one second", async () => {
  await ok('PUT', `${P}/tenants/acme/secrets/erp.api_key`, { value: 'sk-acme-shred-me' });
  await ok('PUT', `${P}/tenants/globex/secrets/erp.api_key`, { value: 'sk-globex-keep' });
  const path = `${P}/tenants/acme/secrets/erp.api_key`;
  // The second process has unwrapped (and cached) acme's key.
  expect((await callSecond('GET', path, stack.adminToken)).body).toMatchObject({ value: 'sk-acme-shred-me' });
  await ok('DELETE', `/v1/namespaces/${ns}/tenants/acme/keys`, { reason: 'contract ended' });
  const ms = await msUntil(path, stack.adminToken, (status) => status === 410);
  console.log(`shredded in api-1 → refused by api-2: ${ms} ms`);
  expect(ms).toBeLessThan(1_000);
  expect((await callSecond('GET', path, stack.adminToken)).body).toMatchObject({ code: 'KEY_SHREDDED' });
  expect((await callSecond('GET', `${P}/tenants/globex/secrets/erp.api_key`, stack.adminToken)).body).toMatchObject({
    value: 'sk-globex-keep',
  });
});
