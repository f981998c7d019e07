/**
 * Point-in-time read through the API's past path (`GET …/tenants/{t}/config?position=n`, injected,
 * no network) on a namespace with BENCH_REBUILD_EVENTS (1 M) events of history. Cold: no snapshot
 * yet, the whole history up to n is folded (and the API saves its snapshots in the background).
 * Warm: random positions within the 5,000 events after n, as the API's snapshot policy leaves them,
 * measured twice: right after the cold read (while its snapshots are still being saved, competing
 * for the pool and the database), and in steady state, once the saves are done.
 */
import { Redis } from 'ioredis';
import { apiAdapters, buildApi } from '@strata/api';
import { Keyring, PostgresKeyStore, SecretCipher } from '@strata/crypto';
import pg from 'pg';
import { createPool } from '@strata/postgres-log';
import { rebuildEvents, sharedFilledLog } from './lib/filled-log.js';
import { record } from './lib/report.js';
import { redisUrl, runId, sleep } from './lib/scratch.js';
import { formatNs, summarize } from './lib/stats.js';

const warmReads = 100;

/** Waits until the count of saved snapshots stops growing (the API's background saves are done). */
const snapshotsSettled = async (url: string): Promise<void> => {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const count = async () => Number((await client.query('SELECT count(*) FROM strata.snapshots')).rows[0].count);
    let last = await count();
    for (let stable = 0, waited = 0; stable < 3 && waited < 60_000; waited += 250) {
      await sleep(250);
      const now = await count();
      stable = now === last ? stable + 1 : 0;
      last = now;
    }
  } finally {
    await client.end();
  }
};

export const pitBench = async (): Promise<void> => {
  const db = await sharedFilledLog.get();
  const pool = createPool(db.url, { max: 8, onError: () => {} });
  const redis = new Redis(redisUrl, { lazyConnect: true });
  const adminToken = `bench-${runId()}-admin-token-long-enough`;
  const api = await buildApi({
    // The views are unused: past reads come from the log.
    ...apiAdapters({ pool, redis, prefix: `bench:pit:${runId()}:` }),
    cipher: new SecretCipher(
      new PostgresKeyStore(pool, Keyring.parse(`bench:${Buffer.alloc(32, 7).toString('base64')}`)),
    ),
    adminToken,
    logger: false,
    limits: { ratePerSecond: 1e9, rateBurst: 1e9 },
  });
  const read = async (position: number): Promise<number> => {
    const t0 = process.hrtime.bigint();
    const response = await api.inject({
      method: 'GET',
      url: `/v1/namespaces/bench/envs/env1/tenants/t7/config?position=${position}`,
      headers: { authorization: `Bearer ${adminToken}` },
    });
    const ns = Number(process.hrtime.bigint() - t0);
    if (response.statusCode !== 200)
      throw new Error(`point-in-time read answered ${response.statusCode}: ${response.body.slice(0, 300)}`);
    return ns;
  };
  try {
    const base = rebuildEvents - 5_000;
    const cold = await read(base);
    const warmRound = async () => {
      const samples: number[] = [];
      for (let i = 0; i < warmReads; i++) samples.push(await read(base + 1 + Math.floor(Math.random() * 4_999)));
      return summarize(samples);
    };
    const busy = await warmRound();
    await snapshotsSettled(db.url);
    const warm = await warmRound();
    record({
      benchmark: 'pit',
      metric: `cold: fold ${base.toLocaleString()} events, no snapshot`,
      ours: formatNs(cold),
      peer: '—',
      peerName: 'no peer',
      ratio: null,
    });
    record({
      benchmark: 'pit',
      metric: `right after cold, saves running: p50 / p99 (n=${busy.count})`,
      ours: `${formatNs(busy.p50)} / ${formatNs(busy.p99)}`,
      peer: '—',
      peerName: 'no peer',
      ratio: null,
    });
    record({
      benchmark: 'pit',
      metric: `warm p50 (snapshot + ≤ 5,000 events, saves done)`,
      ours: formatNs(warm.p50),
      peer: '—',
      peerName: 'no peer',
      ratio: null,
      target: '≤ 20 ms',
    });
    record({
      benchmark: 'pit',
      metric: `warm p99 (n=${warm.count})`,
      ours: formatNs(warm.p99),
      peer: '—',
      peerName: 'no peer',
      ratio: null,
      target: '≤ 20 ms',
    });
  } finally {
    await api.close();
    await pool.end();
    redis.disconnect();
  }
};
