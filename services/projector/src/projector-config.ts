import { envInt, envOptionalInt, envText, readEnv, sharedEnv } from '@strata/service-runtime';

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

/** Reads the projector's environment; throws a StrataError naming the variable that is wrong. */
export const projectorConfigFromEnv = (env: NodeJS.ProcessEnv = process.env): ProjectorConfig =>
  readEnv(
    {
      databaseUrl: sharedEnv.databaseUrl,
      redisUrl: sharedEnv.redisUrl,
      brokers: sharedEnv.kafkaBrokers,
      topic: sharedEnv.topic,
      prefix: sharedEnv.redisPrefix,
      groupId: ['PROJECTOR_GROUP', envText('strata-projector')],
      metricsPort: ['PROJECTOR_METRICS_PORT', envOptionalInt(0)],
      watchIntervalMs: ['PROJECTOR_WATCH_INTERVAL_MS', envInt(1_000, 10)],
      sessionTimeoutMs: ['PROJECTOR_SESSION_TIMEOUT_MS', envInt(30_000, 1_000)],
      heartbeatIntervalMs: ['PROJECTOR_HEARTBEAT_INTERVAL_MS', envInt(3_000, 100)],
    },
    env,
  );
