import { describe, expect, it } from 'vitest';
import {
  appendEvents,
  checkPerKeyOrder,
  freePort,
  readTopic,
  relayFixture,
  spawnRelay,
  waitFor,
} from './test-support.js';

describe('two relays', () => {
  it('only one publishes; when the leader is killed the standby takes over within seconds', async () => {
    await using fixture = await relayFixture({ partitions: 6 });
    const { log, kafka, env } = fixture;
    await using a = spawnRelay({ ...env, RELAY_METRICS_PORT: String(await freePort()) });
    await using b = spawnRelay({ ...env, RELAY_METRICS_PORT: String(await freePort()) });
    await Promise.all([a.waitForLog('relay started'), b.waitForLog('relay started')]);
    const leaderOf = async () => {
      const [ma, mb] = await Promise.all([a.metrics(), b.metrics()]);
      return { a: ma.strata_relay_is_leader, b: mb.strata_relay_is_leader, ma, mb };
    };
    await waitFor(async () => {
      const { a: la, b: lb } = await leaderOf();
      return la! + lb! === 1;
    }, 'one leader');

    await appendEvents(log, { count: 1000 });
    await waitFor(async () => (await fixture.checkpoint()) === 1000, 'first 1,000 published');
    // Over several seconds the standby never leads and never publishes.
    for (let i = 0; i < 5; i++) {
      const state = await leaderOf();
      expect(state.a! + state.b!).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 400));
    }
    const { a: aLeads, ma, mb } = await leaderOf();
    const [leader, standby] = aLeads === 1 ? [a, b] : [b, a];
    const [leaderMetrics, standbyMetrics] = aLeads === 1 ? [ma, mb] : [mb, ma];
    expect(leaderMetrics.strata_relay_published_events_total).toBe(1000);
    expect(standbyMetrics.strata_relay_published_events_total).toBe(0);
    expect(standby.lines.map((l) => l.msg)).not.toContain('leadership acquired');

    leader.crash();
    const killedAt = Date.now();
    await waitFor(async () => (await standby.metrics()).strata_relay_is_leader === 1, 'standby to lead', 10_000, 20);
    const takeoverMs = Date.now() - killedAt;
    expect(takeoverMs).toBeLessThan(5_000);
    console.info(`relay takeover after kill -9: ${takeoverMs} ms`);

    await appendEvents(log, { count: 1000, offset: 100 });
    await waitFor(async () => (await fixture.checkpoint()) === 2000, 'next 1,000 published by the new leader');
    const after = await standby.metrics();
    expect(after.strata_relay_published_events_total).toBe(1000);
    expect(after.strata_relay_lag_positions).toBe(0);

    const delivered = await readTopic(kafka, (d) => new Set(d.map((x) => x.event.position)).size === 2000);
    expect(checkPerKeyOrder(delivered).duplicates).toBe(0);

    standby.terminate();
    expect(await standby.exited).toBe(0);
  }, 180_000);
});
