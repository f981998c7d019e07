import { brokerAddress } from '@strata/kafka-bus';
import { envInt, envList } from '@strata/service-runtime';

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
export const projectorConfigFromEnv = (env: NodeJS.ProcessEnv = process.env): ProjectorConfig => ({
  databaseUrl: env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/strata',
  redisUrl: env.REDIS_URL || 'redis://127.0.0.1:6379',
  brokers: envList(env, 'KAFKA_BROKERS', '127.0.0.1:9092', brokerAddress),
  topic: env.STRATA_TOPIC || 'strata.events',
  prefix: env.STRATA_REDIS_PREFIX || 'strata:',
  groupId: env.PROJECTOR_GROUP || 'strata-projector',
  metricsPort: envInt(env, 'PROJECTOR_METRICS_PORT', undefined, 0),
  watchIntervalMs: envInt(env, 'PROJECTOR_WATCH_INTERVAL_MS', 1_000, 10),
  sessionTimeoutMs: envInt(env, 'PROJECTOR_SESSION_TIMEOUT_MS', 30_000, 1_000),
  heartbeatIntervalMs: envInt(env, 'PROJECTOR_HEARTBEAT_INTERVAL_MS', 3_000, 100),
});
