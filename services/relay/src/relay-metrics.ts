import { createMetricsRegistry, EventCount, snapshotGauges } from '@strata/service-runtime';

export interface RelayMetricsSnapshot {
  /** Log head minus the relay's checkpoint: events written but not yet acknowledged by Kafka. */
  lagPositions: number;
  headPosition: number;
  checkpointPosition: number;
  /** Events this process published since it started. */
  publishedTotal: number;
  /** Events per second over the last 10 s. */
  publishRate: number;
  isLeader: boolean;
  /** Kafka answered the last request or probe. */
  kafkaConnected: boolean;
}

/**
 * The relay process's metrics registry, every sample labelled with the topic: what it published
 * is counted as it happens; lag is read from PostgreSQL at scrape time so standbys report it too.
 */
export class RelayMetrics {
  readonly registry = createMetricsRegistry();
  readonly published: EventCount;
  readonly #set: (snapshot: RelayMetricsSnapshot) => void;

  constructor(topic: string) {
    const labels = { topic };
    this.published = new EventCount(
      this.registry,
      labels,
      { name: 'strata_relay_published_events_total', help: 'Events published to Kafka by this process.' },
      { name: 'strata_relay_publish_rate', help: 'Events per second published over the last 10 s.' },
    );
    this.#set = snapshotGauges<RelayMetricsSnapshot>(this.registry, labels, {
      strata_relay_lag_positions: {
        help: 'Log head position minus the relay checkpoint.',
        value: (s) => s.lagPositions,
      },
      strata_relay_head_position: { help: 'Highest committed log position.', value: (s) => s.headPosition },
      strata_relay_checkpoint_position: {
        help: 'Last position acknowledged by Kafka.',
        value: (s) => s.checkpointPosition,
      },
      strata_relay_is_leader: {
        help: '1 while this process holds the relay lock and publishes.',
        value: (s) => (s.isLeader ? 1 : 0),
      },
      strata_relay_kafka_connected: {
        help: '1 while Kafka answers this process (last request or probe), 0 during an outage.',
        value: (s) => (s.kafkaConnected ? 1 : 0),
      },
    });
  }

  /** Prometheus text of the whole registry, the gauges set from `snapshot`. */
  render(snapshot: RelayMetricsSnapshot): Promise<string> {
    this.#set(snapshot);
    return this.registry.metrics();
  }
}
