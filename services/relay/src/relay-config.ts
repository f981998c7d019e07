import { envInt, envOptionalInt, parseEnv, sharedEnv } from '@strata/service-runtime';

export interface RelayConfig {
  databaseUrl: string;
  brokers: string[];
  topic: string;
  /** Partitions of the topic when the relay has to create it; an existing topic keeps its own. */
  partitions: number;
  /** Serve Prometheus text on `/metrics` here; 0 picks a free port; undefined serves nothing. */
  metricsPort: number | undefined;
  /** Most events read and published in one round. */
  batchSize: number;
  /** How often a standby tries to take the lock, and the liveness check of the leader's lock connection. */
  leaderRetryMs: number;
  /** Fallback when a NOTIFY is lost. */
  pollIntervalMs: number;
  /** How often an idle relay checks that Kafka answers (the `kafka_connected` gauge); default 2 s. */
  kafkaProbeMs?: number;
}

const relayEnv = {
  DATABASE_URL: sharedEnv.DATABASE_URL,
  KAFKA_BROKERS: sharedEnv.KAFKA_BROKERS,
  STRATA_TOPIC: sharedEnv.STRATA_TOPIC,
  STRATA_TOPIC_PARTITIONS: envInt(6, 1),
  RELAY_METRICS_PORT: envOptionalInt(0),
  RELAY_BATCH_SIZE: envInt(1000, 1),
  RELAY_LEADER_RETRY_MS: envInt(1000, 50),
  RELAY_POLL_INTERVAL_MS: envInt(1000, 10),
  RELAY_KAFKA_PROBE_MS: envInt(2000, 100),
};

/** Reads the relay's environment; throws a StrataError naming the variable that is wrong. */
export const relayConfigFromEnv = (env: NodeJS.ProcessEnv = process.env): RelayConfig => {
  const e = parseEnv(relayEnv, env);
  return {
    databaseUrl: e.DATABASE_URL,
    brokers: e.KAFKA_BROKERS,
    topic: e.STRATA_TOPIC,
    partitions: e.STRATA_TOPIC_PARTITIONS,
    metricsPort: e.RELAY_METRICS_PORT,
    batchSize: e.RELAY_BATCH_SIZE,
    leaderRetryMs: e.RELAY_LEADER_RETRY_MS,
    pollIntervalMs: e.RELAY_POLL_INTERVAL_MS,
    kafkaProbeMs: e.RELAY_KAFKA_PROBE_MS,
  };
};
