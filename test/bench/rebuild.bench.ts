/**
 * Projection rebuild: `RedisViewStore.rebuild` reads the whole PostgreSQL log (BENCH_REBUILD_EVENTS,
 * default 1,000,000) into a fresh Redis generation under a throwaway prefix, beside Emmett's
 * PostgreSQL consumer catching up on as many events of the same shape into Redis.
 */
import { Redis } from 'ioredis';
import { createPool, PostgresEventLog } from '@strata/postgres-log';
import { RedisViewStore } from '@strata/redis-views';
import { rebuildEvents, sharedFilledLog } from './lib/filled-log.js';
import { emmettCatchUp } from './lib/emmett-catch-up.js';
import { record } from './lib/report.js';
import { deleteRedisPrefix, redisUrl, runId } from './lib/scratch.js';
import { formatRate } from './lib/stats.js';

/**
 * Emmett's consumer stores its checkpoint after every message (~1 k events/s here), so it runs on
 * a smaller log of the same shape (BENCH_EMMETT_EVENTS, default 20,000) and the rates are compared.
 */
const emmettEvents = Math.min(rebuildEvents, Number(process.env.BENCH_EMMETT_EVENTS ?? 20_000));

export const rebuildBench = async (): Promise<void> => {
  const db = await sharedFilledLog.get();
  const prefix = `bench:rebuild:${runId()}:`;
  const pool = createPool(db.url, { max: 4, onError: () => {} });
  const redis = new Redis(redisUrl);
  try {
    const peer = await emmettCatchUp(emmettEvents);
    const store = new RedisViewStore({ redis, prefix });
    const t0 = performance.now();
    const result = await store.rebuild({ eventLog: new PostgresEventLog(pool), dropDelayMs: 0 });
    const seconds = (performance.now() - t0) / 1000;
    if (result.events !== rebuildEvents) throw new Error(`rebuild applied ${result.events} of ${rebuildEvents} events`);
    record({
      benchmark: 'rebuild',
      metric: `${rebuildEvents.toLocaleString()} events → Redis views (${seconds.toFixed(1)} s)`,
      ours: formatRate(result.events / seconds),
      peer: `${formatRate(peer.events / peer.seconds)} (n=${peer.events.toLocaleString()})`,
      peerName: 'Emmett consumer → Redis',
      ratio: result.events / seconds / (peer.events / peer.seconds),
      target: '≥ 100 k/s',
    });
  } finally {
    redis.disconnect();
    await pool.end();
    await deleteRedisPrefix(prefix);
  }
};
