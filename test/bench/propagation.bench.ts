/**
 * Change → visible in another process, at ~1 and ~100 changes/s, p50 / p99 / p99.9, all
 * timestamps from one machine's clock (`performance.timeOrigin + performance.now()`):
 *   Strata   PostgresEventLog.append → relay process → Kafka → projector process → Redis view and
 *            notification → SDK `onChange` in a child process. From the append call to onChange.
 *   etcd     (the floor) PUT over the v3 JSON gateway → watch event in a child process.
 *   Unleash  admin API toggle → unleash-client polling (refreshInterval 1000 ms) in a child
 *            process, ~1 change/s only: polling collapses faster changes into one.
 */
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createPool, PostgresEventLog } from '@strata/postgres-log';
import { startChild, startTsChild, type Child } from './lib/processes.js';
import { record } from './lib/report.js';
import { redisUrl, scratchDatabase, scratchServices, sleep } from './lib/scratch.js';
import { formatNs, summarize, type LatencySummary } from './lib/stats.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const childScript = path.join(here, 'propagation-child.ts');
const root = path.resolve(here, '../..');
const now = () => performance.timeOrigin + performance.now();
const slowCount = Number(process.env.BENCH_PROPAGATION_SLOW ?? 20);
const fastCount = Number(process.env.BENCH_PROPAGATION_FAST ?? 1_000);

type Results = Map<string, LatencySummary | string>; // rate label → latencies, or why skipped

/**
 * Fires `count` changes at `perSecond` (not waiting for one to finish before the next is due),
 * then collects the child's lines: latency = seen − issued, matched by the changed value.
 */
const paced = async (
  child: Child,
  perSecond: number,
  count: number,
  first: number,
  change: (value: number) => Promise<void>,
) => {
  const issued = new Map<number, number>();
  const pending: Promise<void>[] = [];
  const start = now();
  for (let i = 0; i < count; i++) {
    const due = start + (i * 1000) / perSecond;
    const wait = due - now();
    if (wait > 0) await sleep(wait);
    issued.set(first + i, now());
    pending.push(change(first + i));
  }
  await Promise.all(pending);
  const deadline = now() + 10_000;
  const last = first + count - 1;
  while (!child.lines.some((l) => l.value === last) && now() < deadline) await sleep(20);
  // Values only grow, and a client may skip a value that a newer one already superseded (the SDK
  // refetches a scope's current state): a change is visible once any value ≥ it has been seen.
  const seenLines = child.lines
    .filter(
      (l): l is { value: number; at: number } =>
        typeof l.value === 'number' && l.value >= first && l.value < first + count,
    )
    .sort((a, b) => a.at - b.at);
  const latencies: number[] = [];
  for (const [value, at] of issued) {
    const visible = seenLines.find((l) => l.value >= value);
    if (visible) latencies.push((visible.at - at) * 1e6);
  }
  const missing = count - latencies.length;
  if (missing > 0) process.stdout.write(`  (${missing} of ${count} changes never seen within 10 s)\n`);
  return summarize(latencies);
};

