import { createTestPools, waitFor, type TestPools } from '@strata/testing';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChangeNotifications } from './change-notifications.js';

/** The real LISTEN connection, dropped under it by the server (what a PostgreSQL restart does to it). */
describe('ChangeNotifications', () => {
  let pools: TestPools;
  let pool: pg.Pool;
  let owner: pg.Pool;

  beforeAll(async () => {
    pools = await createTestPools();
    ({ app: pool, owner } = pools);
  });
  afterAll(async () => pools?.[Symbol.asyncDispose]());

  it('delivers notifications, reports the lost connection once, reports gaps, and listens again after reconnecting', async () => {
    const seen: string[] = [];
    const events: string[] = [];
    const changes = new ChangeNotifications(pool, {
      retryMs: { min: 50, max: 200 },
      onLost: () => events.push('lost'),
      onBack: () => events.push('back'),
    });
    changes.on('strata_test_changes', (payload) => seen.push(payload));
    changes.onGap(() => events.push('gap'));
    expect(changes.listening).toBe(false);
    await changes.start();
    try {
      expect(changes.listening).toBe(true);
      expect(events).toEqual(['gap']);
      const epoch = changes.epoch;
      await owner.query("SELECT pg_notify('strata_test_changes', 'tok_1')");
      await waitFor(() => seen.includes('tok_1'), 'the first notification', 5_000, 10);
      expect(changes.epoch).toBeGreaterThan(epoch);

      // The server ends the listening session; pg_notify from before the reconnect is lost for good.
      await owner.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'",
      );
      await waitFor(() => !changes.listening, 'the loss noticed', 5_000, 10);
      await waitFor(() => changes.listening, 'listening again', 10_000, 10);
      expect(events).toEqual(['gap', 'gap', 'lost', 'gap', 'back']);

      await owner.query("SELECT pg_notify('strata_test_changes', 'tok_2')");
      await waitFor(() => seen.includes('tok_2'), 'a notification after the reconnect', 5_000, 10);
    } finally {
      await changes.close();
    }
    expect(changes.listening).toBe(false);
  });
});
