/**
 * Projection rebuild: `RedisViewStore.rebuild` reads the whole PostgreSQL log (BENCH_REBUILD_EVENTS,
 * default 1,000,000) into a fresh Redis generation under a throwaway prefix.
 */
import { Redis } from 'ioredis';
import { createPool, PostgresEventLog } from '@strata/postgres-log';
import { RedisViewStore } from '@strata/redis-views';
import { rebuildEvents, sharedFilledLog } from './lib/filled-log.js';
import { record } from './lib/report.js';
import { deleteRedisPrefix, redisUrl, runId } from './lib/scratch.js';
import { formatRate } from './lib/stats.js';

export const rebuildBench = async (): Promise<void> => {
  const db = await sharedFilledLog.get();
  const prefix = `bench:rebuild:${runId()}:`;
  const pool = createPool(db.url, { max: 4, onError: () => {} });
  const redis = new Redis(redisUrl);
  try {
    const store = new RedisViewStore({ redis, prefix });
    const t0 = performance.now();
    const result = await store.rebuild({ eventLog: new PostgresEventLog(pool), dropDelayMs: 0 });
    const seconds = (performance.now() - t0) / 1000;
    if (result.events !== rebuildEvents) throw new Error(`rebuild applied ${result.events} of ${rebuildEvents} events`);
    record({
      benchmark: 'rebuild',
      metric: `${rebuildEvents.toLocaleString()} events → Redis views (${seconds.toFixed(1)} s)`,
      ours: formatRate(result.events / seconds),
      peer: '—',
      peerName: 'Emmett consumer: skipped',
      ratio: null,
      target: '≥ 40 k/s',
    });
    process.stdout.write(
      '  (Emmett consumer catch-up skipped: not built in this round — it needs its emt_messages table filled to the same 1 M events)\n',
    );
  } finally {
    redis.disconnect();
    await pool.end();
    await deleteRedisPrefix(prefix);
  }
};
