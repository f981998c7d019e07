import { describe, expect, it } from 'vitest';
import type { SnapshotStore } from '../ports.js';
import type { Create } from './create.js';

const scopeName = () => `state:contract-${Math.random().toString(36).slice(2)}/prod`;
const snap = (scope: string, position: number, state: unknown) => ({ scope, position, json: JSON.stringify(state) });

/** Behaviour every SnapshotStore must have, run against each implementation. */
export const snapshotStoreContract = (name: string, create: Create<SnapshotStore>) =>
  describe(`SnapshotStore contract: ${name}`, () => {
    it('keeps snapshots per scope and finds the latest at or before a position', async () => {
      const store = await create();
      const scope = scopeName();
      const other = scopeName();
      await store.saveAll([snap(scope, 10, { values: { a: 1 } })]);
      await store.saveAll([snap(scope, 20, { values: { a: 2 } }), snap(other, 15, { values: { b: 1 } })]);
      // Saving a position again replaces it.
      await store.saveAll([snap(scope, 20, { values: { a: 3 } })]);
      expect(await store.loadAtOrBefore(scope, 19)).toEqual({ scope, position: 10, state: { values: { a: 1 } } });
      expect(await store.loadAtOrBefore(scope, 25)).toEqual({ scope, position: 20, state: { values: { a: 3 } } });
      expect(await store.loadAtOrBefore(scope, 9)).toBeNull();
      expect(await store.loadAtOrBefore(other, 100)).toEqual({
        scope: other,
        position: 15,
        state: { values: { b: 1 } },
      });
      expect(await store.positionAtOrBefore(scope, 19)).toBe(10);
      expect(await store.positionAtOrBefore(scope, 20)).toBe(20);
      expect(await store.positionAtOrBefore(scope, 9)).toBeNull();
      expect(await store.positionAtOrBefore(scopeName(), 1_000)).toBeNull();
    });

    it('saves many at once, the last of duplicates winning, and nothing for an empty batch', async () => {
      const store = await create();
      const scope = scopeName();
      await store.saveAll([]);
      await store.saveAll([
        snap(scope, 1, { n: 1 }),
        snap(scope, 2, { n: 2 }),
        snap(scope, 2, { n: 'two' }),
        ...Array.from({ length: 300 }, (_, i) => snap(scope, 10 + i, { n: 10 + i })),
      ]);
      expect(await store.loadAtOrBefore(scope, 2)).toEqual({ scope, position: 2, state: { n: 'two' } });
      expect(await store.loadAtOrBefore(scope, 1_000)).toEqual({ scope, position: 309, state: { n: 309 } });
      expect(await store.positionAtOrBefore(scope, 9)).toBe(2);
    });

    it('keeps JSON as JSON: nested objects, arrays, strings that look like numbers, unicode', async () => {
      const store = await create();
      const scope = scopeName();
      const state = {
        list: [1, 'two', { three: null }],
        text: '0042',
        note: 'naïve ☃',
        deep: { a: { b: { c: true } } },
      };
      await store.saveAll([snap(scope, 7, state)]);
      expect((await store.loadAtOrBefore(scope, 7))?.state).toEqual(state);
    });
  });
