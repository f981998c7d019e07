import type { RebuildProgress } from '@strata/redis-views';
import { counter, gauge, RateWindow, renderPrometheusText } from '@strata/service-runtime';

export interface ProjectorMetricsSnapshot {
  lag: { partition: number; lag: number }[];
  assignedPartitions: number;
  appliedTotal: number;
  duplicatesTotal: number;
  applyRate: number;
  generation: number | null;
  rebuildsTotal: number;
  rebuild: RebuildProgress | null;
  /** The group's broker answered the last heartbeat or fetch. */
  kafkaConnected: boolean;
}

/** Counters kept by the projector; lag and generation are read at scrape time. */
export class ProjectorMetrics {
  appliedTotal = 0;
  duplicatesTotal = 0;
  rebuildsTotal = 0;
  rebuild: RebuildProgress | null = null;
  readonly #rate = new RateWindow();

  recordApplied(applied: number, duplicates: number, now = Date.now()): void {
    this.appliedTotal += applied;
    this.duplicatesTotal += duplicates;
    this.#rate.record(applied, now);
  }

  applyRate(now = Date.now()): number {
    return this.#rate.perSecond(now);
  }
}

/** Prometheus text, every sample labelled with the consumer group. */
export const renderProjectorMetrics = (snapshot: ProjectorMetricsSnapshot, group: string): string =>
  renderPrometheusText(
    [
      {
        name: 'strata_projector_partition_lag',
        type: 'gauge',
        help: 'Messages not yet applied and committed, per owned partition.',
        samples: snapshot.lag.map(({ partition, lag }) => ({ labels: { partition }, value: lag })),
      },
      gauge('strata_projector_assigned_partitions', 'Partitions this process owns.', snapshot.assignedPartitions),
      counter(
        'strata_projector_applied_events_total',
        'Events this process applied to the views.',
        snapshot.appliedTotal,
      ),
      counter(
        'strata_projector_duplicate_events_total',
        'Redelivered events that changed nothing.',
        snapshot.duplicatesTotal,
      ),
      gauge('strata_projector_apply_rate', 'Events per second applied over the last 10 s.', snapshot.applyRate),
      gauge('strata_projector_generation', 'Live view generation (-1 when none is live).', snapshot.generation ?? -1),
      counter('strata_projector_rebuilds_total', 'Rebuilds this process completed.', snapshot.rebuildsTotal),
      gauge(
        'strata_projector_rebuild_in_progress',
        '1 while this process rebuilds the views.',
        snapshot.rebuild ? 1 : 0,
      ),
      gauge(
        'strata_projector_rebuild_position',
        'Log position the running rebuild reached.',
        snapshot.rebuild?.position ?? 0,
      ),
      gauge(
        'strata_projector_rebuild_head_position',
        'Log head the running rebuild aims at.',
        snapshot.rebuild?.head ?? 0,
      ),
      gauge(
        'strata_projector_rebuild_events_per_second',
        'Throughput of the running rebuild.',
        snapshot.rebuild?.eventsPerSecond ?? 0,
      ),
      gauge(
        'strata_projector_kafka_connected',
        '1 while Kafka answers this process (last heartbeat or fetch), 0 during an outage.',
        snapshot.kafkaConnected ? 1 : 0,
      ),
    ],
    { group },
  );
