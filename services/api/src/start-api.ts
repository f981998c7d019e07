import net from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { PostgresKeyStore, SecretCipher } from '@strata/crypto';
import { ChangeNotifications, createPool, migrate, PostgresEventLog } from '@strata/postgres-log';
import { RedisViewReader, RedisViewStore } from '@strata/redis-views';
import { createPinoLogger } from '@strata/service-runtime';
import { buildApi, type ApiDeps } from './app.js';
import type { ApiConfig } from './config.js';
import { RedisViewVersions } from './view-versions.js';

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
  const pool = createPool(config.databaseUrl, {
    max: 20,
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
  const log = new PostgresEventLog(pool);
  // Revocations and shreds in any API process reach this one's caches through NOTIFY.
  const changes = new ChangeNotifications(pool, {
    onLost: (error) => logger.warn(`change notifications lost (caching tokens and keys paused): ${String(error)}`),
    onBack: () => logger.info('change notifications back'),
  });
  const keyStore = new PostgresKeyStore(pool, config.keyring, { changes });
  const cipher = new SecretCipher(keyStore);
  const app = await buildApi({
    log,
    pool,
    views: new RedisViewReader({ redis, prefix: config.redisPrefix }),
    viewVersions: new RedisViewVersions({ redis, prefix: config.redisPrefix }),
    viewsAvailable: () => redis.status === 'ready',
    projections: new RedisViewStore({ redis, prefix: config.redisPrefix }),
    cipher,
    changes,
    keys: { store: keyStore, keyring: config.keyring },
    adminToken: config.adminToken,
    readiness: {
      postgres: () => pool.query('SELECT 1'),
      migrations: async () => {
        const { rows } = await pool.query("SELECT 1 FROM strata.schema_migrations WHERE name = '0020_api.sql'");
        if (rows.length === 0) throw new Error('migrations not applied');
      },
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
        redis.disconnect();
      })()),
  };
};
