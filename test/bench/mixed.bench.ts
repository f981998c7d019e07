/**
 * Sustained mixed load for BENCH_MIXED_SECONDS (default 60) on loopback: the whole stack (API,
 * relay, projector as separate processes, as `npm start` runs them) takes BENCH_MIXED_WRITES
 * (default 500) writes/s through the HTTP API while an SDK client in another process resolves
 * BENCH_MIXED_READS (default 20,000) values/s from its view. Reports change → visible p99 (from the
 * write's HTTP call to the SDK's onChange, one clock) split into the write's answer and answer →
 * visible, errors of either side, and every process's RSS at the start, after the warm-up and at
 * the end of the load. The same load runs BENCH_MIXED_WARMUP_S (default 5) first: a freshly started
 * API (JIT, connection pool, every tenant's streams read once) is reported on its own row, not
 * mixed into the sustained figures. No peer: the targets are absolute.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Pool } from 'undici';
import { startTsChild, type Child } from './lib/processes.js';
import { record } from './lib/report.js';
import { redisUrl, runId, scratchServices, sleep } from './lib/scratch.js';
import { summarize } from './lib/stats.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const seconds = Number(process.env.BENCH_MIXED_SECONDS ?? 60);
const warmupSeconds = Number(process.env.BENCH_MIXED_WARMUP_S ?? 5);
const writesPerSecond = Number(process.env.BENCH_MIXED_WRITES ?? 500);
const readsPerSecond = Number(process.env.BENCH_MIXED_READS ?? 20_000);
const now = () => performance.timeOrigin + performance.now();

const rssOf = (pid: number | undefined): number => {
  const status = pid === undefined ? '' : readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
};
/** CPU seconds a process has used so far (user + system; Linux clock ticks of 1/100 s). */
const cpuSecondsOf = (pid: number | undefined): number => {
  const fields = pid === undefined ? [] : (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []);
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / 100;
};
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

