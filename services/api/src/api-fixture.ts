import type { FastifyInstance, InjectOptions } from 'fastify';
import pg from 'pg';
import { generateMasterKey, Keyring, PostgresKeyStore, SecretCipher } from '@strata/crypto';
import { ChangeNotifications, createPool, pingPostgres, type PostgresEventLog } from '@strata/postgres-log';
import { RedisViewVersions } from '@strata/redis-views';
import { createTestDatabase, testRedis } from '@strata/testing';
import type { Redis } from 'ioredis';
import type { ApiDeps } from './api-context.js';
import { buildApi } from './app.js';
import { apiAdapters } from './start-api.js';

export const adminToken = 'test-admin-token-0123456789abcdef';

export interface TestApi extends AsyncDisposable {
  app: FastifyInstance;
  log: PostgresEventLog;
  /** Superuser pool on the test database: counting rows, reading the access log. */
  owner: pg.Pool;
  /** Every log line the API wrote. */
  logLines: string[];
  /** The Redis the views live in, and their key prefix (for SDK clients reading them). */
  redis: { url: string; prefix: string };
  /** The connection the API hears the views' change announcements on, when asked for (else null). */
  announcements: Redis | null;
  call(
    method: InjectOptions['method'],
    url: string,
    options?: { token?: string | null; body?: unknown; headers?: Record<string, string>; raw?: string },
  ): Promise<Awaited<ReturnType<FastifyInstance['inject']>>>;
  /** Applies every new event of the log to the Redis views (what relay + projector do). */
  project(): Promise<void>;
  eventCount(): Promise<number>;
  issue(role: string, scope?: { namespace?: string; env?: string; tenant?: string }): Promise<string>;
  /** A second API on the same database and Redis with another keyring: what a restart with new keys gives. */
  withKeyring(keyring: Keyring): Promise<FastifyInstance>;
}

/** The API in-process on a fresh database and Redis prefix, with the real adapters. */
export const testApi = async (
  limits: ApiDeps['limits'] = {},
  keyring: Keyring = Keyring.parse(generateMasterKey('test-k1')),
  /**
   * `announcements`: view versions known from the change channel, as startApi wires them (here
   * kept until announced otherwise, with no time bound). Without it every read asks Redis.
   * `logLevel`: what the API writes into `logLines`; debug (the default) keeps every line, the
   * per-request ones too, for the leak checks.
   */
  options: { announcements?: boolean; trustProxy?: ApiDeps['trustProxy']; logLevel?: string } = {},
): Promise<TestApi> => {
  const db = await createTestDatabase();
  const redis = await testRedis();
  const pool = createPool(db.appUrl, { max: 8 });
  const owner = new pg.Pool({ connectionString: db.url, max: 2 });
  const adapters = apiAdapters({ pool, redis: redis.client, prefix: redis.prefix });
  const announcements = options.announcements ? redis.client.duplicate() : null;
  if (announcements) {
    const versions = new RedisViewVersions({
      redis: redis.client,
      prefix: redis.prefix,
      announcements,
      knownForMs: 3_600_000,
    });
    await versions.listen();
    adapters.viewVersions = versions;
  }
  const { log, projections: store } = adapters;
  const logLines: string[] = [];
  const feeds: ChangeNotifications[] = [];
  const build = async (ring: Keyring) => {
    // Each API instance listens on its own, as separate processes would.
    const changes = new ChangeNotifications(pool);
    feeds.push(changes);
    const keyStore = new PostgresKeyStore(pool, ring, { changes });
    const built = await buildApi({
      ...adapters,
      cipher: new SecretCipher(keyStore),
      changes,
      keys: { store: keyStore, keyring: ring },
      adminToken,
      ...(options.trustProxy === undefined ? {} : { trustProxy: options.trustProxy }),
      logger: { level: options.logLevel ?? 'debug', stream: { write: (line: string) => void logLines.push(line) } },
      limits: { ratePerSecond: 10_000, rateBurst: 10_000, readWaitMs: 1_000, ...limits },
      readiness: { postgres: () => pingPostgres(pool), redis: () => redis.client.ping() },
    });
    await built.ready();
    await changes.start();
    return built;
  };
  const app = await build(keyring);
  const others: FastifyInstance[] = [];
  let cursor = 0;
  const api: TestApi = {
    app,
    log,
    owner,
    logLines,
    redis: { url: redis.url, prefix: redis.prefix },
    announcements,
    call: (method, url, options = {}) => {
      const headers: Record<string, string> = { ...options.headers };
      const token = options.token === undefined ? adminToken : options.token;
      if (token !== null) headers['authorization'] = `Bearer ${token}`;
      if (options.body !== undefined || options.raw !== undefined) headers['content-type'] ??= 'application/json';
      return app.inject({
        method,
        url,
        headers,
        ...(options.raw !== undefined
          ? { payload: options.raw }
          : options.body !== undefined
            ? { payload: JSON.stringify(options.body) }
            : {}),
      });
    },
    async project() {
      if (await store.needsRebuild()) {
        cursor = (await store.rebuild({ eventLog: log, dropDelayMs: 0 })).position;
        return;
      }
      for (;;) {
        const page = await log.readAll(cursor, 1000);
        if (page.length === 0) return;
        await store.applyEvents(page);
        cursor = page[page.length - 1]!.position;
      }
    },
    async eventCount() {
      const { rows } = await owner.query<{ n: string }>('SELECT count(*) AS n FROM strata.events');
      return Number(rows[0]?.n ?? 0);
    },
    async issue(role, scope = {}) {
      const response = await api.call('POST', '/v1/tokens', { body: { role, ...scope } });
      if (response.statusCode !== 201) throw new Error(`issue ${role}: ${response.statusCode} ${response.body}`);
      return (response.json() as { token: string }).token;
    },
    async withKeyring(ring) {
      const other = await build(ring);
      others.push(other);
      return other;
    },
    async [Symbol.asyncDispose]() {
      for (const other of others) await other.close();
      await app.close();
      for (const feed of feeds) await feed.close();
      await pool.end();
      await owner.end();
      announcements?.disconnect();
      await db[Symbol.asyncDispose]();
      await redis[Symbol.asyncDispose]();
    },
  };
  return api;
};

/** The ShelfWise-like manifest the specs share. */
export const manifest = {
  keys: {
    'rate_limit.requests_per_minute': { type: 'integer', default: 60, minimum: 1, maximum: 10000 },
    'ui.theme': { type: 'string', default: 'light', enum: ['light', 'dark'] },
    'billing.plan_id': { type: 'string', mutable: false },
  },
  flags: { new_checkout: { type: 'boolean', description: 'the new checkout' } },
  secrets: { 'stripe.api_key': { description: 'Stripe key' } },
};
