import { setTimeout as sleep } from 'node:timers/promises';
import { expect, inject, test } from 'vitest';
import { privatePostgres, testRedis } from '@strata/testing';
import { loadConfig } from '../../services/api/src/config.js';
import { startApi } from '../../services/api/src/start-api.js';
import { bearerRequest } from './stack-fixture.js';

/**
 * PostgreSQL restarts under writes (on a cluster of its own: the shared one must never restart).
 * Every answer during the outage is 200 or 503 UNAVAILABLE with Retry-After — never a 500 — no
 * request hangs, /readyz says "not ready" while the database is away, and writes succeed again
 * soon after it is back, without restarting the API.
 */
const adminToken = 'pg-restart-admin-token-0123456789';
const ns = 'pgfault';
const P = `/v1/namespaces/${ns}/envs/prod`;
const manifest = {
  keys: { 'limits.rpm': { type: 'integer', default: 60, minimum: 1, maximum: 1_000_000 } },
  flags: {},
  secrets: {},
};
/** Longer than the pool's connection timeout (5 s) plus a statement: a request past it hung. */
const requestBoundMs = 12_000;

interface Seen {
  at: number;
  status: number;
  ms: number;
  code?: string;
  retryAfter: string | null;
}

test('a PostgreSQL restart under writes answers 503 with Retry-After, never 500, and recovers', async () => {
  await using pg = await privatePostgres();
  await using redis = await testRedis();
  const config = loadConfig({
    DATABASE_URL: pg.url,
    REDIS_URL: redis.url,
    STRATA_REDIS_PREFIX: redis.prefix,
    KAFKA_BROKERS: inject('services').kafkaBrokers.join(','),
    STRATA_ADMIN_TOKEN: adminToken,
    PORT: '0',
    LOG_LEVEL: 'silent',
  });
  const api = await startApi(config, { limits: { ratePerSecond: 100_000, rateBurst: 100_000 } });
  try {
    const call = async (method: string, path: string, body?: unknown): Promise<Seen> => {
      const started = performance.now();
      try {
        const response = await fetch(
          `${api.url}${path}`,
          bearerRequest(method, adminToken, body, AbortSignal.timeout(requestBoundMs)),
        );
        const text = await response.text();
        let code: string | undefined;
        try {
          code = (JSON.parse(text) as { code?: string }).code;
        } catch {
          code = undefined;
        }
        return {
          at: Date.now(),
          status: response.status,
          ms: performance.now() - started,
          ...(code ? { code } : {}),
          retryAfter: response.headers.get('retry-after'),
        };
      } catch {
        // Aborted by the bound: the request hung.
        return { at: Date.now(), status: 0, ms: performance.now() - started, retryAfter: null };
      }
    };
    expect((await call('PUT', `/v1/namespaces/${ns}/manifest`, { ...manifest, reason: 'setup' })).status).toBe(200);

    const seen: Seen[] = [];
    const ready: { at: number; status: number }[] = [];
    let running = true;
    let n = 0;
    const writer = async (w: number) => {
      while (running) {
        const tenant = `t${w}-${n % 5}`;
        seen.push(await call('PUT', `${P}/tenants/${tenant}/config/limits.rpm`, { value: ++n, reason: 'w' }));
        // Reads that go to PostgreSQL too: the audit history and the past.
        if (n % 4 === 0) seen.push(await call('GET', `/v1/events?namespace=${ns}&limit=5`));
        if (n % 4 === 2) seen.push(await call('GET', `${P}/tenants/${tenant}/config?position=1`));
        await sleep(5);
      }
    };
    const readiness = async () => {
      while (running) {
        const response = await fetch(`${api.url}/readyz`, { signal: AbortSignal.timeout(requestBoundMs) }).catch(
          () => null,
        );
        ready.push({ at: Date.now(), status: response?.status ?? 0 });
        await response?.text();
        await sleep(100);
      }
    };
    const loops = [writer(0), writer(1), writer(2), readiness()];

    await sleep(1_500);
    const stopAt = Date.now();
    await pg.stop();
    await sleep(2_000);
    await pg.start();
    const backAt = Date.now();
    // Bounded: the first successful write after the restart, or give up after 20 s.
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && !seen.some((s) => s.at > backAt && s.status === 200)) await sleep(20);
    await sleep(2_000);
    running = false;
    await Promise.all(loops);

    const count = (list: Seen[]) =>
      Object.fromEntries(
        [...new Set(list.map((s) => s.status))]
          .sort()
          .map((status) => [status, list.filter((s) => s.status === status).length]),
      );
    const before = seen.filter((s) => s.at < stopAt);
    const during = seen.filter((s) => s.at >= stopAt && s.at <= backAt);
    const after = seen.filter((s) => s.at > backAt);
    const firstOk = after.find((s) => s.status === 200);
    const summary = {
      before: count(before),
      during: count(during),
      after: count(after),
      recoveredMs: firstOk ? firstOk.at - backAt : null,
      slowestMs: Math.round(Math.max(...seen.map((s) => s.ms))),
      readyz: {
        during: [...new Set(ready.filter((r) => r.at > stopAt + 200 && r.at < backAt).map((r) => r.status))],
        end: ready.at(-1)?.status,
      },
    };
    console.log(`postgres restart: ${JSON.stringify(summary)}`);

    expect(seen.filter((s) => s.status !== 200 && s.status !== 503)).toEqual([]);
    const unavailable = seen.filter((s) => s.status === 503);
    expect(unavailable.length).toBeGreaterThan(0);
    for (const s of unavailable) {
      expect(s.code).toBe('UNAVAILABLE');
      expect(Number(s.retryAfter)).toBeGreaterThan(0);
    }
    expect(summary.slowestMs).toBeLessThan(requestBoundMs);
    expect(summary.readyz.during).toContain(503);
    expect(summary.readyz.end).toBe(200);
    expect(firstOk).toBeDefined();
    expect(summary.recoveredMs).toBeLessThan(10_000);
    // Once recovered, it stays recovered.
    expect(after.filter((s) => s.at > firstOk!.at + 500 && s.status !== 200)).toEqual([]);
  } finally {
    await api.close();
  }
}, 120_000);
