import { describe, expect, it } from 'vitest';
import { environmentEventTypes, type RecordedEvent } from '../events.js';
import { evaluateFlag, resolveFlag } from '../flags.js';
import { InMemoryEventLog } from '../in-memory-event-log.js';
import type { RebuildProgress, ViewStateReader, ViewWriter } from '../ports.js';
import { resolveConfig } from '../resolve.js';
import { fold, initialState } from '../scope-state.js';
import {
  appendSampleEvents,
  comparableState,
  expectedViewState,
  recordEvents,
  sampleEvents,
  sampleFlags,
  sampleScopes,
  sampleTenants,
} from './sample-events.js';

/** Fresh, empty views (no generation live yet), and what to release after the test. */
export interface ViewsFixture extends AsyncDisposable {
  store: ViewWriter;
  reader: ViewStateReader;
}

export type ViewsFactory = () => Promise<ViewsFixture>;

/** Every view of the sample scopes reads exactly what core's fold of `events` answers. */
const expectViewsToEqualFold = async (reader: ViewStateReader, events: readonly RecordedEvent[]) => {
  for (const { namespace, environment } of sampleScopes) {
    const expected = expectedViewState(events, namespace, environment);
    const view = await reader.loadView(namespace, environment);
    expect(comparableState(view.state), `${namespace}/${environment}`).toEqual(expected);
    expect(view.position).toBe(expected.lastChangePosition);
    expect(await reader.viewPosition(namespace, environment)).toBe(expected.lastChangePosition);
    const state = fold(initialState(namespace, environment), events);
    for (const tenant of [...sampleTenants, null]) {
      const resolved = await reader.resolvedConfig(namespace, environment, tenant);
      expect(resolved.values, `${namespace}/${environment} ${tenant}`).toEqual(resolveConfig(state, tenant).values);
      expect(resolved.generation).toBe(view.generation);
      // `limits.rpm` has no manifest default: a view must leave it out, never invent one.
      expect(resolved.values['limits.rpm']?.source ?? 'missing').not.toBe('default');
      if (tenant === null) continue;
      for (const flag of [...sampleFlags, 'undeclared']) {
        expect(await reader.flag(namespace, environment, flag, tenant)).toEqual(evaluateFlag(state, flag, tenant));
        const context = { targetingKey: `${tenant}-user`, plan: 'pro' };
        const typed = await reader.resolveFlag(namespace, environment, flag, context, tenant);
        expect(typed.resolution).toEqual(resolveFlag(state, flag, context, { tenant }));
        expect(typed.declared).toBe(state.manifest !== null && Object.hasOwn(state.manifest.flags, flag));
        expect(typed.definition).toBe(state.flags.get(flag)?.definition !== undefined);
      }
    }
  }
};

/** Events in the order the log recorded them (positions follow the sample's commit order). */
const loggedSample = async (count: number, seed: number) => {
  const log = new InMemoryEventLog({ clock: { now: () => new Date('2026-01-01T00:00:00.000Z') } });
  await appendSampleEvents(log, sampleEvents(count, seed));
  return { log, events: await log.readAll(0, count) };
};

/**
 * The views' contract (emmett-style, as `testEventLog`): the Redis store and reader and the
 * in-memory store answer the same, and both equal core's fold of the log (BRIEF invariants 4, 5).
 */
