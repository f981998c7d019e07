/** Latency samples in nanoseconds → the percentiles a benchmark prints. */
export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

export const summarize = (samplesNs: number[] | Float64Array): LatencySummary => {
  const sorted = Float64Array.from(samplesNs).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { count: sorted.length, p50: at(0.5), p99: at(0.99), p999: at(0.999), max: sorted[sorted.length - 1] ?? 0 };
};

export const formatNs = (ns: number): string => {
  if (ns < 1_000) return `${ns.toFixed(0)} ns`;
  if (ns < 1_000_000) return `${(ns / 1_000).toFixed(2)} µs`;
  if (ns < 1_000_000_000) return `${(ns / 1_000_000).toFixed(2)} ms`;
  return `${(ns / 1_000_000_000).toFixed(2)} s`;
};

export const formatRate = (perSecond: number): string => {
  if (perSecond >= 1_000_000) return `${(perSecond / 1_000_000).toFixed(2)} M/s`;
  if (perSecond >= 1_000) return `${(perSecond / 1_000).toFixed(1)} k/s`;
  return `${perSecond.toFixed(0)} /s`;
};

/**
 * Runs `op` in a tight loop for about `durationMs`, timing batches so the clock read does not
 * dominate a sub-microsecond operation, and single calls for the latency percentiles.
 */
export const measureThroughput = (
  op: (i: number) => unknown,
  durationMs = 1500,
): { opsPerSec: number; latency: LatencySummary } => {
  let sink = 0;
  for (let i = 0; i < 50_000; i++) sink ^= op(i) ? 1 : 0; // warm up the JIT
  const batch = 1000;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(durationMs) * 1_000_000n;
  let ops = 0;
  while (process.hrtime.bigint() < deadline) {
    for (let i = 0; i < batch; i++) sink ^= op(ops + i) ? 1 : 0;
    ops += batch;
  }
  const elapsedNs = Number(process.hrtime.bigint() - start);
  const samples = new Float64Array(100_000);
  for (let i = 0; i < samples.length; i++) {
    const t0 = process.hrtime.bigint();
    sink ^= op(i) ? 1 : 0;
    samples[i] = Number(process.hrtime.bigint() - t0);
  }
  if (sink === 42) process.stdout.write(''); // keep the results alive
  return { opsPerSec: (ops / elapsedNs) * 1e9, latency: summarize(samples) };
};

/**
 * `measureThroughput` for calls that answer a promise (OpenFeature clients): each call is awaited,
 * as a caller would, so the cost of the promise and its microtask is part of the number.
 */
export const measureAsyncThroughput = async (
  op: (i: number) => Promise<unknown>,
  durationMs = 1500,
): Promise<{ opsPerSec: number; latency: LatencySummary }> => {
  let sink = 0;
  for (let i = 0; i < 20_000; i++) sink ^= (await op(i)) ? 1 : 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(durationMs) * 1_000_000n;
  let ops = 0;
  while (process.hrtime.bigint() < deadline) {
    for (let i = 0; i < 1000; i++) sink ^= (await op(ops + i)) ? 1 : 0;
    ops += 1000;
  }
  const elapsedNs = Number(process.hrtime.bigint() - start);
  const samples = new Float64Array(50_000);
  for (let i = 0; i < samples.length; i++) {
    const t0 = process.hrtime.bigint();
    sink ^= (await op(i)) ? 1 : 0;
    samples[i] = Number(process.hrtime.bigint() - t0);
  }
  if (sink === 42) process.stdout.write('');
  return { opsPerSec: (ops / elapsedNs) * 1e9, latency: summarize(samples) };
};
