import { envInt, envOptionalInt, envText, parseEnv, sharedEnv } from '@strata/service-runtime';

export interface ProjectorConfig {
  databaseUrl: string;
  redisUrl: string;
  brokers: string[];
  topic: string;
  /** Redis key prefix of the views (see packages/redis-views/README.md). */
  prefix: string;
  groupId: string;
  /** Serve Prometheus text on `/metrics` here; 0 picks a free port; undefined serves nothing. */
  metricsPort: number | undefined;
  /**
   * How often the generation marker is checked, so lost Redis data triggers a rebuild, and the
   * broker's view of this member's partition lag is published (see partition-lag-publisher.ts).
   */
  watchIntervalMs: number;
  /** Kafka group session timeout: how long a dead member keeps its partitions. */
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
}

const projectorEnv = {
  DATABASE_URL: sharedEnv.DATABASE_URL,
  REDIS_URL: sharedEnv.REDIS_URL,
  KAFKA_BROKERS: sharedEnv.KAFKA_BROKERS,
  STRATA_TOPIC: sharedEnv.STRATA_TOPIC,
  STRATA_REDIS_PREFIX: sharedEnv.STRATA_REDIS_PREFIX,
  PROJECTOR_GROUP: envText('strata-projector'),
  PROJECTOR_METRICS_PORT: envOptionalInt(0),
  PROJECTOR_WATCH_INTERVAL_MS: envInt(1_000, 10),
  PROJECTOR_SESSION_TIMEOUT_MS: envInt(30_000, 1_000),
  PROJECTOR_HEARTBEAT_INTERVAL_MS: envInt(3_000, 100),
};

/** Reads the projector's environment; throws a StrataError naming the variable that is wrong. */
export const projectorConfigFromEnv = (env: NodeJS.ProcessEnv = process.env): ProjectorConfig => {
  const e = parseEnv(projectorEnv, env);
  return {
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    brokers: e.KAFKA_BROKERS,
    topic: e.STRATA_TOPIC,
    prefix: e.STRATA_REDIS_PREFIX,
    groupId: e.PROJECTOR_GROUP,
    metricsPort: e.PROJECTOR_METRICS_PORT,
    watchIntervalMs: e.PROJECTOR_WATCH_INTERVAL_MS,
    sessionTimeoutMs: e.PROJECTOR_SESSION_TIMEOUT_MS,
    heartbeatIntervalMs: e.PROJECTOR_HEARTBEAT_INTERVAL_MS,
  };
};
