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
/** Rebuilds of the same log, each into a fresh prefix; the median is reported (BENCH_REBUILD_REPEAT, default 1). */
const repeat = Math.max(1, Number(process.env.BENCH_REBUILD_REPEAT ?? 1));

export const rebuildBench = async (): Promise<void> => {
  const db = await sharedFilledLog.get();
  const pool = createPool(db.url, { max: 4, onError: () => {} });
  const redis = new Redis(redisUrl);
  const prefixes: string[] = [];
  try {
    const peer = await emmettCatchUp(emmettEvents);
    const runs: { rate: number; seconds: number }[] = [];
    for (let round = 0; round < repeat; round++) {
      const prefix = `bench:rebuild:${runId()}:`;
      prefixes.push(prefix);
      const store = new RedisViewStore({ redis, prefix });
      const t0 = performance.now();
      const result = await store.rebuild({ eventLog: new PostgresEventLog(pool), dropDelayMs: 0 });
      const seconds = (performance.now() - t0) / 1000;
      if (result.events !== rebuildEvents)
        throw new Error(`rebuild applied ${result.events} of ${rebuildEvents} events`);
      runs.push({ rate: result.events / seconds, seconds });
      if (repeat > 1) console.log(`  rebuild round ${round + 1}: ${formatRate(result.events / seconds)}`);
      await deleteRedisPrefix(prefix);
    }
    const { rate, seconds } = runs.sort((a, b) => a.rate - b.rate)[Math.floor(runs.length / 2)]!;
    record({
      benchmark: 'rebuild',
      metric: `${rebuildEvents.toLocaleString()} events → Redis views (${seconds.toFixed(1)} s${repeat > 1 ? `, median of ${repeat}` : ''})`,
      ours: formatRate(rate),
      peer: `${formatRate(peer.events / peer.seconds)} (n=${peer.events.toLocaleString()})`,
      peerName: 'Emmett consumer → Redis',
      ratio: rate / (peer.events / peer.seconds),
      target: '≥ 100 k/s',
    });
  } finally {
    redis.disconnect();
    await pool.end();
    for (const prefix of prefixes) await deleteRedisPrefix(prefix);
  }
};
