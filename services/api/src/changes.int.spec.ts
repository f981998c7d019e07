import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { StrataApi, type Change } from '@strata/contracts';
import { waitFor } from '@strata/testing';
import { adminToken, manifest, testApi, type TestApi } from './api-fixture.js';

/** The change stream over real HTTP: live delivery, scoping, heartbeats, exact resume and resync. */
let api: TestApi;
let url: string;
let admin: StrataApi;
const shop = { namespace: 'shop', env: 'prod' };
const P = '/v1/namespaces/shop/envs/prod';
const marker = 'sk_live_STREAM_MARKER_5c1d';

beforeAll(async () => {
  api = await testApi({ changes: { heartbeatMs: 100, maxReplay: 50 } });
  await api.app.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
  admin = new StrataApi({ url, token: adminToken });
  await admin.publishManifest('shop', manifest);
});
afterAll(async () => api?.[Symbol.asyncDispose]());

/** Reads the raw stream until `until` holds for the text so far (bounded), then disconnects. */
const readRaw = async (path: string, token: string | null, until: (text: string) => boolean, ms = 10_000) => {
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), ms);
  const response = await fetch(`${url}${path}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    signal: stop.signal,
  });
  let text = '';
  if (response.ok && response.body) {
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    try {
      while (!until(text)) {
        const chunk = await reader.read();
        if (chunk.done) break;
        text += chunk.value;
      }
    } catch {
      // aborted by the bound: the text so far is the answer
    }
  } else text = await response.text();
  clearTimeout(timer);
  stop.abort();
  return { status: response.status, type: response.headers.get('content-type'), text };
};

/** Collects changes from a follower until `count` arrived (bounded). */
const collect = (client: StrataApi, options: { tenant?: string; after?: number } = {}) => {
  const changes: Change[] = [];
  const resyncs: number[] = [];
  const connections = { up: 0, down: 0 };
  const follower = client.follow(shop, {
    ...options,
    onConnection: (state) => void (state.up ? connections.up++ : connections.down++),
    onChange: (change) => changes.push(change),
    onResync: (position) => void resyncs.push(position),
    minBackoffMs: 20,
  });
  return { changes, resyncs, connections, follower };
};

const logPositions = async (after: number) => {
  const { rows } = await api.owner.query<{ position: string }>(
    `SELECT position FROM strata.events WHERE position > $1 AND data->>'namespace' = 'shop'
       AND (data->>'environment' = 'prod' OR type = 'ManifestPublished') ORDER BY position`,
    [after],
  );
  return rows.map((r) => Number(r.position));
};

describe('GET …/changes', () => {
  test('delivers each write live, names what changed and never a value; heartbeats keep it open', async () => {
    const raw = readRaw(`${P}/changes`, adminToken, (t) => t.includes('stripe.api_key') && t.includes(': keep-alive'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const written = await admin.setSecret(shop, 'stripe.api_key', { value: marker });
    const answer = await raw;
    expect(answer.status).toBe(200);
    expect(answer.type).toMatch(/^text\/event-stream/);
    expect(answer.text.startsWith('retry: 1000\n')).toBe(true);
    expect(answer.text).toContain(`id: ${written.position}\nevent: change\n`);
    expect(answer.text).not.toContain(marker);
    const data = /event: change\ndata: (.*)\n/.exec(answer.text)?.[1];
    expect(JSON.parse(data!)).toEqual({
      position: written.position,
      type: 'SecretVersionAdded',
      kind: 'secret',
      name: 'stripe.api_key',
      tenant: null,
      recordedAt: expect.any(String),
    });
  });

  test('is authorised like reads: no token 401, another namespace 403, a tenant token sees only its tenant', async () => {
    expect((await readRaw(`${P}/changes`, null, () => true)).status).toBe(401);
    const other = await api.issue('reader', { namespace: 'other', env: 'prod' });
    expect((await readRaw(`${P}/changes`, other, () => true)).status).toBe(403);
    const acmeToken = await api.issue('reader', { namespace: 'shop', env: 'prod', tenant: 'acme' });
    expect((await readRaw(`${P}/changes?tenant=globex`, acmeToken, () => true)).status).toBe(403);

    const acme = collect(new StrataApi({ url, token: acmeToken }));
    const all = collect(admin);
    const globexOnly = collect(admin, { tenant: 'globex' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await admin.setValue({ ...shop, tenant: 'globex' }, 'ui.theme', 'dark');
    await admin.setValue({ ...shop, tenant: 'acme' }, 'ui.theme', 'dark');
    const last = await admin.setValue(shop, 'rate_limit.requests_per_minute', 90);
    const seen = (c: { changes: Change[] }) => c.changes.some((x) => x.position === last.position);
    await waitFor(() => seen(acme) && seen(all) && seen(globexOnly), 'all three streams saw the last write', 10_000);
    await Promise.all([acme.follower.close(), all.follower.close(), globexOnly.follower.close()]);
    expect(acme.changes.map((c) => c.tenant)).toEqual(['acme', null]);
    expect(globexOnly.changes.map((c) => c.tenant)).toEqual(['globex', null]);
    expect(all.changes.map((c) => c.tenant)).toEqual(['globex', 'acme', null]);
  });

  test('resumes exactly after a disconnect: every position once, in order, none lost', async () => {
    const start = (await api.log.headPosition()) as number;
    const stream = collect(admin, { after: start });
    const writes: number[] = [];
    let cuts = 0;
    for (let i = 0; i < 30; i++) {
      // Written in-process (inject), so cutting the sockets below only hits the stream.
      const answer = await api.call('PUT', `${P}/config/rate_limit.requests_per_minute`, { body: { value: 100 + i } });
      writes.push((answer.json() as { position: number }).position);
      // Cut every connection now and then: the follower reconnects with Last-Event-ID. Each cut
      // waits for the follower to be connected again, or it would cut nothing (writes are fast).
      if (i % 7 === 3) {
        await waitFor(() => stream.connections.up > cuts, 'the follower is connected before the cut', 15_000);
        api.app.server.closeAllConnections();
        cuts++;
      }
    }
    await waitFor(() => stream.changes.at(-1)?.position === writes.at(-1), 'the follower caught up', 15_000);
    await stream.follower.close();
    expect(stream.resyncs).toEqual([]);
    expect(cuts).toBe(4);
    expect(stream.connections.up).toBeGreaterThanOrEqual(cuts + 1);
    expect(stream.changes.map((c) => c.position)).toEqual(await logPositions(start));
    expect(stream.changes.map((c) => c.position)).toEqual(writes);
  });

  test('bad input is a 400 problem before anything streams', async () => {
    for (const path of [
      `${P}/changes?tenant=a%20b`,
      `${P}/changes?after=-1`,
      `${P}/changes?nope=1`,
      `${P}/changes?format=x`,
    ]) {
      const answer = await readRaw(path, adminToken, () => true);
      expect(answer.status, path).toBe(400);
      expect(answer.type).toMatch(/^application\/problem\+json/);
    }
    const badId = await fetch(`${url}${P}/changes`, {
      headers: { authorization: `Bearer ${adminToken}`, 'last-event-id': 'yesterday' },
    });
    expect(badId.status).toBe(400);
    expect(await badId.json()).toMatchObject({ code: 'BAD_REQUEST' });
    expect((await readRaw('/v1/namespaces/bad%20ns/envs/prod/changes', adminToken, () => true)).status).toBe(400);
  });

  test('a resume from further back than the replay window is told to resync at the head', async () => {
    for (let i = 0; i < 55; i++) await admin.setValue(shop, 'ui.theme', i % 2 ? 'dark' : 'light');
    const messages = [];
    for await (const message of admin.changes(shop, { after: 0 })) messages.push(message);
    expect(messages).toEqual([{ event: 'resync', position: await api.log.headPosition() }]);
  });
});
