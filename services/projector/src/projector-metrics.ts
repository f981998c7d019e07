import type { RebuildProgress } from '@strata/redis-views';
import { createMetricsRegistry, EventCount, Gauge, labelledCounter, snapshotGauges } from '@strata/service-runtime';

/** What the projector reads at scrape time: Kafka lag, partitions, the live generation. */
export interface ProjectorMetricsSnapshot {
  lag: { partition: number; lag: number }[];
  assignedPartitions: number;
  generation: number | null;
  /** The group's broker answered the last heartbeat or fetch. */
  kafkaConnected: boolean;
}

/**
 * The projector process's metrics registry, every sample labelled with the consumer group:
 * applied events, duplicates and rebuilds are counted as they happen, the rest is read at scrape
 * time.
 */
export class ProjectorMetrics {
  readonly registry = createMetricsRegistry();
  readonly applied: EventCount;
  /** The rebuild running in this process, if any. */
  rebuild: RebuildProgress | null = null;
  readonly #labels: { group: string };
  readonly #duplicates;
  readonly #rebuilds;
  readonly #lag;
  readonly #set: (snapshot: ProjectorMetricsSnapshot) => void;

  constructor(group: string) {
    const labels = (this.#labels = { group });
    this.applied = new EventCount(
      this.registry,
      labels,
      { name: 'strata_projector_applied_events_total', help: 'Events this process applied to the views.' },
      { name: 'strata_projector_apply_rate', help: 'Events per second applied over the last 10 s.' },
    );
    this.#duplicates = labelledCounter(
      this.registry,
      labels,
      'strata_projector_duplicate_events_total',
      'Redelivered events that changed nothing.',
    );
    this.#rebuilds = labelledCounter(
      this.registry,
      labels,
      'strata_projector_rebuilds_total',
      'Rebuilds this process completed.',
    );
    // `group` first, as dashboards and specs read it: strata_projector_partition_lag{group="…",partition="0"}.
    this.#lag = new Gauge({
      name: 'strata_projector_partition_lag',
      help: 'Messages not yet applied and committed, per owned partition.',
      labelNames: ['group', 'partition'],
      registers: [this.registry],
    });
    const rebuild = () => this.rebuild;
    this.#set = snapshotGauges<ProjectorMetricsSnapshot>(this.registry, labels, {
      strata_projector_assigned_partitions: {
        help: 'Partitions this process owns.',
        value: (s) => s.assignedPartitions,
      },
      strata_projector_generation: {
        help: 'Live view generation (-1 when none is live).',
        value: (s) => s.generation ?? -1,
      },
      strata_projector_rebuild_in_progress: {
        help: '1 while this process rebuilds the views.',
        value: () => (rebuild() ? 1 : 0),
      },
      strata_projector_rebuild_position: {
        help: 'Log position the running rebuild reached.',
        value: () => rebuild()?.position ?? 0,
      },
      strata_projector_rebuild_head_position: {
        help: 'Log head the running rebuild aims at.',
        value: () => rebuild()?.head ?? 0,
      },
      strata_projector_rebuild_events_per_second: {
        help: 'Throughput of the running rebuild.',
        value: () => rebuild()?.eventsPerSecond ?? 0,
      },
      strata_projector_kafka_connected: {
        help: '1 while Kafka answers this process (last heartbeat or fetch), 0 during an outage.',
        value: (s) => (s.kafkaConnected ? 1 : 0),
      },
    });
  }

  /** Redelivered events this process saw (they changed nothing). */
  duplicatesTotal = 0;

  get appliedTotal(): number {
    return this.applied.total;
  }

  recordApplied(applied: number, duplicates: number, now = Date.now()): void {
    this.applied.record(applied, now);
    this.duplicatesTotal += duplicates;
    this.#duplicates.inc(this.#labels, duplicates);
  }

  recordRebuild(): void {
    this.#rebuilds.inc(this.#labels);
  }

  /** Prometheus text of the whole registry, the gauges set from `snapshot`. */
  render(snapshot: ProjectorMetricsSnapshot): Promise<string> {
    this.#set(snapshot);
    this.#lag.reset();
    for (const { partition, lag } of snapshot.lag) this.#lag.set({ ...this.#labels, partition }, lag);
    return this.registry.metrics();
  }
}
