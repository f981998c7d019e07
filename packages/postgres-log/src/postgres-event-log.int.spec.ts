import { testEventLog, configValueSet } from '@strata/core/testing';
import { createTestDatabase, createTestPools, type TestPools } from '@strata/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { warmPool } from './create-pool.js';
import { verifyChain } from './hash-chain.js';
import { PostgresEventLog } from './postgres-event-log.js';

testEventLog('PostgresEventLog', async (clock) => {
  const db = await createTestDatabase();
  const pool = new pg.Pool({ connectionString: db.appUrl, max: 34 });
  return {
    log: new PostgresEventLog(pool, { clock }),
    // Separate instances: separate connections and transactions, no in-process combining.
    another: () => new PostgresEventLog(pool, { clock }),
    async [Symbol.asyncDispose]() {
      await pool.end();
      await db[Symbol.asyncDispose]();
    },
  };
});

/** What only the PostgreSQL log does: ULIDs, group commit, the hash chain behind the trigger. */
describe('PostgresEventLog', () => {
  let pools: TestPools;
  let pool: pg.Pool;
  let owner: pg.Pool;
  let log: PostgresEventLog;
  const clock = { now: () => new Date('2025-03-01T10:00:00.000Z') };

  beforeAll(async () => {
    pools = await createTestPools();
    ({ app: pool, owner } = pools);
    log = new PostgresEventLog(pool, { clock });
    await log.append(
      'env:shop/prod',
      Array.from({ length: 6 }, (_, i) => configValueSet('a.b', i)),
    );
  });

  afterAll(async () => pools?.[Symbol.asyncDispose]());

  it('identifies events by ULID', async () => {
    const events = await log.readStream('env:shop/prod');
    expect(events.map((e) => e.eventId).every((id) => /^[0-9A-HJKMNP-TV-Z]{26}$/.test(id))).toBe(true);
  });

  it('keeps the issued order of appends to one stream while two group commits are in flight', async () => {
    // 20 × 50 events issued in one tick: enough for the queue to be split over both lanes.
    const shared = new PostgresEventLog(pool, { clock });
    const headBefore = await shared.headPosition();
    const events = (i: number) =>
      Array.from({ length: 50 }, (_, j) => configValueSet(`k.${j}`, i, { namespace: 'lanes' }));
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        i % 2 === 0
          ? shared.append('env:lanes/one', events(i), { expectedVersion: (i / 2) * 50 })
          : shared.append(`env:lanes/other-${i}`, events(i), { expectedVersion: 'no_stream' }),
      ),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    const one = await shared.readStream('env:lanes/one');
    expect(one.map((e) => e.streamVersion)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    expect(one.map((e) => e.data)).toEqual(
      Array.from({ length: 10 }, (_, i) => events(i * 2).map((e) => e.data)).flat(),
    );
    expect(await shared.headPosition()).toBe(headBefore + 1000);
    expect(await verifyChain(pool)).toMatchObject({ ok: true });
  });

  it('hashes in the database exactly what verifyChain recomputes, whatever the text holds', async () => {
    // The function quotes stream ids and types itself and parses the stored jsonb from the canonical text.
    const awkward = 'q"b\\s/\u0001\b\t\n\u001e\u007f é \u2028 😀';
    const results = await Promise.all([
      log.append(`env:odd/${awkward}`, [
        configValueSet('k.a', { [awkward]: [awkward, 1e21, -0, 0.1, null, { z: true, a: false }] }),
        configValueSet('k.b', awkward, { actor: awkward }),
      ]),
      log.appendAll([
        { streamId: `env:odd/all-${awkward}`, events: [configValueSet('k.c', awkward)], expectedVersion: 'no_stream' },
      ]),
    ]);
    expect(results.every((r) => r.ok)).toBe(true);
    const stored = await log.readStream(`env:odd/${awkward}`);
    expect(stored.map((e) => [e.streamId, e.metadata.actor])).toEqual([
      [`env:odd/${awkward}`, 'admin'],
      [`env:odd/${awkward}`, awkward],
    ]);
    expect(stored[0]!.data).toMatchObject({
      value: { [awkward]: [awkward, 1e21, 0, 0.1, null, { z: true, a: false }] },
    });
    expect(await verifyChain(pool)).toMatchObject({ ok: true });
  });

  it('fails only the append the database rejects when appends share a transaction', async () => {
    const [existing] = await log.readStream('env:shop/prod');
    let calls = 0;
    // Calls 1-3: the combined batch (2 collides); 4-6: each append alone (5 collides again).
    const ids = {
      next: () =>
        ++calls === 2 || calls === 5
          ? existing!.eventId
          : `01J${String(calls).padStart(23, '0')}${Date.now()}`.slice(0, 26),
    };
    const shared = new PostgresEventLog(pool, { clock, ids });
    const results = await Promise.allSettled([
      shared.append('env:batch/one', [configValueSet('a.b', 1, { namespace: 'batch' })]),
      shared.append('env:batch/two', [configValueSet('a.b', 2, { namespace: 'batch' })]),
      shared.append('env:batch/three', [configValueSet('a.b', 3, { namespace: 'batch' })]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(results[1]).toMatchObject({ reason: { code: 'INTERNAL' } });
    expect(calls).toBe(6);
    expect(await log.streamVersion('env:batch/two')).toBe(0);
    expect(await log.streamVersion('env:batch/three')).toBe(1);
  });

  it('verifies the hash chain, and names the position an owner tampered with behind the trigger', async () => {
    const head = await log.headPosition();
    expect(await verifyChain(pool)).toEqual({ ok: true, checked: head, head });
    expect(await verifyChain(pool, { from: 3, to: 5 })).toEqual({ ok: true, checked: 3, head });

    const client = await owner.connect();
    try {
      await client.query('BEGIN');
      await client.query('ALTER TABLE strata.events DISABLE TRIGGER USER');
      await client.query(`UPDATE strata.events SET data = jsonb_set(data, '{value}', '999') WHERE position = 4`);
      await client.query('ALTER TABLE strata.events ENABLE TRIGGER USER');
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    expect(await verifyChain(pool)).toEqual({ ok: false, firstBadPosition: 4, checked: 3 });
    expect(await verifyChain(pool, { from: 5 })).toMatchObject({ ok: true });

    await owner.query(`
      BEGIN;
      SET LOCAL session_replication_role = replica;
      DELETE FROM strata.events WHERE position = (SELECT max(position) FROM strata.events);
      COMMIT;`);
    expect(await verifyChain(pool, { from: 5 })).toMatchObject({ ok: false, firstBadPosition: head });
  });

  it('runs its hot reads as named statements that settle on one generic plan per connection', async () => {
    // One connection, so every call lands on the session whose prepared statements are inspected.
    const single = new pg.Pool({ connectionString: pools.db.appUrl, max: 1 });
    try {
      const reader = new PostgresEventLog(single, { clock });
      for (let i = 0; i < 12; i++) {
        await reader.readStreams([
          { streamId: 'manifest:shop', fromVersion: 1 },
          { streamId: 'env:shop/prod', fromVersion: 1 + (i % 6) },
        ]);
        await reader.readStreams([
          { streamId: 'manifest:shop', fromVersion: 1 },
          { streamId: 'env:shop/prod', fromVersion: 3 },
          { streamId: `tenant:shop/prod/t${i}`, fromVersion: 1 },
        ]);
        await reader.readAll(i, 100);
        await reader.readStream('env:shop/prod', 1 + (i % 6));
      }
      // The answers are the ones the contract suite checks; here, how PostgreSQL ran them.
      expect(
        (await reader.readStreams([{ streamId: 'env:shop/prod', fromVersion: 5 }]))[0]!.map((e) => e.streamVersion),
      ).toEqual([5, 6]);
      const { rows } = await single.query<{ name: string; generic_plans: string; custom_plans: string }>(
        "SELECT name, generic_plans, custom_plans FROM pg_prepared_statements WHERE name LIKE 'strata_%' ORDER BY name",
      );
      const plans = Object.fromEntries(
        rows.map((r) => [r.name, { generic: Number(r.generic_plans), custom: Number(r.custom_plans) }]),
      );
      for (const name of ['strata_read_streams_2', 'strata_read_streams_3', 'strata_read_all', 'strata_read_stream']) {
        expect(plans[name], name).toBeDefined();
        // PostgreSQL plans the first five calls for their values, then keeps the generic plan.
        expect(plans[name]!.custom, name).toBeLessThanOrEqual(5);
        expect(plans[name]!.generic, name).toBeGreaterThanOrEqual(7);
      }
    } finally {
      await single.end();
    }
  });

  it('warms the connections a pool keeps before it serves, appending nothing', async () => {
    const fixed = new pg.Pool({ connectionString: pools.db.appUrl, max: 5, min: 3 });
    try {
      const headBefore = await log.headPosition();
      const countEvents = async () =>
        (await owner.query('SELECT count(*)::int AS n FROM strata.events')).rows[0].n as number;
      const eventsBefore = await countEvents();
      expect(await warmPool(fixed, (client) => log.prepareConnection(client))).toBeNull();
      expect({ total: fixed.totalCount, idle: fixed.idleCount }).toEqual({ total: 3, idle: 3 });
      // Holding all three at once: each is one of the warmed connections, and has what a write uses ready.
      const clients = await Promise.all([fixed.connect(), fixed.connect(), fixed.connect()]);
      try {
        for (const client of clients) {
          const { rows } = await client.query<{ name: string }>(
            "SELECT name FROM pg_prepared_statements WHERE name LIKE 'strata_%' ORDER BY name",
          );
          expect(rows.map((r) => r.name)).toEqual([
            'strata_append_batch',
            'strata_head_position',
            'strata_idempotent_result',
            'strata_read_stream',
            'strata_read_streams_1',
            'strata_read_streams_2',
            'strata_read_streams_3',
            'strata_stream_version',
          ]);
        }
      } finally {
        for (const client of clients) client.release();
      }
      expect(fixed.totalCount).toBe(3);
      expect(await log.headPosition()).toBe(headBefore);
      expect(await countEvents()).toBe(eventsBefore);
    } finally {
      await fixed.end();
    }
  });

  it('reports a connection it could not warm and leaves the pool whole', async () => {
    const fixed = new pg.Pool({ connectionString: pools.db.appUrl, max: 4, min: 3 });
    try {
      let calls = 0;
      const failure = await warmPool(fixed, async (client) => {
        if (++calls === 2) throw new Error('prepare failed');
        await log.prepareConnection(client);
      });
      expect(failure?.message).toBe('prepare failed');
      // The failed connection was dropped, not returned half-prepared; the others are idle and reusable.
      expect({ total: fixed.totalCount, idle: fixed.idleCount, waiting: fixed.waitingCount }).toEqual({
        total: 2,
        idle: 2,
        waiting: 0,
      });
      const clients = await Promise.all([fixed.connect(), fixed.connect(), fixed.connect()]);
      for (const client of clients) client.release();
    } finally {
      await fixed.end();
    }
  });
});
