import { counter, gauge, RateWindow, renderPrometheusText } from '@strata/service-runtime';

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

/** Counters kept by the relay; lag is read from PostgreSQL at scrape time so standbys report it too. */
export class RelayMetrics {
  publishedTotal = 0;
  readonly #rate = new RateWindow();

  recordPublished(count: number, now = Date.now()): void {
    this.publishedTotal += count;
    this.#rate.record(count, now);
  }

  publishRate(now = Date.now()): number {
    return this.#rate.perSecond(now);
  }
}

/** Prometheus text, every sample labelled with the topic. */
export const renderRelayMetrics = (snapshot: RelayMetricsSnapshot, topic: string): string =>
  renderPrometheusText(
    [
      gauge('strata_relay_lag_positions', 'Log head position minus the relay checkpoint.', snapshot.lagPositions),
      gauge('strata_relay_head_position', 'Highest committed log position.', snapshot.headPosition),
      gauge('strata_relay_checkpoint_position', 'Last position acknowledged by Kafka.', snapshot.checkpointPosition),
      counter(
        'strata_relay_published_events_total',
        'Events published to Kafka by this process.',
        snapshot.publishedTotal,
      ),
      gauge('strata_relay_publish_rate', 'Events per second published over the last 10 s.', snapshot.publishRate),
      gauge(
        'strata_relay_is_leader',
        '1 while this process holds the relay lock and publishes.',
        snapshot.isLeader ? 1 : 0,
      ),
      gauge(
        'strata_relay_kafka_connected',
        '1 while Kafka answers this process (last request or probe), 0 during an outage.',
        snapshot.kafkaConnected ? 1 : 0,
      ),
    ],
    { topic },
  );
