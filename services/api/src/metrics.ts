/**
 * Prometheus metrics of the API, rendered in the text exposition format. Hand-rolled because the
 * API needs a handful of metrics and prom-client would bring a registry, default collectors and a
 * dependency for them. Labels are route patterns (never raw URLs), so tenant ids, keys and
 * anything a caller types never become label values.
 */
const buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

/** Why a request failed authentication: no Authorization header, not `Bearer <token>`, no live token, expired. */
export type AuthFailureReason = 'missing' | 'malformed' | 'unknown' | 'expired';
const authFailureReasons: readonly AuthFailureReason[] = ['missing', 'malformed', 'unknown', 'expired'];

const escapeLabel = (value: string): string =>
  value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');

export class ApiMetrics {
  readonly #labels = new Map<string, Map<string, { key: string; byStatus: Map<number, string> }>>();
  readonly #requests = new Map<string, number>();
  readonly #latency = new Map<string, Histogram>();
  readonly #secretReads = { ok: 0, denied: 0 };
  readonly #authFailures = new Map<AuthFailureReason, number>(authFailureReasons.map((r) => [r, 0]));
  #authBackoffs = 0;
  readonly #started = Date.now();

  observe(method: string, route: string, status: number, seconds: number): void {
    // Hot path: label strings are built once per (method, route[, status]).
    let labels = this.#labels.get(method)?.get(route);
    if (!labels) {
      const key = `method="${escapeLabel(method)}",route="${escapeLabel(route)}"`;
      let byRoute = this.#labels.get(method);
      if (!byRoute) this.#labels.set(method, (byRoute = new Map()));
      byRoute.set(route, (labels = { key, byStatus: new Map() }));
    }
    let counter = labels.byStatus.get(status);
    if (counter === undefined) labels.byStatus.set(status, (counter = `${labels.key},status="${status}"`));
    this.#requests.set(counter, (this.#requests.get(counter) ?? 0) + 1);
    let h = this.#latency.get(labels.key);
    if (!h) this.#latency.set(labels.key, (h = { counts: buckets.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < buckets.length; i++) if (seconds <= buckets[i]!) h.counts[i]! += 1;
    h.sum += seconds;
    h.count += 1;
  }

  secretRead(outcome: 'ok' | 'denied'): void {
    this.#secretReads[outcome] += 1;
  }

  authFailed(reason: AuthFailureReason): void {
    this.#authFailures.set(reason, (this.#authFailures.get(reason) ?? 0) + 1);
  }

  /** A request refused unheard because its client is backing off after failed authentications. */
  authBackedOff(): void {
    this.#authBackoffs += 1;
  }

  render(gauges: Record<string, number> = {}): string {
    const lines: string[] = [
      '# HELP strata_api_requests_total HTTP requests by route pattern and status.',
      '# TYPE strata_api_requests_total counter',
    ];
    for (const [labels, n] of this.#requests) lines.push(`strata_api_requests_total{${labels}} ${n}`);
    lines.push(
      '# HELP strata_api_request_duration_seconds HTTP request latency by route pattern.',
      '# TYPE strata_api_request_duration_seconds histogram',
    );
    for (const [labels, h] of this.#latency) {
      buckets.forEach((le, i) =>
        lines.push(`strata_api_request_duration_seconds_bucket{${labels},le="${le}"} ${h.counts[i]}`),
      );
      lines.push(`strata_api_request_duration_seconds_bucket{${labels},le="+Inf"} ${h.count}`);
      lines.push(`strata_api_request_duration_seconds_sum{${labels}} ${h.sum}`);
      lines.push(`strata_api_request_duration_seconds_count{${labels}} ${h.count}`);
    }
    lines.push(
      '# HELP strata_api_secret_reads_total Secret plaintext reads (denied: refused by policy).',
      '# TYPE strata_api_secret_reads_total counter',
      `strata_api_secret_reads_total{outcome="ok"} ${this.#secretReads.ok}`,
      `strata_api_secret_reads_total{outcome="denied"} ${this.#secretReads.denied}`,
      '# HELP strata_api_auth_failures_total Requests that failed authentication, by reason.',
      '# TYPE strata_api_auth_failures_total counter',
      ...[...this.#authFailures].map(([reason, n]) => `strata_api_auth_failures_total{reason="${reason}"} ${n}`),
      '# HELP strata_api_auth_backoffs_total Requests refused (429) while their client backs off after failed authentications.',
      '# TYPE strata_api_auth_backoffs_total counter',
      `strata_api_auth_backoffs_total ${this.#authBackoffs}`,
      '# HELP strata_api_uptime_seconds Seconds since the API started.',
      '# TYPE strata_api_uptime_seconds gauge',
      `strata_api_uptime_seconds ${(Date.now() - this.#started) / 1000}`,
    );
    for (const [name, value] of Object.entries(gauges)) {
      lines.push(`# TYPE ${name} gauge`, `${name} ${value}`);
    }
    return `${lines.join('\n')}\n`;
  }
}
