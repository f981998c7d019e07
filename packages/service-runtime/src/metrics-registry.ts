import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
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
  return registry;
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
