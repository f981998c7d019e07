/**
 * Change stream delivery: a write through the API until an open `GET …/changes` stream has it
 * (PostgreSQL NOTIFY → the API's log tail → SSE), beside the Redis notification path (the same
 * events applied to the views, as the projector does without Kafka in between, until the view's
 * change notification arrives). Target: p99 ≤ 100 ms. Knob: BENCH_CHANGES_WRITES (default 200).
 */
import { Redis } from 'ioredis';
import { apiAdapters, buildApi } from '@strata/api';
import { StrataApi, type Change } from '@strata/contracts';
import { Keyring, PostgresKeyStore, SecretCipher } from '@strata/crypto';
import { ChangeNotifications, createPool } from '@strata/postgres-log';
import { parseViewChanges } from '@strata/redis-views';
import { record } from './lib/report.js';
import { deleteRedisPrefix, redisUrl, runId, scratchDatabase } from './lib/scratch.js';
import { formatNs, summarize } from './lib/stats.js';

const writes = Number(process.env.BENCH_CHANGES_WRITES ?? 200);
const adminToken = `bench-${runId()}-admin-token-long-enough`;

export const changesBench = async (): Promise<void> => {
  await using db = await scratchDatabase('changes');
  const prefix = `bench:changes:${runId()}:`;
  const pool = createPool(db.url, { max: 10, onError: () => {} });
  const redis = new Redis(redisUrl);
  const subscriber = new Redis(redisUrl);
  const adapters = apiAdapters({ pool, redis, prefix });
  const { log, projections: store } = adapters;
  const notifications = new ChangeNotifications(pool);
  const api = await buildApi({
    ...adapters,
    cipher: new SecretCipher(
      new PostgresKeyStore(pool, Keyring.parse(`bench:${Buffer.alloc(32, 7).toString('base64')}`)),
    ),
    changes: notifications,
    adminToken,
    logger: false,
    limits: { ratePerSecond: 1e9, rateBurst: 1e9 },
  });
  await notifications.start();
  const stop = new AbortController();
  try {
    const url = await api.listen({ port: 0, host: '127.0.0.1' });
    const client = new StrataApi({ url, token: adminToken });
    const scope = { namespace: 'bench', env: 'prod' };
    await client.publishManifest('bench', {
      keys: { 'rate_limit.requests_per_minute': { type: 'integer', default: 60 } },
    });
    await store.rebuild({ eventLog: log, dropDelayMs: 0 });
    let cursor = await log.headPosition();

    /** When each position arrived on each path (a change may arrive before the write's answer does). */
    const streamed = new Map<number, bigint>();
    const notified = new Map<number, bigint>();
    const arrival = (seen: Map<number, bigint>, position: number) => seen.set(position, process.hrtime.bigint());
    const arrived = async (seen: Map<number, bigint>, position: number): Promise<bigint> => {
      // Polled, but the time is taken on arrival: the poll adds nothing to the measurement.
      for (const deadline = Date.now() + 5_000; Date.now() < deadline;) {
        const at = seen.get(position);
        if (at !== undefined) return at;
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      throw new Error(`position ${position} not delivered`);
    };
    const stream = (async () => {
      for await (const message of client.changes(scope, { signal: stop.signal }))
        if (message.event === 'change') arrival(streamed, (message.change as Change).position);
    })();
    await subscriber.subscribe(`${prefix}changes:{bench/prod}`);
    subscriber.on('message', (_channel: string, text: string) => {
      for (const change of parseViewChanges(text)) arrival(notified, change.position);
    });
    await new Promise((resolve) => setTimeout(resolve, 300));

    const streamNs: number[] = [];
    const redisNs: number[] = [];
    for (let i = 0; i < writes; i++) {
      const t0 = process.hrtime.bigint();
      const answer = await client.setValue(scope, 'rate_limit.requests_per_minute', 100 + i);
      // What the projector does with the new events (Kafka aside).
      const events = await log.readAll(cursor, 100);
      cursor = events.at(-1)?.position ?? cursor;
      await store.applyEvents(events);
      const [viaStream, viaRedis] = await Promise.all([
        arrived(streamed, answer.position),
        arrived(notified, answer.position),
      ]);
      streamNs.push(Number(viaStream - t0));
      redisNs.push(Number(viaRedis - t0));
    }
    const ours = summarize(streamNs);
    const peer = summarize(redisNs);
    record({
      benchmark: 'changes',
      metric: `change stream delivery p50 (${writes} writes)`,
      ours: formatNs(ours.p50),
      peer: formatNs(peer.p50),
      peerName: 'Redis view notification',
      ratio: peer.p50 / ours.p50,
    });
    record({
      benchmark: 'changes',
      metric: 'change stream delivery p99',
      ours: formatNs(ours.p99),
      peer: formatNs(peer.p99),
      peerName: 'Redis view notification',
      ratio: peer.p99 / ours.p99,
      target: '≤ 100 ms',
    });
    stop.abort();
    await stream;
  } finally {
    stop.abort();
    await api.close();
    await notifications.close();
    subscriber.disconnect();
    await deleteRedisPrefix(prefix);
    redis.disconnect();
    await pool.end();
  }
};
