import net from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { PostgresKeyStore, SecretCipher } from '@strata/crypto';
import {
  assertMigrated,
  ChangeNotifications,
  createPool,
  migrate,
  pingPostgres,
  PostgresCheckpoints,
  PostgresEventLog,
  PostgresSecretAccessLog,
  PostgresSnapshotStore,
  PostgresTokenStore,
  verifyChain,
  warmPool,
} from '@strata/postgres-log';
import { RedisViewReader, RedisViewStore, RedisViewVersions } from '@strata/redis-views';
import { createPinoLogger } from '@strata/service-runtime';
import type { ApiDeps } from './api-context.js';
import { buildApi } from './app.js';
import type { ApiConfig } from './config.js';

export interface RunningApi {
  app: FastifyInstance;
  url: string;
  /** Stops accepting, drains in-flight requests, then closes PostgreSQL and Redis. */
  close(): Promise<void>;
}

const tcpReachable = (broker: string, timeoutMs = 1_500): Promise<void> =>
  new Promise((resolve, reject) => {
    const [host, port] = broker.includes(':')
      ? [broker.slice(0, broker.lastIndexOf(':')), Number(broker.slice(broker.lastIndexOf(':') + 1))]
      : [broker, 9092];
    const socket = net.connect({ host: host.replace(/^\[|\]$/g, ''), port });
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      reject(new Error(`${broker} did not answer`));
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', (error) => {
      socket.destroy();
      reject(error);
    });
  });

/** The API's ports on PostgreSQL (the application role's pool) and Redis (the views under `prefix`). */
export type ApiAdapters = Pick<
  ApiDeps,
  | 'log'
  | 'tokenStore'
  | 'secretAccessLog'
  | 'snapshots'
  | 'checkpoints'
  | 'verifyChain'
  | 'views'
  | 'viewVersions'
  | 'projections'
> & { log: PostgresEventLog; projections: RedisViewStore };

/** Builds the real adapters of the API's ports: what `startApi` wires, and what in-process tests and benchmarks use. */
export const apiAdapters = ({
  pool,
  redis,
  prefix,
  announcements,
}: {
  pool: pg.Pool;
  redis: Redis;
  prefix?: string;
  /**
   * A connection of the caller's own for the views' change channel (`redis.duplicate()`): resolved
   * reads without `minPosition` then know the view's version without a round trip per request.
   */
  announcements?: Redis;
}): ApiAdapters => {
  const views = prefix === undefined ? { redis } : { redis, prefix };
  return {
    log: new PostgresEventLog(pool),
    tokenStore: new PostgresTokenStore(pool),
    secretAccessLog: new PostgresSecretAccessLog(pool),
    snapshots: new PostgresSnapshotStore(pool),
    checkpoints: new PostgresCheckpoints(pool),
    verifyChain: () => verifyChain(pool),
    views: new RedisViewReader(views),
    viewVersions: new RedisViewVersions(announcements ? { ...views, announcements } : views),
    projections: new RedisViewStore(views),
  };
};

/**
 * Wires the real adapters (migrates first), builds the API and listens. The stack runner and
 * `main.ts` use this; tests use `buildApi` with their own fixtures.
 */
export const startApi = async (
  config: ApiConfig,
  options: { limits?: ApiDeps['limits'] } = {},
): Promise<RunningApi> => {
  // Locally the API migrates its own database; in production migrations run once as the schema
  // owner (`npm run migrate`) and the API connects as strata_app, which may not run DDL.
  if (config.migrate) await migrate(config.databaseUrl);
  const logger = createPinoLogger({ service: 'api', level: config.logLevel });
  // Idle connections die when PostgreSQL restarts; the pool replaces them. One warning each, no stack.
  // Half of them kept open and warmed before listening (below): a connection closed when idle is
  // opened and readied again by the request that next needs it, on a freshly started API by many at once.
  const pool = createPool(config.databaseUrl, {
    max: 20,
    min: 10,
    onError: (error) => logger.warn({ err: { message: error.message } }, 'idle database connection failed'),
  });
  // Bounded: a Redis that is down or stuck fails a command within seconds; resolved reads then
  // come from the log (PresentReads) and everything else answers 503.
  const redis = new Redis(config.redisUrl, {
    maxRetriesPerRequest: 3,
    lazyConnect: false,
    connectTimeout: 2_000,
    commandTimeout: 5_000,
  });
  // Subscribed to the views' change channel: a connection in subscriber mode runs no other command.
  const announcements = redis.duplicate();
  announcements.on('error', () => undefined); // the command connection reports outages
  const adapters = apiAdapters({ pool, redis, prefix: config.redisPrefix, announcements });
  // Revocations and shreds in any API process reach this one's caches through NOTIFY.
  const changes = new ChangeNotifications(pool, {
    onLost: (error) => logger.warn(`change notifications lost (caching tokens and keys paused): ${String(error)}`),
    onBack: () => logger.info('change notifications back'),
  });
  const keyStore = new PostgresKeyStore(pool, config.keyring, { changes });
  const cipher = new SecretCipher(keyStore);
  const app = await buildApi({
    ...adapters,
    viewsAvailable: () => redis.status === 'ready',
    cipher,
    changes,
    keys: { store: keyStore, keyring: config.keyring },
    adminToken: config.adminToken,
    trustProxy: config.trustProxy,
    readiness: {
      postgres: () => pingPostgres(pool),
      migrations: () => assertMigrated(pool, '0020_api.sql'),
      redis: () => redis.ping(),
      kafka: () => tcpReachable(config.kafkaBrokers[0] ?? '127.0.0.1:9092'),
    },
    logger,
    ...(options.limits ? { limits: options.limits } : {}),
  });
  let redisDown = false;
  redis.on('error', (error: Error) => {
    // ioredis reports every failed reconnect; one line per outage is enough.
    if (!redisDown)
      app.log.warn({ err: { message: error.message } }, 'redis unavailable; resolved reads come from the log');
    redisDown = true;
  });
  redis.on('ready', () => {
    if (redisDown) app.log.info('redis is back; resolved reads come from the views');
    redisDown = false;
  });
  await changes.start();
  const warmFailure = await warmPool(pool, (client) => adapters.log.prepareConnection(client));
  if (warmFailure)
    logger.warn(
      { err: { message: warmFailure.message } },
      'database connections not all warmed; the pool opens them on demand',
    );
  for (const warning of config.warnings) app.log.warn(`!!! ${warning} !!!`);
  const url = await app.listen({ port: config.port, host: config.host });
  let closing: Promise<void> | null = null;
  return {
    app,
    url,
    close: () =>
      (closing ??= (async () => {
        await app.close();
        await changes.close();
        await pool.end();
        announcements.disconnect();
        redis.disconnect();
      })()),
  };
};