export const mixedBench = async (): Promise<void> => {
  await using services = await scratchServices('mixed', { partitions: 3 });
  const { prefix } = services;
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const url = `http://127.0.0.1:${port}`;
  const token = `bench-${runId()}-admin-token-long-enough`;
  const metricsPorts = { relay: port + 1, projector: port + 2 };
  const env = {
    ...services.env,
    PORT: String(port),
    STRATA_ADMIN_TOKEN: token,
    RELAY_METRICS_PORT: String(metricsPorts.relay),
    PROJECTOR_METRICS_PORT: String(metricsPorts.projector),
  };
  await using api = startTsChild(path.join(root, 'services/api/src/main.ts'), [], env);
  // A bounded pool, as a real client has: fetch's default opens a socket per request while the API is
  // behind, and the API's RSS would then measure the bench's idle sockets rather than the API.
  const writers = new Pool(url, { connections: 64 });
  const call = async (method: string, pathname: string, body: unknown) => {
    // undici's request, not fetch: the load generator shares the machine and fetch costs it about
    // twice the CPU per call.
    const response = await writers.request({
      path: pathname,
      method: method as 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await response.body.text();
    if (response.statusCode >= 300)
      throw new Error(`${method} ${pathname}: ${response.statusCode} ${text.slice(0, 300)}`);
    return JSON.parse(text) as { position: number };
  };
  const deadline = Date.now() + 60_000;
  while (
    !(await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    ))
  ) {
    if (Date.now() > deadline) throw new Error(`API not ready: ${api.stderr().slice(-2000)}`);
    await sleep(200);
  }
  await using relay = startTsChild(path.join(root, 'services/relay/src/main.ts'), [], env);
  await using projector = startTsChild(path.join(root, 'services/projector/src/main.ts'), [], env);
  await call('PUT', '/v1/namespaces/bench/manifest', {
    keys: { 'bench.counter': { type: 'integer', default: 0 } },
    flags: {},
    secrets: {},
  });
  const seeded = await call('PUT', '/v1/namespaces/bench/envs/prod/config/bench.counter', {
    value: 0,
    reason: 'seed',
  });
  // The views hold the seed (the projector's first rebuild is done) before the SDK starts.
  for (const until = Date.now() + 60_000; ; await sleep(200)) {
    const read = await fetch(
      `${url}/v1/namespaces/bench/envs/prod/tenants/tenant-0/config?minPosition=${seeded.position}`,
      { headers: { authorization: `Bearer ${token}` } },
    ).then(
      // Without the header the answer came from the views, not from the API's fallback to the log.
      (r) => r.ok && !r.headers.has('strata-read-source'),
      () => false,
    );
    if (read) break;
    if (Date.now() > until)
      throw new Error(`views never reached ${seeded.position}: ${projector.stderr().slice(-1500)}`);
  }
  await using sdk: Child = startTsChild(path.join(here, 'mixed-child.ts'), [
    redisUrl,
    prefix,
    'bench',
    'prod',
    String(seeded.position),
    String(readsPerSecond),
  ]);
  await sdk.ready(90_000).catch((error: unknown) => {
    throw new Error(
      `${(error as Error).message}\nrelay: ${relay.stderr().slice(-1500)}\nprojector: ${projector.stderr().slice(-1500)}`,
    );
  });
  const processes = { api, relay, projector, sdk };
  const rssNow = () => Object.fromEntries(Object.entries(processes).map(([name, c]) => [name, rssOf(c.child.pid)]));
  const rssStart = rssNow();
  let rssWarm = rssStart;
  // Half-way through the measured load too: end ≈ half-way is a plateau, end ≫ half-way a climb.
  let rssHalf = rssStart;
  // CPU over the measured window, per process and for the PostgreSQL backends serving this bench's
  // database: on a shared machine latency says how busy the neighbours were, CPU per write says
  // what the pipeline costs.
  const database = new URL(services.databaseUrl).pathname.slice(1);
  const admin = new pg.Client({ connectionString: services.databaseUrl });
  await admin.connect();
  const cpuNow = async () => {
    const { rows } = await admin.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [database],
    );
    const backends = new Map(rows.map(({ pid }) => [pid, cpuSecondsOf(pid)]));
    return {
      processes: Object.fromEntries(Object.entries(processes).map(([name, c]) => [name, cpuSecondsOf(c.child.pid)])),
      backends,
    };
  };
  let cpuWarm = await cpuNow();
  // Live heap: V8 sizes its heap (and so RSS) to the allocation rate, so RSS alone cannot tell a
  // leak from a heap that grew once, and heap used between collections counts garbage too.
  // strata_heap_live_bytes (heap used right after the latest full collection) is sampled every
  // second from each service's /metrics (the SDK child prints the same figure).
  const metricsUrls = {
    api: `${url}/metrics`,
    relay: `http://127.0.0.1:${metricsPorts.relay}/metrics`,
    projector: `http://127.0.0.1:${metricsPorts.projector}/metrics`,
  };
  const heapSamples: { at: number; name: string; bytes: number }[] = [];
  const heapTimer = setInterval(() => {
    for (const [name, metricsUrl] of Object.entries(metricsUrls))
      void fetch(metricsUrl)
        .then((r) => r.text())
        .then((text) => {
          const bytes = Number(/^strata_heap_live_bytes (\S+)/m.exec(text)?.[1]);
          if (Number.isFinite(bytes) && bytes >= 0) heapSamples.push({ at: now(), name, bytes });
        })
        .catch(() => undefined);
  }, 1_000);

  // Writes paced at writesPerSecond, never waiting for one to finish before the next is due; the
  // first warmupSeconds of them are the warm-up.
  const warmupWrites = warmupSeconds * writesPerSecond;
  const total = warmupWrites + seconds * writesPerSecond;
  const issued: number[] = [];
  const answered: number[] = [];
  let writeErrors = 0;
  let firstError = '';
  const pending: Promise<void>[] = [];
  const start = now();
  let measuredFrom = start;
  for (let i = 1; i <= total; i++) {
    const wait = start + (i * 1000) / writesPerSecond - now();
    if (wait > 0) await sleep(wait);
    if (i === warmupWrites + 1) {
      rssWarm = rssNow();
      void cpuNow().then((cpu) => (cpuWarm = cpu));
      measuredFrom = now();
    }
    if (i === warmupWrites + Math.floor((total - warmupWrites) / 2)) rssHalf = rssNow();
    issued[i] = now();
    pending.push(
      // Spread over 200 tenants: one stream takes one append at a time (CommandRunner), as in production.
      call('PUT', `/v1/namespaces/bench/envs/prod/tenants/tenant-${i % 200}/config/bench.counter`, {
        value: i,
        reason: 'load',
      }).then(
        () => {
          answered[i] = now();
        },
        (error: unknown) => {
          if (i > warmupWrites) writeErrors++;
          firstError ||= String(error);
        },
      ),
    );
  }
  await Promise.all(pending);
  const writesDone = now();
  const cpuEnd = await cpuNow();
  await admin.end();
  const elapsed = (writesDone - measuredFrom) / 1000;
  await writers.close();
  const lastSeen = () => sdk.lines.some((l) => l.value === total);
  for (const until = now() + 10_000; !lastSeen() && now() < until;) await sleep(20);
  const rssEnd = rssNow();
  clearInterval(heapTimer);
  sdk.child.stdin!.end();
  for (const until = now() + 5_000; !sdk.lines.some((l) => 'reads' in l) && now() < until;) await sleep(20);
  const summary = sdk.lines.find((l) => 'reads' in l) as
    { reads: number; seconds: number; errors: number; rssStart: number; rssEnd: number } | undefined;
  // The SDK may skip a value a newer one superseded: a write is visible once any value ≥ it was seen.
  const seen = sdk.lines
    .filter((l): l is { value: number; at: number } => typeof l.value === 'number' && l.value >= 1)
    .sort((a, b) => a.at - b.at);
  const warm = { visible: [] as number[] };
  const sustained = { visible: [] as number[], answer: [] as number[], answerToVisible: [] as number[] };
  let cursor = 0;
  for (let value = 1; value <= total; value++) {
    while (cursor < seen.length && seen[cursor]!.value < value) cursor++;
    const visible = seen.slice(cursor).find((l) => l.value >= value);
    if (!visible) continue;
    const at = issued[value]!;
    if (value <= warmupWrites) {
      warm.visible.push((visible.at - at) * 1e6);
      continue;
    }
    sustained.visible.push((visible.at - at) * 1e6);
    const answeredAt = answered[value];
    if (answeredAt !== undefined) {
      sustained.answer.push((answeredAt - at) * 1e6);
      // The SDK may see a change before its HTTP answer arrives: then answer → visible is 0.
      sustained.answerToVisible.push(Math.max(0, visible.at - answeredAt) * 1e6);
    }
  }
  const unseen = total - warmupWrites - sustained.visible.length;
  if (firstError) console.log(`  first write error: ${firstError}`);
  const ms = (ns: number) => `${(ns / 1e6).toFixed(1)} ms`;
  const lat = summarize(sustained.visible);
  const answer = summarize(sustained.answer);
  const afterAnswer = summarize(sustained.answerToVisible);
  const rss = Object.keys(processes)
    .map(
      (name) =>
        `${name} ${mib(rssStart[name]!)} → ${mib(rssWarm[name]!)} → ${mib(rssHalf[name]!)} → ${mib(rssEnd[name]!)}`,
    )
    .join(', ');
  const load = `${writesPerSecond} writes/s (HTTP) + ${readsPerSecond.toLocaleString()} SDK reads/s`;
  record({
    benchmark: 'mixed',
    metric: `${load} for ${seconds} s after a ${warmupSeconds} s warm-up: change → visible p99 (n=${lat.count})`,
    ours: `${ms(lat.p99)} (p50 ${ms(lat.p50)})`,
    peer: '—',
    peerName: 'no peer',
    ratio: null,
    target: '≤ 50 ms',
  });
  record({
    benchmark: 'mixed',
    metric: 'the same changes: write answered p50 / p99; answered → visible p50 / p99',
    ours: `${ms(answer.p50)} / ${ms(answer.p99)}; ${ms(afterAnswer.p50)} / ${ms(afterAnswer.p99)}`,
    peer: '—',
    peerName: 'no peer',
    ratio: null,
  });
  if (warm.visible.length > 0) {
    const cold = summarize(warm.visible);
    // The first second alone: where a cold connection or an unwarmed code path shows.
    const firstSecond = summarize(
      answered
        .slice(1, writesPerSecond + 1)
        .flatMap((at, i) => (at === undefined ? [] : [(at - issued[i + 1]!) * 1e6])),
    );
    record({
      benchmark: 'mixed',
      metric: `the ${warmupSeconds} s warm-up (a freshly started API, same load): change → visible p99 (n=${cold.count}); its first second: write answered p50 / p99 (n=${firstSecond.count})`,
      ours: `${ms(cold.p99)} (p50 ${ms(cold.p50)}); ${ms(firstSecond.p50)} / ${ms(firstSecond.p99)}`,
      peer: '—',
      peerName: 'no peer',
      ratio: null,
    });
  }
  record({
    benchmark: 'mixed',
    metric: 'writes done / errors / never visible; SDK reads done / errors',
    ours: `${((total - warmupWrites) / elapsed).toFixed(0)}/s, ${writeErrors}, ${unseen}; ${summary ? `${(summary.reads / summary.seconds / 1000).toFixed(1)} k/s, ${summary.errors}` : 'no summary'}`,
    peer: '—',
    peerName: 'no peer',
    ratio: null,
    target: 'no error',
  });
  for (const line of sdk.lines)
    if (typeof line.heap === 'number' && line.heap >= 0 && typeof line.at === 'number')
      heapSamples.push({ at: line.at, name: 'sdk', bytes: line.heap });
  /** The live heap as of `at`: the figure of the latest full collection before it. */
  const liveHeapAt = (name: string, at: number) => {
    const latest = heapSamples.filter((h) => h.name === name && h.at <= at).at(-1);
    return latest === undefined ? 'no full GC yet' : mib(latest.bytes);
  };
  const heaps = Object.keys(processes)
    .map((name) => `${name} ${liveHeapAt(name, measuredFrom + 10_000)} → ${liveHeapAt(name, writesDone)}`)
    .join(', ');
  record({
    benchmark: 'mixed',
    metric: 'live heap (heap used after the latest full GC): 10 s after the warm-up → end of the load',
    ours: heaps,
    peer: '—',
    peerName: 'no peer',
    ratio: null,
    target: 'flat',
  });
  const writesMeasured = total - warmupWrites;
  const perWrite = (cpuSeconds: number) => `${((cpuSeconds * 1e6) / writesMeasured).toFixed(0)} µs`;
  // A backend that began in the window counts all it used; one that ended in it is left out (its /proc entry is gone).
  let postgresCpu = 0;
  for (const [pid, end] of cpuEnd.backends) postgresCpu += end - (cpuWarm.backends.get(pid) ?? 0);
  record({
    benchmark: 'mixed',
    metric: 'CPU per write over the measured window (the SDK: per 1,000 reads), by process',
    ours: [
      ...['api', 'relay', 'projector'].map(
        (name) => `${name} ${perWrite(cpuEnd.processes[name]! - cpuWarm.processes[name]!)}`,
      ),
      `postgres backends ${perWrite(postgresCpu)}`,
      `sdk ${(((cpuEnd.processes.sdk! - cpuWarm.processes.sdk!) * 1e6) / ((readsPerSecond * elapsed) / 1000)).toFixed(0)} µs`,
    ].join(', '),
    peer: '—',
    peerName: 'no peer',
    ratio: null,
  });
  record({
    benchmark: 'mixed',
    metric: 'RSS start → after warm-up → half-way → end',
    ours: rss,
    peer: '—',
    peerName: 'no peer',
    ratio: null,
    target: 'flat',
  });
};