export const testViews = (name: string, factory: ViewsFactory): void => {
  describe(`views contract: ${name}`, () => {
    it('is unavailable until the first rebuild, and a live apply then says the views are lost', async () => {
      await using views = await factory();
      expect(await views.store.needsRebuild()).toBe(true);
      expect(await views.store.generation()).toBeNull();
      for (const read of [
        () => views.reader.loadView('shelfwise', 'prod'),
        () => views.reader.resolvedConfig('shelfwise', 'prod', null),
        () => views.reader.viewPositions('shelfwise', 'prod'),
        () => views.reader.flag('shelfwise', 'prod', 'dark_mode', 'acme'),
      ]) {
        await expect(read()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      }
      const events = recordEvents(sampleEvents(50, 5));
      expect(await views.store.applyEvents(events)).toMatchObject({ applied: 0, duplicates: 0, lost: true });
      const token = recordEvents([
        {
          type: 'TokenIssued',
          data: {
            tokenId: 't1',
            role: 'reader',
            namespace: 'shelfwise',
            environment: 'prod',
            tenant: null,
            description: null,
          },
          metadata: { actor: 'test' },
        },
      ]);
      expect(await views.store.applyEvents(token)).toEqual({ applied: 0, duplicates: 0, ignored: 1, lost: false });
    });

    it('rebuilds from the log in pages and reads every view exactly as core folds the log', async () => {
      await using views = await factory();
      const { log, events } = await loggedSample(1_500, 3);
      const result = await views.store.rebuild({ eventLog: log, pageSize: 400, dropDelayMs: 0 });
      expect(result).toMatchObject({ generation: 1, previous: null, position: events.length, rebuilt: true });
      expect(result.events).toBe(events.length);
      expect(await views.store.needsRebuild()).toBe(false);
      expect(await views.store.generation()).toBe(1);
      await expectViewsToEqualFold(views.reader, events);

      // A second rebuild switches to a new generation holding the same views.
      const again = await views.store.rebuild({ eventLog: log, pageSize: 1_000, dropDelayMs: 0 });
      expect(again).toMatchObject({ generation: 2, previous: 1, position: events.length, rebuilt: true });
      expect((await views.reader.loadView('shelfwise', 'prod')).generation).toBe(2);
      await expectViewsToEqualFold(views.reader, events);
    });

    it('reports progress after every page, and a rebuild aborted part-way leaves the live generation as it was', async () => {
      await using views = await factory();
      const { log, events } = await loggedSample(1_000, 7);
      const progress: RebuildProgress[] = [];
      await views.store.rebuild({ eventLog: log, pageSize: 300, dropDelayMs: 0, onProgress: (p) => progress.push(p) });
      expect(progress.map(({ eventsPerSecond: _, ...p }) => p)).toEqual(
        [300, 600, 900, 1_000].map((position) => ({ generation: 1, position, head: 1_000, events: position })),
      );

      const abort = new AbortController();
      const aborted = views.store.rebuild({
        eventLog: log,
        pageSize: 300,
        dropDelayMs: 0,
        signal: abort.signal,
        onProgress: () => abort.abort(),
      });
      await expect(aborted).rejects.toSatisfy((error) => error instanceof Error && error.name === 'AbortError');
      expect(await views.store.generation()).toBe(1);
      await expectViewsToEqualFold(views.reader, events);
      // What the aborted rebuild left behind does not stand in the way of the next one.
      expect(await views.store.rebuild({ eventLog: log, dropDelayMs: 0 })).toMatchObject({
        generation: 2,
        previous: 1,
      });
      await expectViewsToEqualFold(views.reader, events);
    });

    it('applies live events in any batches, and redelivering any of them changes nothing', async () => {
      await using views = await factory();
      await views.store.rebuild({ eventLog: new InMemoryEventLog(), dropDelayMs: 0 });
      const events = recordEvents(sampleEvents(2_000, 11));
      let counted = 0;
      for (let i = 0; i < events.length; i += 97) {
        const result = await views.store.applyEvents(events.slice(i, i + 97));
        expect(result.lost).toBe(false);
        expect(result.duplicates).toBe(0);
        counted += result.applied + result.ignored;
      }
      expect(counted).toBe(events.length);
      await expectViewsToEqualFold(views.reader, events);
      const before = await Promise.all(sampleScopes.map((s) => views.reader.loadView(s.namespace, s.environment)));

      // Kafka redelivers from an older committed offset: a suffix, in order, in any batch sizes…
      for (const from of [0, 500, 1_999]) {
        const result = await views.store.applyEvents(events.slice(from));
        expect(result.applied).toBe(0);
        expect(result.duplicates + result.ignored).toBe(events.length - from);
      }
      // …and a single stale event of any view on its own.
      for (const i of [0, 3, 777, 1_500]) expect((await views.store.applyEvents([events[i]!])).applied).toBe(0);
      const after = await Promise.all(sampleScopes.map((s) => views.reader.loadView(s.namespace, s.environment)));
      expect(after.map((v) => comparableState(v.state))).toEqual(before.map((v) => comparableState(v.state)));
    });

    it('waits for positions: at once when reached, when a later event lands, TIMEOUT otherwise', async () => {
      await using views = await factory();
      await views.store.rebuild({ eventLog: new InMemoryEventLog(), dropDelayMs: 0 });
      const events = recordEvents(sampleEvents(400, 13));
      const { namespace, environment } = sampleScopes[0];
      const reached = events.filter((e) => {
        const data = e.data as { namespace?: string; environment?: string };
        return (
          environmentEventTypes.includes(e.type) && data.namespace === namespace && data.environment === environment
        );
      });
      const early = reached[10]!.position;
      const late = reached.at(-1)!.position;
      await views.store.applyEvents(events.filter((e) => e.position <= early));

      const now = await views.reader.waitForPositions(
        namespace,
        environment,
        { environment: early, namespace: 0 },
        1_000,
      );
      expect(now.environment).toBe(early);
      const pending = views.reader.waitForPositions(
        namespace,
        environment,
        { environment: late, namespace: 0 },
        10_000,
      );
      await views.store.applyEvents(events.filter((e) => e.position > early));
      expect((await pending).environment).toBe(late);
      expect(await views.reader.viewPositions(namespace, environment)).toMatchObject({ environment: late });

      await expect(
        views.reader.waitForPositions(namespace, environment, { environment: late + 1_000, namespace: 0 }, 50),
      ).rejects.toMatchObject({ code: 'TIMEOUT' });
    });
  });
};