const strata = async (): Promise<Results> => {
  await using services = await scratchServices('propagation', { partitions: 1 });
  const { prefix } = services;
  const env = { ...services.env, PROJECTOR_SESSION_TIMEOUT_MS: '6000', PROJECTOR_HEARTBEAT_INTERVAL_MS: '500' };
  const pool = createPool(services.databaseUrl, { max: 4, onError: () => {} });
  const log = new PostgresEventLog(pool);
  try {
    await using relay = startTsChild(path.join(root, 'services/relay/src/main.ts'), [], env);
    await using projector = startTsChild(path.join(root, 'services/projector/src/main.ts'), [], env);
    const meta = { actor: 'bench', reason: 'benchmark' };
    await log.append('manifest:bench', [
      {
        type: 'ManifestPublished',
        data: {
          namespace: 'bench',
          manifest: { keys: { 'bench.counter': { type: 'integer', default: 0 } }, flags: {}, secrets: {} },
        },
        metadata: meta,
      },
    ]);
    const seeded = await log.append('env:bench/prod', [
      {
        type: 'ConfigValueSet',
        data: { namespace: 'bench', environment: 'prod', tenant: null, key: 'bench.counter', value: 0 },
        metadata: meta,
      },
    ]);
    if (!seeded.ok) throw new Error('seed append conflicted');
    await using sdk = startTsChild(childScript, [
      'strata',
      redisUrl,
      prefix,
      'bench',
      'prod',
      String(seeded.positions.at(-1)),
    ]);
    await sdk.ready(90_000).catch((error: unknown) => {
      throw new Error(
        `${(error as Error).message}\nrelay: ${relay.stderr().slice(-1500)}\nprojector: ${projector.stderr().slice(-1500)}`,
      );
    });
    const change = async (value: number) => {
      const result = await log.append('env:bench/prod', [
        {
          type: 'ConfigValueSet',
          data: { namespace: 'bench', environment: 'prod', tenant: null, key: 'bench.counter', value },
          metadata: meta,
        },
      ]);
      if (!result.ok) throw new Error('append conflicted');
    };
    await paced(sdk, 20, 20, 1_000_000, change); // warm up the whole path
    return new Map<string, LatencySummary | string>([
      ['~1 change/s', await paced(sdk, 1, slowCount, 1, change)],
      ['~100 changes/s', await paced(sdk, 100, fastCount, 10_000, change)],
    ]);
  } finally {
    await pool.end();
  }
};

