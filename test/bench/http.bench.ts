/**
 * HTTP resolved read: autocannon against the Strata API's
 * `GET /v1/namespaces/{ns}/envs/{env}/tenants/{t}/config` (the real app over PostgreSQL and Redis
 * views, admin token, pino at the default LOG_LEVEL=info) against a bare Fastify route answering
 * the same body, with the same connections and duration, taking turns (BENCH_HTTP_ROUNDS, default 2). Both
 * servers listen in this process; autocannon runs in a worker thread so it does not share their
 * event loop. The API is wired as startApi wires it, with its connection for the views' change
 * announcements.
 */
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { apiAdapters, buildApi } from '@strata/api';
import { Keyring, PostgresKeyStore, SecretCipher } from '@strata/crypto';
import { createPool } from '@strata/postgres-log';
import { shopManifest } from '@strata/core/testing';
import { record } from './lib/report.js';
import { deleteRedisPrefix, redisUrl, runId, scratchDatabase, seedViews } from './lib/scratch.js';
import { formatRate } from './lib/stats.js';

const seconds = Number(process.env.BENCH_HTTP_SECONDS ?? 10);
/** Ours and the peer take turns this many times, so a neighbour's burst on a shared machine hits both alike. */
const rounds = Number(process.env.BENCH_HTTP_ROUNDS ?? 2);
const connections = 32;
const tenants = Array.from({ length: 200 }, (_, i) => `tenant-${String(i).padStart(3, '0')}`);
const adminToken = `bench-${runId()}-admin-token-long-enough`;

interface Load {
  rps: number;
  p99: number;
  /** CPU time of the servers' thread per answered request, in µs: what a busy neighbour cannot skew. */
  cpuUs: number;
}
const mean = (loads: Load[]): Load => ({
  rps: loads.reduce((sum, l) => sum + l.rps, 0) / loads.length,
  p99: loads.reduce((sum, l) => sum + l.p99, 0) / loads.length,
  cpuUs: loads.reduce((sum, l) => sum + l.cpuUs, 0) / loads.length,
});

const load = async (url: string): Promise<Load> => {
  // This thread's CPU only: autocannon's worker thread is not counted.
  const cpuBefore = process.threadCpuUsage();
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    workers: 1,
    headers: { authorization: `Bearer ${adminToken}` },
    requests: tenants.map((t) => ({ method: 'GET', path: `/v1/namespaces/bench/envs/prod/tenants/${t}/config` })),
  });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  const cpu = process.threadCpuUsage(cpuBefore);
  return {
    rps: result.requests.average,
    p99: result.latency.p99,
    cpuUs: (cpu.user + cpu.system) / Math.max(1, result.requests.total),
  };
};

export const httpBench = async (): Promise<void> => {
  await using db = await scratchDatabase('http');
  const prefix = `bench:http:${runId()}:`;
  const pool = createPool(db.url, { max: 20, onError: () => {} });
  const redis = new Redis(redisUrl);
  const announcements = redis.duplicate();
  const keyring = Keyring.parse(`bench:${Buffer.alloc(32, 7).toString('base64')}`);
  const api = await buildApi({
    ...apiAdapters({ pool, redis, prefix, announcements }), // as startApi wires them
    cipher: new SecretCipher(new PostgresKeyStore(pool, keyring)),
    adminToken,
    // The logger a deployment runs, at the default LOG_LEVEL, into a sink: its cost per request counts.
    logger: { level: 'info', stream: { write: () => {} } },
    limits: { ratePerSecond: 1e9, rateBurst: 1e9 },
  });
  const bare = Fastify({ logger: false });
  try {
    await seedViews(redis, prefix, (f) => [
      f.manifest(shopManifest),
      f.set('billing.api_url', 'https://billing.example.com'),
      f.set('rate_limit.requests_per_minute', 100),
      f.set('search.page_size', 50),
      ...tenants.filter((_, i) => i % 2 === 0).map((t, i) => f.set('rate_limit.requests_per_minute', 100 + i, t)),
    ]);
    const strataUrl = await api.listen({ port: 0, host: '127.0.0.1' });
    const sample = await fetch(`${strataUrl}/v1/namespaces/bench/envs/prod/tenants/tenant-000/config`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    if (!sample.ok) throw new Error(`Strata API answered ${sample.status}: ${await sample.text()}`);
    const body = (await sample.json()) as unknown;
    // The same headers as the API's answer (its ETag too), so both write the same bytes per response.
    const etag = sample.headers.get('etag') ?? '';
    bare.get('/v1/namespaces/:ns/envs/:env/tenants/:tenant/config', async (_request, reply) => {
      void reply.header('etag', etag);
      return body;
    });
    const bareUrl = await bare.listen({ port: 0, host: '127.0.0.1' });
    const peerSample = await fetch(`${bareUrl}/v1/namespaces/bench/envs/prod/tenants/tenant-000/config`);
    const headerNames = (response: Response) => [...response.headers.keys()].sort().join(', ');
    if (headerNames(peerSample) !== headerNames(sample) || (await peerSample.text()) !== JSON.stringify(body))
      throw new Error(`the peer answers differently: ${headerNames(peerSample)} / ours ${headerNames(sample)}`);

    await load(strataUrl); // warm up both (JIT, connection pools) before measuring
    await load(bareUrl);
    const runs = { ours: [] as Load[], peer: [] as Load[] };
    for (let round = 0; round < rounds; round++) {
      runs.ours.push(await load(strataUrl));
      runs.peer.push(await load(bareUrl));
    }
    const ours = mean(runs.ours);
    const peer = mean(runs.peer);
    console.log(
      `  rounds (ours / bare req/s, µs CPU per request): ${runs.ours.map((o, i) => `${formatRate(o.rps)} / ${formatRate(runs.peer[i]!.rps)}, ${o.cpuUs.toFixed(0)} / ${runs.peer[i]!.cpuUs.toFixed(0)}`).join('; ')}`,
    );
    record({
      benchmark: 'http',
      metric: `GET tenant config, ${connections} conns: req/s (mean of ${rounds} alternating rounds)`,
      ours: formatRate(ours.rps),
      peer: formatRate(peer.rps),
      peerName: 'bare Fastify, same body',
      ratio: ours.rps / peer.rps,
      target: '≥ 0.95× bare',
    });
    record({
      benchmark: 'http',
      metric: 'GET tenant config: server CPU per request',
      ours: `${ours.cpuUs.toFixed(0)} µs`,
      peer: `${peer.cpuUs.toFixed(0)} µs`,
      peerName: 'bare Fastify, same body',
      ratio: peer.cpuUs / Math.max(ours.cpuUs, 0.001),
    });
    record({
      benchmark: 'http',
      metric: `GET tenant config: p99`,
      ours: `${ours.p99.toFixed(1)} ms`,
      peer: `${peer.p99.toFixed(1)} ms`,
      peerName: 'bare Fastify, same body',
      ratio: peer.p99 / Math.max(ours.p99, 0.001),
    });
  } finally {
    await bare.close();
    await api.close();
    await pool.end();
    announcements.disconnect();
    redis.disconnect();
    await deleteRedisPrefix(prefix);
  }
};
