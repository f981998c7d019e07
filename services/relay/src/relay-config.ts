import { envInt, envOptionalInt, readEnv, sharedEnv } from '@strata/service-runtime';

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

/** Reads the relay's environment; throws a StrataError naming the variable that is wrong. */
export const relayConfigFromEnv = (env: NodeJS.ProcessEnv = process.env): RelayConfig =>
  readEnv(
    {
      databaseUrl: sharedEnv.databaseUrl,
      brokers: sharedEnv.kafkaBrokers,
      topic: sharedEnv.topic,
      partitions: ['STRATA_TOPIC_PARTITIONS', envInt(6, 1)],
      metricsPort: ['RELAY_METRICS_PORT', envOptionalInt(0)],
      batchSize: ['RELAY_BATCH_SIZE', envInt(1000, 1)],
      leaderRetryMs: ['RELAY_LEADER_RETRY_MS', envInt(1000, 50)],
      pollIntervalMs: ['RELAY_POLL_INTERVAL_MS', envInt(1000, 10)],
      kafkaProbeMs: ['RELAY_KAFKA_PROBE_MS', envInt(2000, 100)],
    },
    env,
  );
