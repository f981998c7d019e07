import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { collectDefaultMetrics, Counter, Gauge, Registry, type Metric } from 'prom-client';
import { RateWindow } from './rate-window.js';

// Services build their own metrics from these; prom-client comes from here only.
export { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** What `/metrics` answers with: Prometheus text exposition format 0.0.4. */
export const prometheusContentType = Registry.PROMETHEUS_CONTENT_TYPE;

/**
 * A process's metrics registry, with prom-client's process metrics (CPU, memory, event loop lag,
 * GC) next to the service's own. Its own instance rather than prom-client's global one, so tests
 * that run several services in one process each get theirs.
 */
export const createMetricsRegistry = (): Registry => {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'strata_heap_live_bytes',
    help: 'V8 heap used right after the latest full garbage collection (-1: none yet): the live heap, which a leak grows. Heap used at other times also counts garbage not yet collected, and RSS follows the heap V8 reserves for the allocation rate.',
    registers: [registry],
    collect() {
      this.set(liveHeapBytes());
    },
  });
  return registry;
};

let liveHeap = -1;
let liveHeapWatch: PerformanceObserver | undefined;

/**
 * V8 heap used right after the process's latest full garbage collection, -1 before the first; the
 * first call starts watching (one observer per process, however many registries: tests run several
 * services in one process).
 */
export const liveHeapBytes = (): number => {
  if (!liveHeapWatch) {
    liveHeapWatch = new PerformanceObserver((list) => {
      // Told shortly after the collection, so the figure includes what was allocated since: an upper bound.
      const full = list
        .getEntries()
        .some(
          (e) =>
            (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ===
            constants.NODE_PERFORMANCE_GC_MAJOR,
        );
      if (full) liveHeap = getHeapStatistics().used_heap_size;
    });
    liveHeapWatch.observe({ entryTypes: ['gc'] });
  }
  return liveHeap;
};

type Labels = Record<string, string | number>;

/**
 * Gauges read from a snapshot at scrape time, each sample labelled with `labels` (first, as
 * dashboards and specs read them: `strata_relay_lag_positions{topic="…"}`). `set(snapshot)`
 * updates them all at once before the registry renders.
 */
export const snapshotGauges = <Snapshot>(
  registry: Registry,
  labels: Labels,
  gauges: Record<string, { help: string; value: (snapshot: Snapshot) => number }>,
): ((snapshot: Snapshot) => void) => {
  const labelNames = Object.keys(labels);
  const made = Object.entries(gauges).map(
    ([name, { help, value }]) => [new Gauge({ name, help, labelNames, registers: [registry] }), value] as const,
  );
  return (snapshot) => {
    for (const [gauge, value] of made) gauge.set(labels, value(snapshot));
  };
};

/** A counter that starts at 0 (so it is scraped before the first event), labelled with `labels`. */
export const labelledCounter = (registry: Registry, labels: Labels, name: string, help: string): Counter => {
  const counter = new Counter({ name, help, labelNames: Object.keys(labels), registers: [registry] });
  counter.inc(labels, 0);
  return counter;
};

/**
 * Events a worker handled: the `…_total` counter and a `…_rate` gauge (events per second over the
 * last 10 s, computed at scrape time), labelled with `labels`.
 */
export class EventCount {
  #total = 0;
  readonly #window = new RateWindow();
  readonly #counter: Counter;

  constructor(
    registry: Registry,
    private readonly labels: Labels,
    total: { name: string; help: string },
    rate: { name: string; help: string },
  ) {
    this.#counter = labelledCounter(registry, labels, total.name, total.help);
    const window = this.#window;
    new Gauge({
      ...rate,
      labelNames: Object.keys(labels),
      registers: [registry],
      collect() {
        this.set(labels, window.perSecond());
      },
    });
  }

  record(count: number, now = Date.now()): void {
    this.#total += count;
    this.#counter.inc(this.labels, count);
    this.#window.record(count, now);
  }

  get total(): number {
    return this.#total;
  }

  perSecond(now = Date.now()): number {
    return this.#window.perSecond(now);
  }
}

/** One label set of a hot-path metric: recording is a few array writes, no label validation or hashing. */
export interface HotSeries {
  /** Counts one event (counter) or one observation of `value` (histogram). */
  record(value?: number): void;
}

/**
 * A counter or histogram for a request path, rendered by prom-client like any other. prom-client's
 * own `inc` / `observe` validate and hash the labels on every call (about 1 µs each on these
 * machines, some 5 % of an HTTP read); here the caller keeps the `HotSeries` of a label set and
 * records into it directly, and the registry reads the tallies at scrape time. Ask for each label
 * set once and keep its series.
 */
export const hotMetric = (
  registry: Registry,
  { name, help, buckets }: { name: string; help: string; buckets?: readonly number[] },
): ((labels: Labels) => HotSeries) => {
  const bounds = buckets ? [...buckets].sort((a, b) => a - b) : null;
  const series: { labels: Labels; counts: number[]; sum: number; count: number }[] = [];
  const values = (): { metricName?: string; labels: Labels; value: number }[] =>
    series.flatMap(({ labels, counts, sum, count }) => {
      if (!bounds) return [{ labels, value: count }];
      let cumulative = 0;
      return [
        ...bounds.map((le, i) => ({
          metricName: `${name}_bucket`,
          labels: { ...labels, le },
          value: (cumulative += counts[i]!),
        })),
        { metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: count },
        { metricName: `${name}_sum`, labels, value: sum },
        { metricName: `${name}_count`, labels, value: count },
      ];
    });
  const type = bounds ? 'histogram' : 'counter';
  const metric = {
    name,
    help,
    type,
    aggregator: 'sum',
    get: async () => ({ name, help, type, aggregator: 'sum', values: values() }),
    reset: () => {
      for (const s of series) {
        s.counts.fill(0);
        s.sum = 0;
        s.count = 0;
      }
    },
  };
  registry.registerMetric(metric as unknown as Metric);
  return (labels) => {
    const tally = { labels, counts: bounds ? bounds.map(() => 0) : [], sum: 0, count: 0 };
    series.push(tally);
    return {
      record: bounds
        ? (value = 0) => {
            tally.count += 1;
            tally.sum += value;
            // Per-bucket counts; rendering makes them cumulative. Above every bound: +Inf only.
            for (let i = 0; i < bounds.length; i++)
              if (value <= bounds[i]!) {
                tally.counts[i]! += 1;
                break;
              }
          }
        : () => {
            tally.count += 1;
          },
    };
  };
};
