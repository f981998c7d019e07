/**
 * Appends, one event per command at 1 / 8 / 32 concurrent writers and 100-event batches:
 * Strata's PostgresEventLog against Emmett's PostgreSQL event store, each in its own scratch
 * database on the same server, measured by the same loop (`measureAppends`).
 */
import { STREAM_DOES_NOT_EXIST } from '@event-driven-io/emmett';
import { getPostgreSQLEventStore } from '@event-driven-io/emmett-postgresql';
import { createPool } from '@strata/postgres-log';
import {
  measureAppends,
  runAppendBenchmark,
  type AppendMeasurement,
} from '../../packages/postgres-log/bench/append.bench.js';
import { record } from './lib/report.js';
import { runId, scratchDatabase } from './lib/scratch.js';
import { formatRate } from './lib/stats.js';

const durationMs = Number(process.env.BENCH_APPEND_MS ?? 5_000);
/** On a shared machine one round says little: each scenario runs this many times, alternating with the peer, and reports the medians. */
const repeat = Math.max(1, Number(process.env.BENCH_APPEND_REPEAT ?? 1));
const allScenarios = [
  { writers: 1, batchSize: 1 },
  { writers: 8, batchSize: 1 },
  { writers: 32, batchSize: 1, target: '≥ 4 k/s, p99 ≤ 20 ms' },
  { writers: 8, batchSize: 100, target: '≥ 1.2× Emmett' },
];
/** BENCH_APPEND_SCENARIOS=8x100,32x1 runs only those (writers x batch size). */
const scenarios = process.env.BENCH_APPEND_SCENARIOS
  ? allScenarios.filter((s) => process.env.BENCH_APPEND_SCENARIOS!.split(',').includes(`${s.writers}x${s.batchSize}`))
  : allScenarios;

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};
const medianOf = (runs: AppendMeasurement[]): AppendMeasurement => ({
  ...runs[0]!,
  eventsPerSecond: median(runs.map((r) => r.eventsPerSecond)),
  p99Ms: median(runs.map((r) => r.p99Ms)),
});

export const appendBench = async (): Promise<void> => {
  await using strataDb = await scratchDatabase('append');
  await using emmettDb = await scratchDatabase('emmett', { migrated: false });
  // Killed connections when the scratch database is dropped WITH (FORCE) are expected.
  const pool = createPool(strataDb.url, { max: 40, onError: () => {} });
  const emmett = getPostgreSQLEventStore(emmettDb.url);
  try {
    await emmett.appendToStream('warmup', [{ type: 'ConfigValueSet', data: { key: 'warmup', value: 0 } }]); // creates its schema
    const run = runId();
    for (const { writers, batchSize, target } of scenarios) {
      const ourRuns: AppendMeasurement[] = [];
      const peerRuns: AppendMeasurement[] = [];
      for (let round = 0; round < repeat; round++) {
        const ours = await runAppendBenchmark(pool, { writers, batchSize, durationMs });
        const versions = new Array<bigint>(writers).fill(0n);
        const stream = `${run}-${round}`;
        const peer = await measureAppends({
          label: `emmett ${writers} × ${batchSize}`,
          writers,
          durationMs,
          appendOnce: async (writer, i) => {
            const events = Array.from({ length: batchSize }, (_, j) => ({
              type: 'ConfigValueSet',
              data: {
                namespace: 'bench',
                environment: 'prod',
                tenant: `t${stream}-${writer}`,
                key: `bench.key_${j % 20}`,
                value: i,
              },
              metadata: { actor: 'admin', reason: 'test' },
            }));
            const result = await emmett.appendToStream(`tenant-${stream}-${writer}`, events, {
              expectedStreamVersion: versions[writer] === 0n ? STREAM_DOES_NOT_EXIST : versions[writer]!,
            });
            versions[writer] = result.nextExpectedStreamVersion;
            return batchSize;
          },
        });
        console.log(
          `  ${writers} × ${batchSize} round ${round + 1}: strata ${formatRate(ours.eventsPerSecond)}, emmett ${formatRate(peer.eventsPerSecond)} (${(ours.eventsPerSecond / peer.eventsPerSecond).toFixed(2)}×)`,
        );
        ourRuns.push(ours);
        peerRuns.push(peer);
      }
      report(writers, batchSize, medianOf(ourRuns), medianOf(peerRuns), repeat, target);
    }
  } finally {
    await emmett.close();
    await pool.end();
  }
};

const report = (
  writers: number,
  batchSize: number,
  ours: AppendMeasurement,
  peer: AppendMeasurement,
  rounds: number,
  target?: string,
) => {
  const shape =
    (batchSize === 1
      ? `${writers} writer${writers > 1 ? 's' : ''}, 1 event/append`
      : `${writers} writers × ${batchSize}-event batches`) + (rounds > 1 ? ` (median of ${rounds})` : '');
  record({
    benchmark: 'append',
    metric: `${shape}: events/s`,
    ours: formatRate(ours.eventsPerSecond),
    peer: formatRate(peer.eventsPerSecond),
    peerName: 'Emmett PostgreSQL store',
    ratio: ours.eventsPerSecond / peer.eventsPerSecond,
    ...(target ? { target } : {}),
  });
  record({
    benchmark: 'append',
    metric: `${shape}: p99`,
    ours: `${ours.p99Ms.toFixed(1)} ms`,
    peer: `${peer.p99Ms.toFixed(1)} ms`,
    peerName: 'Emmett PostgreSQL store',
    ratio: peer.p99Ms / ours.p99Ms,
    ...(target ? { target } : {}),
  });
};
