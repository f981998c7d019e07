import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import {
  Counter,
  createMetricsRegistry,
  EventCount,
  hotMetric,
  labelledCounter,
  snapshotGauges,
} from './metrics-registry.js';

describe('createMetricsRegistry', () => {
  it('renders Prometheus text with process metrics next to the service’s own', async () => {
    const registry = createMetricsRegistry();
    labelledCounter(registry, { topic: 't' }, 'strata_test_total', 'A counter.');
    const text = await registry.metrics();
    expect(text).toContain('# TYPE strata_test_total counter');
    expect(text).toContain('strata_test_total{topic="t"} 0');
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
    expect(registry.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
  });

  it('reports the live heap: heap used right after the latest full collection', async () => {
    const registry = createMetricsRegistry();
    const live = async () => Number(/^strata_heap_live_bytes (\S+)$/m.exec(await registry.metrics())?.[1]);
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    let garbage: unknown[] | null = Array.from({ length: 200_000 }, (_, i) => ({ i, s: `value-${i}` }));
    gc(); // full: `garbage` is still referenced, so it is live
    await new Promise((resolve) => setTimeout(resolve, 50));
    const withGarbage = await live();
    expect(garbage.length).toBe(200_000);
    garbage = null;
    gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const without = await live();
    expect(withGarbage).toBeGreaterThan(0);
    // 200 000 small objects and their strings are well over 8 MiB; all of it is gone after the second collection.
    expect(withGarbage - without).toBeGreaterThan(8 * 2 ** 20);
  });

  it('escapes label values, so a quote, backslash or newline cannot forge a sample', async () => {
    const registry = createMetricsRegistry();
    const counter = new Counter({ name: 'strata_x_total', help: 'x', labelNames: ['route'], registers: [registry] });
    counter.inc({ route: '/a"b\\c\nstrata_forged 1' });
    const text = await registry.metrics();
    expect(text).toContain('strata_x_total{route="/a\\"b\\\\c\\nstrata_forged 1"} 1');
    expect(text).not.toMatch(/^strata_forged/m);
  });

  it('snapshot gauges carry the shared labels first and take the snapshot at scrape time', async () => {
    const registry = createMetricsRegistry();
    const set = snapshotGauges<{ lag: number; up: boolean }>(
      registry,
      { group: 'g' },
      {
        strata_lag: { help: 'Lag.', value: (s) => s.lag },
        strata_up: { help: 'Up.', value: (s) => (s.up ? 1 : 0) },
      },
    );
    set({ lag: 7, up: true });
    const text = await registry.metrics();
    expect(text).toContain('strata_lag{group="g"} 7');
    expect(text).toContain('strata_up{group="g"} 1');
  });
});

describe('EventCount', () => {
  it('counts events into a counter and reports their rate over the last 10 s', async () => {
    const registry = createMetricsRegistry();
    const count = new EventCount(
      registry,
      { topic: 't' },
      { name: 'strata_done_total', help: 'Done.' },
      { name: 'strata_done_rate', help: 'Done per second.' },
    );
    const now = Date.now();
    count.record(30, now - 20_000);
    count.record(50, now);
    expect(count.total).toBe(80);
    expect(count.perSecond(now)).toBe(5);
    const text = await registry.metrics();
    expect(text).toContain('strata_done_total{topic="t"} 80');
    expect(text).toMatch(/^strata_done_rate\{topic="t"\} 5$/m);
  });
});

describe('hotMetric', () => {
  it('renders a histogram like prom-client’s: cumulative buckets, +Inf, sum and count, escaped labels', async () => {
    const registry = createMetricsRegistry();
    const series = hotMetric(registry, { name: 'strata_hot_seconds', help: 'Latency.', buckets: [0.01, 0.1] });
    const a = series({ route: '/a' });
    for (const seconds of [0.005, 0.05, 0.05, 3]) a.record(seconds);
    series({ route: 'q"\\\n' }).record(0.2);
    const text = await registry.metrics();
    expect(text).toContain('# TYPE strata_hot_seconds histogram');
    expect(text).toContain('strata_hot_seconds_bucket{route="/a",le="0.01"} 1');
    expect(text).toContain('strata_hot_seconds_bucket{route="/a",le="0.1"} 3');
    expect(text).toContain('strata_hot_seconds_bucket{route="/a",le="+Inf"} 4');
    expect(text).toContain('strata_hot_seconds_sum{route="/a"} 3.105');
    expect(text).toContain('strata_hot_seconds_count{route="/a"} 4');
    expect(text).toContain('strata_hot_seconds_bucket{route="q\\"\\\\\\n",le="+Inf"} 1');
  });

  it('renders a counter per label set', async () => {
    const registry = createMetricsRegistry();
    const series = hotMetric(registry, { name: 'strata_hot_total', help: 'Requests.' });
    const ok = series({ status: 200 });
    ok.record();
    ok.record();
    series({ status: 404 }).record();
    const text = await registry.metrics();
    expect(text).toContain('# TYPE strata_hot_total counter');
    expect(text).toContain('strata_hot_total{status="200"} 2');
    expect(text).toContain('strata_hot_total{status="404"} 1');
  });
});
