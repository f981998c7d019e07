import { Redis } from 'ioredis';
import { expect, inject, test } from 'vitest';
import { createPool, PostgresEventLog } from '@strata/postgres-log';
import { RedisViewStore } from '@strata/redis-views';
import { createTestDatabase, privateRedis, waitFor } from '@strata/testing';
import { loadConfig } from '../../services/api/src/config.js';
import { startApi } from '../../services/api/src/start-api.js';
import { bearerRequest, type Json } from './stack-fixture.js';

/**
 * Redis goes away under a running API (a redis-server of its own, killed and started again
 * empty): resolved reads keep answering from the log, marked `Strata-Read-Source: log`, writes
 * keep working, and once Redis is back and the views are rebuilt, reads come from Redis again.
 */
const adminToken = 'redis-outage-admin-token-0123456789';
const ns = 'redisfault';
const P = `/v1/namespaces/${ns}/envs/prod`;
const manifest = {
  keys: { 'limits.rpm': { type: 'integer', default: 60, minimum: 1, maximum: 1_000_000 } },
  flags: { beta: { type: 'boolean', description: 'beta' } },
  secrets: {},
};
const prefix = 'strata:';

test('resolved reads come from the log while Redis is down, and from Redis again once it is back', async () => {
  await using db = await createTestDatabase();
  await using redis = await privateRedis();
  const api = await startApi(
    loadConfig({
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      STRATA_REDIS_PREFIX: prefix,
      KAFKA_BROKERS: inject('services').kafkaBrokers.join(','),
      STRATA_ADMIN_TOKEN: adminToken,
      PORT: '0',
      LOG_LEVEL: 'silent',
    }),
  );
  // What relay + projector do, driven by the test: apply the log to the views (rebuild when empty).
  const pool = createPool(db.url, { max: 2 });
  const log = new PostgresEventLog(pool);
  const projector = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  projector.on('error', () => undefined);
  let cursor = 0;
  const project = async () => {
    const store = new RedisViewStore({ redis: projector, prefix });
    if (await store.needsRebuild()) {
      cursor = (await store.rebuild({ eventLog: log, dropDelayMs: 0 })).position;
      return;
    }
    for (let page = await log.readAll(cursor, 1000); page.length > 0; page = await log.readAll(cursor, 1000)) {
      await store.applyEvents(page);
      cursor = page.at(-1)!.position;
    }
  };
  const call = async (method: string, path: string, body?: unknown) => {
    const started = performance.now();
    const response = await fetch(
      `${api.url}${path}`,
      bearerRequest(method, adminToken, body, AbortSignal.timeout(15_000)),
    );
    const text = await response.text();
    return {
      status: response.status,
      source: response.headers.get('strata-read-source'),
      body: (text.length > 0 ? JSON.parse(text) : {}) as Json,
      ms: performance.now() - started,
    };
  };
  const ofrep = () =>
    call('POST', '/ofrep/v1/evaluate/flags/beta', {
      context: { targetingKey: 'acme', namespace: ns, environment: 'prod' },
    });
  try {
    await projector.connect();
    expect((await call('PUT', `/v1/namespaces/${ns}/manifest`, manifest)).status).toBe(200);
    expect((await call('PUT', `${P}/tenants/acme/config/limits.rpm`, { value: 100 })).status).toBe(200);
    expect((await call('PUT', `${P}/flags/beta`, { rollout: 100, enabled: true })).status).toBe(200);
    await project();
    const fromViews = await call('GET', `${P}/tenants/acme/config`);
    expect(fromViews).toMatchObject({ status: 200, source: null });
    expect(fromViews.body['values']['limits.rpm']).toMatchObject({ value: 100, source: 'tenant' });

    await redis.kill();
    const down = await call('GET', `${P}/tenants/acme/config`);
    expect(down).toMatchObject({ status: 200, source: 'log' });
    expect(down.body['values']['limits.rpm']).toMatchObject({ value: 100, source: 'tenant' });
    // The log is the source of truth: a write during the outage is read back at once.
    const write = await call('PUT', `${P}/tenants/acme/config/limits.rpm`, { value: 250 });
    expect(write.status).toBe(200);
    const mine = await call('GET', `${P}/tenants/acme/config?minPosition=${write.body['position']}`);
    expect(mine).toMatchObject({ status: 200, source: 'log' });
    expect(mine.ms).toBeLessThan(3_000);
    expect(mine.body['values']['limits.rpm']).toMatchObject({ value: 250, source: 'tenant' });
    expect(await call('GET', `${P}/config`)).toMatchObject({ status: 200, source: 'log' });
    const flag = await call('GET', `${P}/tenants/acme/flags/beta`);
    expect(flag).toMatchObject({ status: 200, source: 'log', body: { enabled: true, reason: 'rollout' } });
    expect(await ofrep()).toMatchObject({ status: 200, source: 'log', body: { value: true } });
    expect((await fetch(`${api.url}/readyz`)).status).toBe(503);
    // What only Redis can answer is unavailable, not an internal error.
    const status = await fetch(`${api.url}/v1/projections/status`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(status.status).toBe(503);
    expect(status.headers.get('retry-after')).toBe('1');
    expect(((await status.json()) as { code: string }).code).toBe('UNAVAILABLE');

    // Back, but empty: no generation is live until the rebuild, so the log still answers.
    await redis.start();
    await waitFor(async () => (await fetch(`${api.url}/readyz`)).status === 200, 'the API to see Redis again', 20_000);
    const empty = await call('GET', `${P}/tenants/acme/config`);
    expect(empty).toMatchObject({ status: 200, source: 'log' });
    expect(empty.body['values']['limits.rpm']).toMatchObject({ value: 250 });

    await waitFor(() => projector.status === 'ready', 'the projector connection', 20_000);
    await project();
    const again = await call('GET', `${P}/tenants/acme/config`);
    expect(again).toMatchObject({ status: 200, source: null });
    expect(again.body['values']['limits.rpm']).toMatchObject({ value: 250, source: 'tenant' });
    expect(await ofrep()).toMatchObject({ status: 200, source: null, body: { value: true } });
  } finally {
    projector.disconnect();
    await api.close();
    await pool.end();
  }
}, 120_000);
