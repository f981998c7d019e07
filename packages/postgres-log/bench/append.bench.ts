/**
 * Append throughput and latency of the PostgreSQL event log, on a scratch database.
 *   npx tsx packages/postgres-log/bench/append.bench.ts            (DATABASE_URL or the loopback default)
 * `measureAppends` is generic so peers (Emmett) can be measured by the same loop.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { createPool } from '../src/create-pool.js';
import { verifyChain } from '../src/hash-chain.js';
import { PostgresEventLog } from '../src/postgres-event-log.js';
import { configValueSet } from '@strata/core/testing';
import { scratchDatabase } from '@strata/testing/scratch';

export interface AppendMeasurement {
  label: string;
  writers: number;
  events: number;
  appends: number;
  seconds: number;
  eventsPerSecond: number;
  appendsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/**
 * Runs `writers` concurrent loops for `durationMs`; each call of `appendOnce(writer, i)` is one
 * command and resolves to the number of events it appended.
 */
export const measureAppends = async (options: {
  label: string;
  writers: number;
  durationMs: number;
  appendOnce: (writer: number, iteration: number) => Promise<number>;
}): Promise<AppendMeasurement> => {
  const latencies: number[] = [];
  let events = 0;
  const started = performance.now();
  const deadline = started + options.durationMs;
  await Promise.all(
    Array.from({ length: options.writers }, async (_, writer) => {
      for (let i = 0; performance.now() < deadline; i += 1) {
        const t0 = performance.now();
        const appended = await options.appendOnce(writer, i);
        events += appended;
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const percentile = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
  return {
    label: options.label,
    writers: options.writers,
    events,
    appends: latencies.length,
    seconds,
    eventsPerSecond: events / seconds,
    appendsPerSecond: latencies.length / seconds,
    p50Ms: percentile(0.5),
    p99Ms: percentile(0.99),
  };
};

/**
 * Strata's log under `writers` concurrent commands of `batchSize` events each, every writer on
 * its own stream with an exact expected version (as the API appends). `sharedLog` puts all
 * writers on one PostgresEventLog (one process: concurrent appends are group-committed);
 * otherwise each writer has its own instance (like separate processes: one transaction each).
 */
export const runAppendBenchmark = async (
  pool: pg.Pool,
  options: { writers: number; batchSize?: number; durationMs?: number; sharedLog?: boolean; commitsInFlight?: number },
): Promise<AppendMeasurement> => {
  const { writers, batchSize = 1, durationMs = 5_000, sharedLog = true } = options;
  const logOptions = options.commitsInFlight === undefined ? {} : { commitsInFlight: options.commitsInFlight };
  const shared = new PostgresEventLog(pool, logOptions);
  const logs = Array.from({ length: writers }, () => (sharedLog ? shared : new PostgresEventLog(pool, logOptions)));
  const run = randomBytes(3).toString('hex');
  const versions = new Array<number>(writers).fill(0);
  return measureAppends({
    label: `strata ${writers} writer(s) × ${batchSize} event(s)/append, ${sharedLog ? 'one log instance' : 'one instance per writer'}`,
    writers,
    durationMs,
    appendOnce: async (writer, i) => {
      const events = Array.from({ length: batchSize }, (_, j) =>
        configValueSet(`bench.key_${j % 20}`, i, { namespace: 'bench', tenant: `t${run}-${writer}` }),
      );
      const result = await logs[writer]!.append(`tenant:bench/prod/t${run}-${writer}`, events, {
        expectedVersion: versions[writer]!,
      });
      if (!result.ok) throw new Error(`unexpected conflict for writer ${writer}`);
      versions[writer] = result.streamVersion;
      return batchSize;
    },
  });
};

/**
 * CPU seconds used so far by the PostgreSQL backends serving `database` (Linux, same machine).
 * On a shared, busy machine wall-clock rates say little; CPU per event says what the design costs.
 */
const backendCpuSeconds = async (pool: pg.Pool, database: string): Promise<Map<number, number>> => {
  const { rows } = await pool.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [database]);
  const ticks = new Map<number, number>();
  for (const { pid } of rows) {
    try {
      const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
      ticks.set(pid, (Number(fields[11]) + Number(fields[12])) / 100);
    } catch {
      // Not on Linux, or the server runs elsewhere: CPU figures are simply left out.
    }
  }
  return ticks;
};

const cpuDelta = (before: Map<number, number>, after: Map<number, number>): number =>
  [...after].reduce((sum, [pid, seconds]) => sum + seconds - (before.get(pid) ?? 0), 0);

const main = async () => {
  const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const durationMs = Number(process.env.BENCH_DURATION_MS ?? 5_000);
  await using db = await scratchDatabase(adminUrl, 'scratch');
  console.log(
    `load average ${(await readFile('/proc/loadavg', 'utf8').catch(() => '?')).split(' ').slice(0, 3).join(' ')}`,
  );
  // Idle connections are killed when the scratch database is dropped WITH (FORCE): expected.
  const pool = createPool(db.url, { max: 40, onError: () => {} });
  try {
    const scenarios = [
      { writers: 1 },
      { writers: 8 },
      { writers: 32 },
      { writers: 32, sharedLog: false },
      { writers: 1, batchSize: 100 },
      { writers: 8, batchSize: 100 },
    ];
    for (const scenario of scenarios) {
      const database = new URL(db.url).pathname.slice(1);
      const backendsBefore = await backendCpuSeconds(pool, database);
      const nodeBefore = process.cpuUsage();
      const m = await runAppendBenchmark(pool, { ...scenario, durationMs });
      const node = process.cpuUsage(nodeBefore);
      const postgres = cpuDelta(backendsBefore, await backendCpuSeconds(pool, database));
      console.log(
        `${m.label.padEnd(70)} ${m.eventsPerSecond.toFixed(0).padStart(7)} events/s ${m.appendsPerSecond.toFixed(0).padStart(6)} appends/s` +
          `  p50 ${m.p50Ms.toFixed(2)} ms  p99 ${m.p99Ms.toFixed(2)} ms` +
          `  cpu/event: node ${((node.user + node.system) / m.events).toFixed(0)} µs, postgres ${((postgres * 1e6) / m.events).toFixed(0)} µs`,
      );
    }
    const started = performance.now();
    const cpu = process.cpuUsage();
    const verified = await verifyChain(pool);
    const seconds = (performance.now() - started) / 1000;
    const cpuMicros = process.cpuUsage(cpu);
    const checked = verified.checked;
    console.log(
      `verifyChain ${verified.ok ? 'ok' : 'FAILED'}: ${checked} events in ${seconds.toFixed(2)} s = ${(checked / seconds).toFixed(0)} events/s` +
        ` (node cpu ${((cpuMicros.user + cpuMicros.system) / checked).toFixed(1)} µs/event)`,
    );
  } finally {
    await pool.end();
  }
};

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