const etcd = async (): Promise<Results | string> => {
  if (spawnSync('etcd', ['--version']).status !== 0)
    return 'etcd not installed (test/bench/peers.sh installs Debian etcd-server as root)';
  const dataDir = mkdtempSync(path.join(tmpdir(), 'strata-bench-etcd-'));
  const clientPort = 23_790 + Math.floor(Math.random() * 500);
  const url = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${clientPort + 1_000}`;
  try {
    await using server = startChild('etcd', [
      '--name',
      'bench',
      '--data-dir',
      dataDir,
      '--listen-client-urls',
      url,
      '--advertise-client-urls',
      url,
      '--listen-peer-urls',
      peerUrl,
      '--initial-advertise-peer-urls',
      peerUrl,
      '--initial-cluster',
      `bench=${peerUrl}`,
      '--log-level',
      'error',
    ]);
    for (let i = 0; ; i++) {
      if (
        await fetch(`${url}/health`)
          .then((r) => r.ok)
          .catch(() => false)
      )
        break;
      if (i > 100) throw new Error(`etcd did not start: ${server.stderr().slice(-1000)}`);
      await sleep(100);
    }
    const key = Buffer.from('bench/counter').toString('base64');
    await using watcher = startTsChild(childScript, ['etcd', url, 'bench/counter']);
    await watcher.ready();
    const change = async (value: number) => {
      const response = await fetch(`${url}/v3/kv/put`, {
        method: 'POST',
        body: JSON.stringify({ key, value: Buffer.from(JSON.stringify(value)).toString('base64') }),
      });
      await response.arrayBuffer();
    };
    await paced(watcher, 20, 20, 1_000_000, change);
    return new Map<string, LatencySummary | string>([
      ['~1 change/s', await paced(watcher, 1, slowCount, 1, change)],
      ['~100 changes/s', await paced(watcher, 100, fastCount, 10_000, change)],
    ]);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
};

const unleashServerScript = `import { start } from 'unleash-server';
const [port, database] = process.argv.slice(2);
const quiet = () => {};
const server = await start({
  db: { host: '127.0.0.1', port: 5432, user: 'postgres', password: '', database, ssl: false },
  server: { port: Number(port), host: '127.0.0.1' },
  authentication: { type: 'none' },
  getLogger: () => ({ debug: quiet, info: quiet, warn: quiet, error: quiet, fatal: (...a) => console.error(...a) }),
});
process.stdout.write('ready\\n');
process.stdin.on('end', () => server.stop().then(() => process.exit(0)));
process.stdin.resume();
`;

const unleash = async (): Promise<Results | string> => {
  const peerDir = path.join(here, '.peers/unleash');
  if (!existsSync(path.join(peerDir, 'node_modules/unleash-server/package.json')))
    return 'unleash-server not installed (test/bench/peers.sh installs it with npm)';
  writeFileSync(path.join(peerDir, 'server.mjs'), unleashServerScript);
  await using db = await scratchDatabase('unleash', { migrated: false });
  const port = 24_242 + Math.floor(Math.random() * 500);
  const base = `http://127.0.0.1:${port}`;
  await using server = startChild(process.execPath, [path.join(peerDir, 'server.mjs'), String(port), db.name]);
  await server.ready(120_000);
  const admin = (p: string, body?: unknown) =>
    fetch(`${base}/api/admin/projects/default/features${p}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }).then(async (r) => {
      if (!r.ok) throw new Error(`Unleash ${p}: ${r.status} ${await r.text()}`);
    });
  await admin('', { name: 'bench_flag' });
  await admin('/bench_flag/environments/development/strategies', {
    name: 'flexibleRollout',
    parameters: { rollout: '100', stickiness: 'default', groupId: 'bench_flag' },
  });
  await using client = startTsChild(childScript, ['unleash', `${base}/api/`, 'bench_flag']);
  await client.ready();
  // Each toggle flips the flag; the child prints each flip it sees. Latency: from the toggle that
  // produced the state it saw (the last one issued before it saw it).
  const toggles: { enabled: boolean; at: number }[] = [];
  let enabled = false;
  for (let i = 0; i < slowCount; i++) {
    enabled = !enabled;
    toggles.push({ enabled, at: now() });
    await admin(`/bench_flag/environments/development/${enabled ? 'on' : 'off'}`);
    await sleep(Math.max(0, toggles.at(-1)!.at + 1_000 - now()));
  }
  await sleep(3_000);
  const latencies = client.lines.flatMap((line) => {
    const cause = toggles.filter((t) => t.at <= (line.at as number)).at(-1);
    return cause && cause.enabled === line.value ? [((line.at as number) - cause.at) * 1e6] : [];
  });
  return new Map<string, LatencySummary | string>([
    ['~1 change/s', summarize(latencies)],
    ['~100 changes/s', 'skipped: polling every 1 s collapses 100 changes/s into one state'],
  ]);
};

const settle = async <T>(what: string, run: () => Promise<T>): Promise<T | string> => {
  try {
    return await run();
  } catch (error) {
    process.stdout.write(`  ${what} failed: ${(error as Error).message}\n`);
    return `failed: ${(error as Error).message.split('\n')[0]}`;
  }
};

export const propagationBench = async (): Promise<void> => {
  const ours = await strata();
  const peers: [string, Results | string][] = [
    ['etcd watch (floor)', await settle('etcd', etcd)],
    ['Unleash, 1 s polling', await settle('unleash', unleash)],
  ];
  for (const rate of ['~1 change/s', '~100 changes/s']) {
    const mine = ours.get(rate) as LatencySummary;
    for (const [peerName, results] of peers) {
      const theirs = typeof results === 'string' ? results : results.get(rate)!;
      for (const [label, q] of [
        ['p50', 'p50'],
        ['p99', 'p99'],
        ['p99.9', 'p999'],
      ] as const) {
        record({
          benchmark: 'propagation',
          metric: `${rate}: ${label} (n=${mine.count})`,
          ours: formatNs(mine[q]),
          peer: typeof theirs === 'string' ? '—' : `${formatNs(theirs[q])} (n=${theirs.count})`,
          peerName: typeof theirs === 'string' ? `${peerName}: ${theirs}`.slice(0, 60) : peerName,
          ratio: typeof theirs === 'string' ? null : theirs[q] / mine[q],
          ...(q === 'p50' ? { target: '≤ 15 ms' } : q === 'p99' ? { target: '≤ 50 ms' } : {}),
        });
      }
    }
  }
};
