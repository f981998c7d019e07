import { brokerAddress } from '@strata/kafka-bus';
import { envInt, envList } from '@strata/service-runtime';

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
export const relayConfigFromEnv = (env: NodeJS.ProcessEnv = process.env): RelayConfig => ({
  databaseUrl: env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/strata',
  brokers: envList(env, 'KAFKA_BROKERS', '127.0.0.1:9092', brokerAddress),
  topic: env.STRATA_TOPIC || 'strata.events',
  partitions: envInt(env, 'STRATA_TOPIC_PARTITIONS', 6, 1),
  metricsPort: envInt(env, 'RELAY_METRICS_PORT', undefined, 0),
  batchSize: envInt(env, 'RELAY_BATCH_SIZE', 1000, 1),
  leaderRetryMs: envInt(env, 'RELAY_LEADER_RETRY_MS', 1000, 50),
  pollIntervalMs: envInt(env, 'RELAY_POLL_INTERVAL_MS', 1000, 10),
  kafkaProbeMs: envInt(env, 'RELAY_KAFKA_PROBE_MS', 2000, 100),
});
