import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isStrataError } from '../errors.js';
import type { NewEvent, ProjectedEvent } from '../events.js';
import type { Clock, EventLog, HistoryFilter } from '../ports.js';
import { configValueSet } from './event-builders.js';

/** One empty log for a contract suite, and what to release after it. */
export interface EventLogFixture extends AsyncDisposable {
  log: EventLog;
  /**
   * Another writer on the same log: for the PostgreSQL adapter a separate instance (its own
   * connections and transactions, no in-process group commit), so races are real races.
   */
  another(): EventLog;
}

/** Builds an empty log whose recorded times come from `clock`. */
export type EventLogFactory = (clock: Clock) => Promise<EventLogFixture>;

/**
 * The `EventLog` port's contract (emmett-style, `emmett-tests/src/eventStore/features.ts`): every
 * implementation runs it from its own spec with its own factory, so the in-memory log that pure
 * specs use answers exactly what the PostgreSQL log answers.
 */
export const testEventLog = (name: string, factory: EventLogFactory): void => {
  describe(`EventLog contract: ${name}`, () => {
    let fixture: EventLogFixture;
    let log: EventLog;
    let now = new Date('2025-03-01T10:00:00.000Z');
    const clock: Clock = { now: () => now };

    beforeAll(async () => {
      fixture = await factory(clock);
      log = fixture.log;
    });

    afterAll(async () => {
      await fixture?.[Symbol.asyncDispose]();
    });

    it('appends to a stream and reads it back with versions, positions and the recorded time', async () => {
      const result = await log.append('env:shop/prod', [configValueSet('a.b', 1), configValueSet('a.c', { x: [1] })], {
        expectedVersion: 'no_stream',
      });
      expect(result).toEqual({ ok: true, positions: [1, 2], streamVersion: 2, replayed: false });
      const events = await log.readStream('env:shop/prod');
      expect(events.map((e) => [e.position, e.streamVersion, e.streamId, e.type, e.data])).toEqual([
        [
          1,
          1,
          'env:shop/prod',
          'ConfigValueSet',
          { namespace: 'shop', environment: 'prod', tenant: null, key: 'a.b', value: 1 },
        ],
        [
          2,
          2,
          'env:shop/prod',
          'ConfigValueSet',
          { namespace: 'shop', environment: 'prod', tenant: null, key: 'a.c', value: { x: [1] } },
        ],
      ]);
      expect(events[0]).toMatchObject({
        schemaVersion: 1,
        recordedAt: now.toISOString(),
        metadata: { actor: 'admin' },
      });
      expect(new Set(events.map((e) => e.eventId)).size).toBe(2);
      expect(events.every((e) => typeof e.hash === 'string' && e.hash.length > 0)).toBe(true);
      expect(await log.streamVersion('env:shop/prod')).toBe(2);
      expect(await log.streamVersion('env:nothing/here')).toBe(0);
      expect(await log.headPosition()).toBe(2);
      expect((await log.readStream('env:shop/prod', 2)).map((e) => e.position)).toEqual([2]);
      expect(await log.readStream('env:nothing/here')).toEqual([]);
    });

    it('reads several streams in one call, each from its own version, in the order asked', async () => {
      const scope = 'env:many/prod';
      const tenant = 'tenant:many/prod/t1';
      const event = (value: number) => configValueSet('a.b', value, { namespace: 'many' });
      await log.append(scope, [event(1), event(2), event(3)], { expectedVersion: 'no_stream' });
      await log.append(tenant, [event(4)], { expectedVersion: 'no_stream' });
      const reads = [
        { streamId: tenant, fromVersion: 1 },
        { streamId: 'env:nothing/here', fromVersion: 1 },
        { streamId: scope, fromVersion: 2 },
        { streamId: scope, fromVersion: 4 },
        { streamId: tenant, fromVersion: 1 },
      ];
      const answers = await log.readStreams(reads);
      expect(answers).toEqual(await Promise.all(reads.map((r) => log.readStream(r.streamId, r.fromVersion))));
      expect(answers.map((events) => events.map((e) => e.streamVersion))).toEqual([[1], [], [2, 3], [], [1]]);
      expect(await log.readStreams([])).toEqual([]);
    });

    it('appends only on the expected version: a number, no_stream or any', async () => {
      const stream = 'env:versions/prod';
      const event = configValueSet('a.b', 1, { namespace: 'versions' });
      expect(await log.append(stream, [event], { expectedVersion: 1 })).toEqual({
        ok: false,
        reason: 'version_conflict',
        currentVersion: 0,
        expectedVersion: 1,
      });
      expect(await log.append(stream, [event], { expectedVersion: 0 })).toMatchObject({ ok: true, streamVersion: 1 });
      expect(await log.append(stream, [event], { expectedVersion: 'no_stream' })).toEqual({
        ok: false,
        reason: 'version_conflict',
        currentVersion: 1,
        expectedVersion: 'no_stream',
      });
      expect(await log.append(stream, [event], { expectedVersion: 1 })).toMatchObject({ ok: true, streamVersion: 2 });
      expect(await log.append(stream, [event])).toMatchObject({ ok: true, streamVersion: 3 });
      expect(await log.streamVersion(stream)).toBe(3);
    });

    it('lets exactly one of 32 concurrent writers with the same expected version win', async () => {
      const stream = 'env:race/prod';
      await log.append(stream, [configValueSet('a.b', 0, { namespace: 'race' })]);
      const results = await Promise.all(
        Array.from({ length: 32 }, (_, i) =>
          fixture
            .another()
            .append(stream, [configValueSet('a.b', i + 1, { namespace: 'race' })], { expectedVersion: 1 }),
        ),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      const conflicts = results.filter((r) => !r.ok);
      expect(conflicts).toHaveLength(31);
      expect(conflicts[0]).toEqual({ ok: false, reason: 'version_conflict', currentVersion: 2, expectedVersion: 1 });
      expect(await log.streamVersion(stream)).toBe(2);
    });

    it('decides conflicts one by one among concurrent appends of one writer', async () => {
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
          fixture.another().append('env:shop/qa', [configValueSet('a.b', 1)], { idempotencyKey: 'cmd-2' }),
        ),
      );
      const positions = new Set(racing.map((r) => (r.ok ? r.positions.join() : 'conflict')));
      expect(positions.size).toBe(1);
      expect(racing.filter((r) => r.ok && !r.replayed)).toHaveLength(1);
      expect(await log.streamVersion('env:shop/qa')).toBe(1);
    });

    it('stores no key for an append that conflicted, so the retry with the right version appends', async () => {
      const stream = 'env:keyconflict/prod';
      const event = configValueSet('a.b', 1, { namespace: 'keyconflict' });
      expect(await log.append(stream, [event], { idempotencyKey: 'cmd-3', expectedVersion: 5 })).toMatchObject({
        ok: false,
        currentVersion: 0,
      });
      expect(await log.idempotentResult('cmd-3')).toBeNull();
      expect(await log.append(stream, [event], { idempotencyKey: 'cmd-3', expectedVersion: 0 })).toMatchObject({
        ok: true,
        streamVersion: 1,
        replayed: false,
      });
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
      expect(conflict).toEqual({
        ok: false,
        reason: 'version_conflict',
        streamId: b,
        currentVersion: 1,
        expectedVersion: 0,
      });
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
      // Two appends to one stream in one call: the second is decided on the version the first leaves.
      const twice = await log.appendAll([
        { streamId: a, events: [event('x.y', 4)], expectedVersion: 2 },
        { streamId: a, events: [event('x.y', 5)], expectedVersion: 3 },
      ]);
      expect(twice).toMatchObject({ ok: true, positions: [head + 4, head + 5], streamVersions: { [a]: 4 } });
      await expect(log.appendAll([])).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
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
      const noActor = { ...configValueSet('a.b', 1), metadata: { actor: '' } } as NewEvent;
      for (const events of [[unknownType], [], [configValueSet('a.b', 'nul\u0000')], [noActor]]) {
        await expect(log.append('env:shop/prod', events)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      }
      await expect(log.append('', [configValueSet('a.b', 1)])).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      await expect(
        log.appendAll([
          { streamId: 'env:shop/prod', events: [configValueSet('a.ok', 1)], expectedVersion: 'any' },
          { streamId: 'env:shop/dev', events: [bad], expectedVersion: 'any' },
        ]),
      ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      expect(await log.headPosition()).toBe(head);
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
      const manifest: NewEvent = {
        type: 'ManifestPublished',
        data: { namespace: 'audit', manifest: { keys: {}, flags: {}, secrets: {} } },
        metadata: { actor: 'carol' },
      };
      const flagged = await log.append('env:audit/prod', [flag]);
      await log.append('manifest:audit', [manifest]);
      if (!flagged.ok) throw new Error('append failed');
      const at = flagged.positions[0]!;

      const keys = async (filter: HistoryFilter) =>
        (await log.history(filter)).map(
          (e) => (e.data as { key?: string; flag?: string }).key ?? (e.data as { flag?: string }).flag ?? e.type,
        );
      expect(await keys({ namespace: 'audit', environment: 'prod' })).toEqual([
        'limits.max',
        'limits.min',
        'new.checkout',
      ]);
      expect(await keys({ namespace: 'audit', environment: null })).toEqual(['ManifestPublished']);
      expect(await keys({ namespace: 'audit', tenant: 'acme', actor: 'bob' })).toEqual(['limits.min']);
      expect(await keys({ key: 'new.checkout' })).toEqual(['new.checkout']);
      expect(await keys({ namespace: 'audit', type: ['FlagRolloutChanged'] })).toEqual(['new.checkout']);
      expect(await keys({ namespace: 'audit', type: 'ManifestPublished' })).toEqual(['ManifestPublished']);
      expect(await keys({ namespace: 'audit', from: '2025-03-03T00:00:00Z' })).toEqual([
        'new.checkout',
        'ManifestPublished',
      ]);
      expect(await keys({ namespace: 'audit', to: '2025-03-03T00:00:00Z', limit: 1 })).toEqual(['limits.max']);
      // Bounds on the exact recorded time: `from` includes it, `to` excludes it.
      expect(await keys({ namespace: 'audit', from: '2025-03-03T10:00:00.000Z' })).toEqual([
        'new.checkout',
        'ManifestPublished',
      ]);
      expect(await keys({ namespace: 'audit', to: '2025-03-03T10:00:00.000Z' })).toEqual(['limits.max', 'limits.min']);
      expect(await keys({ namespace: 'audit', from: '2025-03-02T10:00:00Z', to: '2025-03-02T10:00:00.001Z' })).toEqual([
        'limits.max',
        'limits.min',
      ]);
      expect(await keys({ namespace: 'audit', after: at - 2, upTo: at - 1 })).toEqual(['limits.min']);
      expect(await keys({ namespace: 'nobody' })).toEqual([]);
      await expect(log.history({ from: 'not a time' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });

      expect(await log.positionAt('2025-03-02T12:00:00Z')).toBe(at - 1);
      expect(await log.positionAt('2025-03-04T00:00:00Z')).toBe(at + 1);
      expect(await log.positionAt('2020-01-01T00:00:00Z')).toBe(0);
      expect(await log.positionAt('2025-03-02T10:00:00.000Z')).toBe(at - 1);
      expect(await log.positionAt('2025-03-03T10:00:00.000Z')).toBe(at + 1);
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
      expect(await log.lastPositions(pb, [])).toEqual({ head: await log.headPosition(), last: [] });
    });

    it("names each key's latest change in its stream before a position, in one call", async () => {
      const at = { namespace: 'before' };
      const env = 'env:before/prod';
      const tenant = 'tenant:before/prod/acme';
      const unset: NewEvent = {
        type: 'ConfigValueUnset',
        data: { namespace: 'before', environment: 'prod', tenant: null, key: 'k' },
        metadata: { actor: 'admin' },
      };
      const appended = [
        await log.append(env, [configValueSet('k', 1, at), configValueSet('other', 'x', at)]),
        await log.append(tenant, [configValueSet('k', 'acme', { ...at, tenant: 'acme' })]),
        await log.append(env, [unset]),
        await log.append(env, [configValueSet('k', 3, at)]),
      ];
      const positions = appended.map((a) => (a.ok ? a.positions : []));
      const [set1, other, acme, unset2, set3] = positions.flat();
      expect(positions.flat()).toHaveLength(5);
      const probe = (streamId: string, key: string, before: number) => ({ streamId, key, before });
      const found = await log.lastKeyChanges([
        probe(env, 'k', set3! + 1),
        probe(env, 'k', set3!),
        probe(env, 'k', unset2!),
        probe(env, 'k', set1!),
        probe(tenant, 'k', set3!),
        probe(env, 'other', set3!),
        probe(env, 'nothing', set3!),
        probe('env:nobody/prod', 'k', set3!),
      ]);
      expect(found.map((event) => event && [event.position, event.type, event.data])).toEqual([
        [set3, 'ConfigValueSet', expect.objectContaining({ key: 'k', value: 3 })],
        [unset2, 'ConfigValueUnset', expect.objectContaining({ key: 'k' })],
        [set1, 'ConfigValueSet', expect.objectContaining({ key: 'k', value: 1 })],
        null,
        [acme, 'ConfigValueSet', expect.objectContaining({ key: 'k', tenant: 'acme', value: 'acme' })],
        [other, 'ConfigValueSet', expect.objectContaining({ key: 'other', value: 'x' })],
        null,
        null,
      ]);
      expect(await log.lastKeyChanges([])).toEqual([]);
    });

    it('never records an earlier time than the event before it, even if the clock goes back', async () => {
      now = new Date('2024-01-01T00:00:00.000Z');
      const result = await log.append('env:shop/prod', [configValueSet('a.back', 1)]);
      if (!result.ok) throw new Error('append failed');
      const [previous, last] = await log.readAll(result.positions[0]! - 2, 2);
      expect(last?.recordedAt).toBe(previous?.recordedAt);
    });

    it('reads the global log in pages without a gap, in position order', async () => {
      const head = await log.headPosition();
      const seen: number[] = [];
      for (let after = 0; ;) {
        const page = await log.readAll(after, 3);
        if (page.length === 0) break;
        expect(page.length).toBeLessThanOrEqual(3);
        seen.push(...page.map((e) => e.position));
        after = page.at(-1)!.position;
      }
      expect(seen).toEqual(Array.from({ length: head }, (_, i) => i + 1));
      expect(await log.readAll(head, 10)).toEqual([]);
      // Every stream's events carry consecutive versions from 1, in position order.
      const versions = new Map<string, number>();
      for (const event of await log.readAll(0, head)) {
        expect(event.streamVersion).toBe((versions.get(event.streamId) ?? 0) + 1);
        versions.set(event.streamId, event.streamVersion);
      }
    });

    it('reads the same pages for views: what readAll answers, narrowed to what views fold', async () => {
      const head = await log.headPosition();
      const narrowed = (events: ProjectedEvent[]) =>
        events.map(({ position, type, schemaVersion, data, recordedAt }) => ({
          position,
          type,
          schemaVersion,
          data,
          recordedAt,
        }));
      for (const [after, limit] of [
        [0, head],
        [2, 3],
        [head, 10],
      ] as const) {
        expect(narrowed(await log.readForViews(after, limit))).toEqual(narrowed(await log.readAll(after, limit)));
      }
      expect((await log.readForViews(0, head)).length).toBe(head);
    });
  });
};
