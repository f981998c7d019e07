/**
 * `npm run bench [-- sdk flags append http propagation rebuild pit relay changes mixed]`: every Strata target side by side
 * with a peer measured in the same run, printed as it goes and written to results/latest.md.
 * Each benchmark creates its own scratch databases, Redis prefix, Kafka topic and processes, and
 * removes them when it ends (also when it fails). Knobs: BENCH_REBUILD_EVENTS (default 1,000,000),
 * BENCH_REBUILD_REPEAT, BENCH_RELAY_EVENTS (default 1,000,000), BENCH_RELAY_STEADY_S, RELAY_BATCH_SIZE, BENCH_PUBLISHER_EVENTS, BENCH_MIXED_SECONDS, BENCH_MIXED_WRITES, BENCH_MIXED_READS,
 * BENCH_APPEND_MS, BENCH_APPEND_REPEAT, BENCH_APPEND_SCENARIOS (e.g. 8x100), BENCH_HTTP_SECONDS, BENCH_HTTP_ROUNDS, BENCH_SDK_MS, BENCH_CHANGES_WRITES, BENCH_SKIP_PEERS_INSTALL=1.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import pg from 'pg';
import { appendBench } from './append.bench.js';
import { changesBench } from './changes.bench.js';
import { flagsBench } from './flags.bench.js';
import { httpBench } from './http.bench.js';
import { mixedBench } from './mixed.bench.js';
import { pitBench } from './pit.bench.js';
import { propagationBench } from './propagation.bench.js';
import { rebuildBench } from './rebuild.bench.js';
import { relayBench } from './relay.bench.js';
import { sdkBench } from './sdk.bench.js';
import { sharedFilledLog } from './lib/filled-log.js';
import { machine, record, writeMarkdown } from './lib/report.js';
import { adminUrl } from './lib/scratch.js';

// kafkajs 2.2.4 schedules a timer with a negative delay on Node ≥ 24 (kafkajs #1751, harmless).
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warning.name !== 'TimeoutNegativeWarning') console.warn(warning);
});

/**
 * A full collection of this process's heap. The benchmarks share the runner: the sdk and flags
 * benches leave their garbage (samples, evaluation contexts) uncollected, V8 collected it in the
 * middle of the next bench, and the propagation p99 at 100 changes/s read 67–115 ms after them
 * against 8–11 ms without them. Each bench starts on a collected heap instead.
 */
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

/**
 * Written data on disk before the next bench: a PostgreSQL checkpoint, then the kernel's dirty pages
 * (Kafka's segments, etcd's). The append bench leaves gigabytes of WAL and dirty buffers whose
 * writeback can run into the bench after it: run after it, propagation's p99 at 100 changes/s read
 * 693 ms (etcd's floor, fsyncing the same disk, 202 ms) against 41 ms alone. With this, the same
 * pair read 313 and 23 ms (etcd 265 and 517 ms): this machine's disk also stalls on its own, but no
 * bench pays for the previous one's writes.
 */
const settleStorage = async (): Promise<void> => {
  const client = new pg.Client({ connectionString: adminUrl });
  try {
    await client.connect();
    await client.query('CHECKPOINT');
  } catch (error) {
    console.warn(`  (no checkpoint before the bench: ${error instanceof Error ? error.message : String(error)})`);
  } finally {
    await client.end().catch(() => undefined);
  }
  spawnSync('sync');
};

const benches: Record<string, () => Promise<void>> = {
  sdk: sdkBench,
  flags: flagsBench,
  append: appendBench,
  http: httpBench,
  propagation: propagationBench,
  rebuild: rebuildBench,
  pit: pitBench,
  relay: relayBench,
  changes: changesBench,
  mixed: mixedBench,
};

const asked = process.argv.slice(2).filter((a) => a !== '--');
const unknown = asked.filter((name) => !(name in benches));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; choose from ${Object.keys(benches).join(' ')}`);
  process.exit(2);
}
const selected = asked.length > 0 ? asked : Object.keys(benches);

if (selected.includes('propagation') && process.env.BENCH_SKIP_PEERS_INSTALL !== '1') {
  spawnSync('bash', [fileURLToPath(new URL('./peers.sh', import.meta.url))], { stdio: 'inherit' });
}

console.log(`Strata benchmarks on ${machine()}: ${selected.join(', ')}`);
const started = performance.now();
let failed = false;
try {
  for (const name of selected) {
    console.log(`\n== ${name}`);
    await settleStorage();
    collectGarbage();
    const t0 = performance.now();
    try {
      await benches[name]!();
    } catch (error) {
      failed = true;
      console.error(`  ${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      record({ benchmark: name, metric: 'FAILED (see the log)', ours: '—', peer: '—', peerName: '—', ratio: null });
    }
    console.log(`  (${name}: ${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
} finally {
  await sharedFilledLog.dispose();
}
const file = fileURLToPath(new URL('./results/latest.md', import.meta.url));
writeMarkdown(file);
console.log(`\nall done in ${((performance.now() - started) / 1000).toFixed(0)} s; table written to ${file}`);
process.exit(failed ? 1 : 0);
