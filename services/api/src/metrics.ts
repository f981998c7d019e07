import {
  Counter,
  createMetricsRegistry,
  Gauge,
  hotMetric,
  labelledCounter,
  type HotSeries,
  type Registry,
} from '@strata/service-runtime';

/** Why a request failed authentication: no Authorization header, not `Bearer <token>`, no live token, expired. */
export type AuthFailureReason = 'missing' | 'malformed' | 'unknown' | 'expired';
const authFailureReasons: readonly AuthFailureReason[] = ['missing', 'malformed', 'unknown', 'expired'];

/** Read at scrape time from the log; -1 when PostgreSQL is away. */
export interface ApiScrapeGauges {
  strata_log_head_position: number;
  strata_secrets_overdue: number;
}

/**
 * The API process's metrics registry (prom-client, with its process metrics). Labels are route
 * patterns (never raw URLs), so tenant ids, keys and anything a caller types never become label
 * values.
 */
export class ApiMetrics {
  readonly registry: Registry = createMetricsRegistry();
  readonly #requests = hotMetric(this.registry, {
    name: 'strata_api_requests_total',
    help: 'HTTP requests by route pattern and status.',
  });
  readonly #latency = hotMetric(this.registry, {
    name: 'strata_api_request_duration_seconds',
    help: 'HTTP request latency by route pattern.',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });
  readonly #secretReads = new Counter({
    name: 'strata_api_secret_reads_total',
    help: 'Secret plaintext reads (denied: refused by policy).',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  readonly #authFailures = new Counter({
    name: 'strata_api_auth_failures_total',
    help: 'Requests that failed authentication, by reason.',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly #authBackoffs = labelledCounter(
    this.registry,
    {},
    'strata_api_auth_backoffs_total',
    'Requests refused (429) while their client backs off after failed authentications.',
  );
  readonly #scrape = {
    strata_log_head_position: new Gauge({
      name: 'strata_log_head_position',
      help: 'Highest committed log position (-1: unknown).',
      registers: [this.registry],
    }),
    strata_secrets_overdue: new Gauge({
      name: 'strata_secrets_overdue',
      help: 'Secret versions past their rotation date (-1: unknown).',
      registers: [this.registry],
    }),
  };
  /** Hot path: the series are looked up once per (method, route[, status]), without building a key. */
  readonly #series = new Map<string, Map<string, { latency: HotSeries; byStatus: Map<number, HotSeries> }>>();

  constructor() {
    const started = Date.now();
    new Gauge({
      name: 'strata_api_uptime_seconds',
      help: 'Seconds since the API started.',
      registers: [this.registry],
      collect() {
        this.set((Date.now() - started) / 1000);
      },
    });
    for (const outcome of ['ok', 'denied']) this.#secretReads.inc({ outcome }, 0);
    for (const reason of authFailureReasons) this.#authFailures.inc({ reason }, 0);
  }

  observe(method: string, route: string, status: number, seconds: number): void {
    let byRoute = this.#series.get(method);
    if (!byRoute) this.#series.set(method, (byRoute = new Map()));
    let series = byRoute.get(route);
    if (!series) byRoute.set(route, (series = { latency: this.#latency({ method, route }), byStatus: new Map() }));
    let requests = series.byStatus.get(status);
    if (!requests) series.byStatus.set(status, (requests = this.#requests({ method, route, status })));
    requests.record();
    series.latency.record(seconds);
  }

  secretRead(outcome: 'ok' | 'denied'): void {
    this.#secretReads.inc({ outcome });
  }

  authFailed(reason: AuthFailureReason): void {
    this.#authFailures.inc({ reason });
  }

  /** A request refused unheard because its client is backing off after failed authentications. */
  authBackedOff(): void {
    this.#authBackoffs.inc();
  }

  /** Prometheus text of the whole registry, with the gauges read at scrape time. */
  render(gauges: ApiScrapeGauges): Promise<string> {
    for (const [name, gauge] of Object.entries(this.#scrape)) gauge.set(gauges[name as keyof ApiScrapeGauges]);
    return this.registry.metrics();
  }
}
