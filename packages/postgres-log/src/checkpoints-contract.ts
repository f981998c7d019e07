import type { Checkpoints } from '@strata/core';
import { expect, it } from 'vitest';

let run = 0;
/** Names no other test (nor another spec file sharing the store) uses. */
const names = () => {
  const prefix = `contract-${process.pid}-${(run += 1)}-`;
  return { prefix, name: (n: string) => prefix + n };
};

/**
 * Behaviour every `Checkpoints` must have, run against each implementation (in-memory in a unit
 * spec, PostgreSQL in an int spec). `create` may hand out one shared store: tests use their own names.
 */
export const checkpointsContract = (create: () => Promise<Checkpoints> | Checkpoints) => {
  const listed = async (store: Checkpoints, prefix: string) =>
    (await store.list()).filter((record) => record.name.startsWith(prefix));

  it('loads 0 for a consumer that never saved', async () => {
    const store = await create();
    const { prefix, name } = names();
    expect(await store.load(name('projector'))).toBe(0);
    expect(await listed(store, prefix)).toEqual([]);
  });

  it('loads the last save per name, a lower one too', async () => {
    const store = await create();
    const { name } = names();
    await store.save(name('relay'), 10);
    await store.save(name('relay'), 2_000_000_000_000);
    await store.save(name('projector'), 7);
    expect(await store.load(name('relay'))).toBe(2_000_000_000_000);
    await store.save(name('relay'), 3);
    expect(await store.load(name('relay'))).toBe(3);
    expect(await store.load(name('projector'))).toBe(7);
  });

  it('lists every checkpoint by name with when it was last saved', async () => {
    const store = await create();
    const { prefix, name } = names();
    const before = Date.now();
    await store.save(name('b'), 5);
    await store.save(name('a'), 9);
    const first = await listed(store, prefix);
    expect(first.map(({ name, position }) => ({ name, position }))).toEqual([
      { name: name('a'), position: 9 },
      { name: name('b'), position: 5 },
    ]);
    for (const record of first) {
      expect(new Date(record.updatedAt).toISOString()).toBe(record.updatedAt);
      // Server clocks and ours agree to within a second on one machine.
      expect(Date.parse(record.updatedAt)).toBeGreaterThanOrEqual(before - 1_000);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
    await store.save(name('b'), 6);
    const [, b] = await listed(store, prefix);
    expect(b?.position).toBe(6);
    expect(Date.parse(b!.updatedAt)).toBeGreaterThan(Date.parse(first[1]!.updatedAt));
  });

  it('keeps concurrent savers of different names apart', async () => {
    const store = await create();
    const { prefix, name } = names();
    await Promise.all(
      Array.from({ length: 8 }, async (_, consumer) => {
        for (let position = 1; position <= 20; position += 1)
          await store.save(name(`c${consumer}`), position * consumer);
      }),
    );
    expect((await listed(store, prefix)).map((record) => record.position)).toEqual(
      Array.from({ length: 8 }, (_, consumer) => 20 * consumer),
    );
  });
};
