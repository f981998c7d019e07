import { createTestPools, type TestPools } from '@strata/testing';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresEventLog } from './postgres-event-log.js';
import { configValueSet } from '@strata/core/testing';

/** BRIEF invariant 1: the log is append-only, for the owner and for the application's role. */
describe('strata.events is append-only', () => {
  let pools: TestPools;
  let owner: pg.Pool;
  let app: pg.Pool;

  beforeAll(async () => {
    pools = await createTestPools({ appMax: 2 });
    ({ owner, app } = pools);
    const appended = await new PostgresEventLog(app).append('env:shop/prod', [
      configValueSet('a.b', 1),
      configValueSet('a.c', 2),
    ]);
    expect(appended).toMatchObject({ ok: true, positions: [1, 2] });
  });

  afterAll(async () => pools?.[Symbol.asyncDispose]());

  const tampering = [
    ['UPDATE', `UPDATE strata.events SET data = '{}' WHERE position = 1`],
    ['DELETE', 'DELETE FROM strata.events WHERE position = 1'],
    ['TRUNCATE', 'TRUNCATE strata.events'],
  ] as const;

  for (const [operation, sql] of tampering) {
    it(`refuses ${operation} from the owner (superuser) with the trigger`, async () => {
      await expect(owner.query(sql)).rejects.toThrow(/append-only/);
    });

    it(`refuses ${operation} from strata_app`, async () => {
      await expect(app.query(sql)).rejects.toThrow(/permission denied|append-only/);
    });
  }

  it('still holds every event afterwards', async () => {
    const { rows } = await owner.query<{ count: string }>('SELECT count(*) FROM strata.events');
    expect(Number(rows[0]?.count)).toBe(2);
  });

  it('strata_app is not a superuser and cannot disable the triggers', async () => {
    const { rows } = await app.query<{ rolsuper: boolean }>(
      'SELECT rolsuper FROM pg_roles WHERE rolname = current_user',
    );
    expect(rows[0]?.rolsuper).toBe(false);
    await expect(app.query('ALTER TABLE strata.events DISABLE TRIGGER USER')).rejects.toThrow(/must be owner/);
    await expect(app.query('SET session_replication_role = replica')).rejects.toThrow(/permission denied/);
  });
});
