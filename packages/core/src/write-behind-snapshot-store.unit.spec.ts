import { describe, expect, it } from 'vitest';
import { InMemorySnapshotStore } from './in-memory-snapshot-store.js';
import type { SerializedSnapshot, SnapshotStore } from './ports.js';
import { snapshotStoreContract } from './testing/index.js';
import { WriteBehindSnapshotStore } from './write-behind-snapshot-store.js';

const unexpected = (error: unknown) => {
  throw error;
};

snapshotStoreContract(
  'write-behind over in memory',
  () => new WriteBehindSnapshotStore(new InMemorySnapshotStore(), unexpected),
);

const snap = (position: number, n = position): SerializedSnapshot => ({
  scope: 'state:shop/prod',
  position,
  json: JSON.stringify({ n }),
});

/** An in-memory store whose saves wait until released, or fail while `failing` is set. */
class GatedStore extends InMemorySnapshotStore {
  failing = false;
  calls: number[] = [];
  #gate: Promise<void> = Promise.resolve();
  #open: () => void = () => undefined;
  hold(): void {
    this.#gate = new Promise((resolve) => (this.#open = resolve));
  }
  release(): void {
    this.#open();
  }
  override async saveAll(snapshots: readonly SerializedSnapshot[]): Promise<void> {
    this.calls.push(snapshots.length);
    await this.#gate;
    if (this.failing) throw new Error('database away');
    return super.saveAll(snapshots);
  }
}

describe('WriteBehindSnapshotStore', () => {
  it('answers reads from snapshots still queued or in flight, and saves them in batches', async () => {
    const store = new GatedStore();
    const behind: SnapshotStore & { drain(): Promise<void> } = new WriteBehindSnapshotStore(store, unexpected, {
      batch: 2,
    });
    store.hold();
    await behind.saveAll([snap(10)]);
    await behind.saveAll([snap(20), snap(30), snap(40)]);
    expect(await store.positionAtOrBefore('state:shop/prod', 100)).toBeNull();
    expect(await behind.positionAtOrBefore('state:shop/prod', 35)).toBe(30);
    expect(await behind.loadAtOrBefore('state:shop/prod', 25)).toEqual({
      scope: 'state:shop/prod',
      position: 20,
      state: { n: 20 },
    });
    store.release();
    await behind.drain();
    // The first batch was in flight alone; the rest went two at a time.
    expect(store.calls).toEqual([1, 2, 1]);
    expect(await store.positionAtOrBefore('state:shop/prod', 100)).toBe(40);
  });

  it('reports a batch it could not save (never silently) and keeps going with the next', async () => {
    const store = new GatedStore();
    const reported: { message: string; dropped: number }[] = [];
    const behind = new WriteBehindSnapshotStore(store, (error, dropped) =>
      reported.push({ message: (error as Error).message, dropped }),
    );
    store.failing = true;
    await behind.saveAll([snap(1), snap(2)]);
    await behind.drain();
    expect(reported).toEqual([{ message: 'database away', dropped: 2 }]);
    expect(await behind.positionAtOrBefore('state:shop/prod', 10)).toBeNull();
    store.failing = false;
    await behind.saveAll([snap(3)]);
    await behind.drain();
    expect(await behind.positionAtOrBefore('state:shop/prod', 10)).toBe(3);
    expect(reported).toHaveLength(1);
  });
});
