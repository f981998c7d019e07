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
const scenarios = [
  { writers: 1, batchSize: 1 },
  { writers: 8, batchSize: 1 },
  { writers: 32, batchSize: 1, target: '≥ 4 k/s, p99 ≤ 20 ms' },
  { writers: 8, batchSize: 100, target: '≥ 30 k/s' },
];

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
      const ours = await runAppendBenchmark(pool, { writers, batchSize, durationMs });
      const versions = new Array<bigint>(writers).fill(0n);
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
              tenant: `t${run}-${writer}`,
              key: `bench.key_${j % 20}`,
              value: i,
            },
            metadata: { actor: 'admin', reason: 'test' },
          }));
          const result = await emmett.appendToStream(`tenant-${run}-${writer}`, events, {
            expectedStreamVersion: versions[writer] === 0n ? STREAM_DOES_NOT_EXIST : versions[writer]!,
          });
          versions[writer] = result.nextExpectedStreamVersion;
          return batchSize;
        },
      });
      report(writers, batchSize, ours, peer, target);
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
  target?: string,
) => {
  const shape =
    batchSize === 1
      ? `${writers} writer${writers > 1 ? 's' : ''}, 1 event/append`
      : `${writers} writers × ${batchSize}-event batches`;
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
