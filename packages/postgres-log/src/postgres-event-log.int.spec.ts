import { isStrataError, type NewEvent } from '@strata/core';
import { createTestDatabase } from '@strata/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChain } from './hash-chain.js';
import { PostgresEventLog } from './postgres-event-log.js';
import { configValueSet } from './test-events.js';

describe('PostgresEventLog', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let pool: pg.Pool;
  let owner: pg.Pool;
  let log: PostgresEventLog;
  let now = new Date('2025-03-01T10:00:00.000Z');
  const clock = { now: () => now };

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.appUrl, max: 34 });
    owner = new pg.Pool({ connectionString: db.url, max: 2 });
    log = new PostgresEventLog(pool, { clock });
  });

  afterAll(async () => {
    await pool.end();
    await owner.end();
    await db[Symbol.asyncDispose]();
  });

  it('appends to a stream and reads it back, upcast-free, with positions as numbers', async () => {
    const result = await log.append('env:shop/prod', [configValueSet('a.b', 1), configValueSet('a.c', { x: [1] })], {
      expectedVersion: 'no_stream',
    });
    expect(result).toEqual({ ok: true, positions: [1, 2], streamVersion: 2, replayed: false });
    const events = await log.readStream('env:shop/prod');
    expect(events.map((e) => [e.position, e.streamVersion, e.type, e.data])).toEqual([
      [1, 1, 'ConfigValueSet', { namespace: 'shop', environment: 'prod', tenant: null, key: 'a.b', value: 1 }],
      [2, 2, 'ConfigValueSet', { namespace: 'shop', environment: 'prod', tenant: null, key: 'a.c', value: { x: [1] } }],
    ]);
    expect(events[0]).toMatchObject({ schemaVersion: 1, recordedAt: now.toISOString(), metadata: { actor: 'admin' } });
    expect(events[0]?.eventId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(await log.streamVersion('env:shop/prod')).toBe(2);
    expect(await log.streamVersion('env:nothing/here')).toBe(0);
    expect(await log.headPosition()).toBe(2);
    expect((await log.readStream('env:shop/prod', 2)).map((e) => e.position)).toEqual([2]);
  });

  it('lets exactly one of 32 concurrent writers with the same expected version win', async () => {
    const stream = 'env:race/prod';
    await log.append(stream, [configValueSet('a.b', 0, { namespace: 'race' })]);
    // Separate log instances: separate connections and transactions, no in-process combining.
    const writers = Array.from({ length: 32 }, (_, i) =>
      new PostgresEventLog(pool, { clock }).append(stream, [configValueSet('a.b', i + 1, { namespace: 'race' })], {
        expectedVersion: 1,
      }),
    );
    const results = await Promise.all(writers);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    const conflicts = results.filter((r) => !r.ok);
    expect(conflicts).toHaveLength(31);
    expect(conflicts[0]).toEqual({ ok: false, reason: 'version_conflict', currentVersion: 2, expectedVersion: 1 });
    expect(await log.streamVersion(stream)).toBe(2);
  });

  it('decides conflicts one by one when concurrent appends share a transaction', async () => {
    const stream = 'env:combined/prod';
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        log.append(stream, [configValueSet('a.b', i, { namespace: 'combined' })], { expectedVersion: 'no_stream' }),
      ),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok && r.currentVersion === 1)).toHaveLength(9);
  });

  it('answers a retried idempotency key with the original positions and appends nothing', async () => {
    const events = [configValueSet('retry.me', 1), configValueSet('retry.me', 2)];
    const first = await log.append('env:shop/staging', events, { idempotencyKey: 'cmd-1' });
    const head = await log.headPosition();
    const retried = await log.append('env:shop/staging', events, {
      idempotencyKey: 'cmd-1',
      expectedVersion: 'no_stream',
    });
    expect(first).toMatchObject({ ok: true, replayed: false });
    expect(retried).toEqual({ ...first, replayed: true });
    expect(await log.headPosition()).toBe(head);
    // The lookup a writer makes before deciding answers the same, and nothing for an unseen key.
    expect(await log.idempotentResult('cmd-1')).toEqual(
      first.ok ? { positions: first.positions, streamVersion: first.streamVersion } : null,
    );
    expect(await log.idempotentResult('cmd-never-used')).toBeNull();
    // Concurrent retries of one new key: one append, all see its positions.
    const racing = await Promise.all(
      Array.from({ length: 8 }, () =>
        new PostgresEventLog(pool, { clock }).append('env:shop/qa', [configValueSet('a.b', 1)], {
          idempotencyKey: 'cmd-2',
        }),
      ),
    );
    const positions = new Set(racing.map((r) => (r.ok ? r.positions.join() : 'conflict')));
    expect(positions.size).toBe(1);
    expect(racing.filter((r) => r.ok && !r.replayed)).toHaveLength(1);
    expect(await log.streamVersion('env:shop/qa')).toBe(1);
  });

  it('appends to several streams atomically: all land, a conflict on one rolls back all, a key replays', async () => {
    const a = 'tenant:multi/prod/a';
    const b = 'tenant:multi/prod/b';
    const event = (key: string, value: unknown) => configValueSet(key, value, { namespace: 'multi' });
    const head = await log.headPosition();
    const first = await log.appendAll(
      [
        { streamId: a, events: [event('x.y', 1), event('x.z', 2)], expectedVersion: 'no_stream' },
        { streamId: b, events: [event('x.y', 3)], expectedVersion: 0 },
      ],
      { idempotencyKey: 'multi-1' },
    );
    expect(first).toEqual({
      ok: true,
      positions: [head + 1, head + 2, head + 3],
      streamVersions: { [a]: 2, [b]: 1 },
      replayed: false,
    });
    const conflict = await log.appendAll([
      { streamId: a, events: [event('x.y', 9)], expectedVersion: 2 },
      { streamId: b, events: [event('x.y', 9)], expectedVersion: 0 },
    ]);
    expect(conflict).toMatchObject({ ok: false, streamId: b, currentVersion: 1 });
    expect(await log.streamVersion(a)).toBe(2);
    expect(await log.headPosition()).toBe(head + 3);
    const again = await log.appendAll(
      [
        { streamId: a, events: [event('x.y', 1)], expectedVersion: 2 },
        { streamId: b, events: [event('x.y', 3)], expectedVersion: 1 },
      ],
      { idempotencyKey: 'multi-1' },
    );
    expect(again).toEqual({ ok: true, positions: [head + 3], streamVersions: {}, replayed: true });
    // A multi-stream key answers the last stream's append, as the replay does.
    expect(await log.idempotentResult('multi-1')).toEqual({ positions: [head + 3], streamVersion: 1 });
    expect(await log.headPosition()).toBe(head + 3);
  });

  it('appends nothing when any event of the command is invalid', async () => {
    const head = await log.headPosition();
    const bad = {
      ...configValueSet('a.b', 1),
      data: { namespace: 'Not Valid!', environment: 'prod', tenant: null, key: 'a.b', value: 1 },
    } as NewEvent;
    const error = await log.append('env:shop/prod', [configValueSet('a.ok', 1), bad]).catch((e: unknown) => e);
    expect(isStrataError(error) && error.code).toBe('VALIDATION_FAILED');
    const unknownType = { type: 'NoSuchEvent', data: {}, metadata: { actor: 'a' } } as unknown as NewEvent;
    await expect(log.append('env:shop/prod', [unknownType])).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(log.append('env:shop/prod', [])).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(log.append('env:shop/prod', [configValueSet('a.b', 'nul\u0000')])).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    expect(await log.headPosition()).toBe(head);
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

  it('filters history through the extracted columns and finds positions by time', async () => {
    now = new Date('2025-03-02T10:00:00.000Z');
    await log.append('tenant:audit/prod/acme', [
      configValueSet('limits.max', 5, { namespace: 'audit', tenant: 'acme', actor: 'alice' }),
      configValueSet('limits.min', 1, { namespace: 'audit', tenant: 'acme', actor: 'bob' }),
    ]);
    now = new Date('2025-03-03T10:00:00.000Z');
    const flag: NewEvent = {
      type: 'FlagRolloutChanged',
      data: { namespace: 'audit', environment: 'prod', flag: 'new.checkout', rollout: 25, enabled: true },
      metadata: { actor: 'alice' },
    };
    const flagged = await log.append('env:audit/prod', [flag]);
    if (!flagged.ok) throw new Error('append failed');

    const keys = async (filter: Parameters<PostgresEventLog['history']>[0]) =>
      (await log.history(filter)).map(
        (e) => (e.data as { key?: string; flag?: string }).key ?? (e.data as { flag: string }).flag,
      );
    expect(await keys({ namespace: 'audit', environment: 'prod' })).toEqual([
      'limits.max',
      'limits.min',
      'new.checkout',
    ]);
    expect(await keys({ namespace: 'audit', tenant: 'acme', actor: 'bob' })).toEqual(['limits.min']);
    expect(await keys({ key: 'new.checkout' })).toEqual(['new.checkout']);
    expect(await keys({ namespace: 'audit', type: ['FlagRolloutChanged'] })).toEqual(['new.checkout']);
    expect(await keys({ namespace: 'audit', from: '2025-03-03T00:00:00Z' })).toEqual(['new.checkout']);
    expect(await keys({ namespace: 'audit', to: '2025-03-03T00:00:00Z', limit: 1 })).toEqual(['limits.max']);
    // Bounds on the exact recorded time: `from` includes it, `to` excludes it.
    expect(await keys({ namespace: 'audit', from: '2025-03-03T10:00:00.000Z' })).toEqual(['new.checkout']);
    expect(await keys({ namespace: 'audit', to: '2025-03-03T10:00:00.000Z' })).toEqual(['limits.max', 'limits.min']);
    expect(await keys({ namespace: 'audit', from: '2025-03-02T10:00:00Z', to: '2025-03-02T10:00:00.001Z' })).toEqual([
      'limits.max',
      'limits.min',
    ]);
    expect(
      await keys({ namespace: 'audit', after: flagged.positions[0]! - 2, upTo: flagged.positions[0]! - 1 }),
    ).toEqual(['limits.min']);

    expect(await log.positionAt('2025-03-02T12:00:00Z')).toBe(flagged.positions[0]! - 1);
    expect(await log.positionAt('2025-03-04T00:00:00Z')).toBe(flagged.positions[0]);
    expect(await log.positionAt('2020-01-01T00:00:00Z')).toBe(0);
    expect(await log.positionAt('2025-03-02T10:00:00.000Z')).toBe(flagged.positions[0]! - 1);
    expect(await log.positionAt('2025-03-03T10:00:00.000Z')).toBe(flagged.positions[0]);
    await expect(log.positionAt('yesterday')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it("names a scope's newest position at or below a bound in one probe per filter, and the head", async () => {
    const ns = 'probe';
    const a = await log.append('env:probe/prod', [configValueSet('k', 1, { namespace: ns })]);
    const manifest: NewEvent = {
      type: 'ManifestPublished',
      data: { namespace: ns, manifest: { keys: {}, flags: {}, secrets: {} } },
      metadata: { actor: 'admin' },
    };
    const m = await log.append('manifest:probe', [manifest]);
    const b = await log.append('env:probe/staging', [
      configValueSet('k', 2, { namespace: ns, environment: 'staging' }),
    ]);
    if (!a.ok || !m.ok || !b.ok) throw new Error('append failed');
    const [pa, pm, pb] = [a.positions[0]!, m.positions[0]!, b.positions[0]!];
    const filters = [
      { namespace: ns, environment: 'prod', type: ['ConfigValueSet' as const] },
      { namespace: ns, environment: null, type: ['ManifestPublished' as const] },
      { namespace: 'nobody', environment: 'prod' },
    ];
    expect(await log.lastPositions(pb, filters)).toEqual({ head: await log.headPosition(), last: [pa, pm, 0] });
    expect((await log.lastPositions(pa, filters)).last).toEqual([pa, 0, 0]);
    expect((await log.lastPositions(pa - 1, filters)).last).toEqual([0, 0, 0]);
  });

  it('never records an earlier time than the event before it, even if the clock goes back', async () => {
    now = new Date('2024-01-01T00:00:00.000Z');
    const result = await log.append('env:shop/prod', [configValueSet('a.back', 1)]);
    if (!result.ok) throw new Error('append failed');
    const [previous, last] = await log.readAll(result.positions[0]! - 2, 2);
    expect(last?.recordedAt).toBe(previous?.recordedAt);
  });

  it('reads the global log in pages without a gap', async () => {
    const head = await log.headPosition();
    const seen: number[] = [];
    for (let after = 0; ;) {
      const page = await log.readAll(after, 3);
      if (page.length === 0) break;
      seen.push(...page.map((e) => e.position));
      after = page.at(-1)!.position;
    }
    expect(seen).toEqual(Array.from({ length: head }, (_, i) => i + 1));
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
});
