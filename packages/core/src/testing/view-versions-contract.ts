import { describe, expect, it } from 'vitest';
import { isStrataError } from '../errors.js';
import type { ViewVersions } from '../ports.js';
import type { Create } from './create.js';

/** Versions to test (listening to change announcements, if the adapter has them), over views with a live generation, and how to change those views. */
export interface ViewVersionsUnderTest {
  versions: ViewVersions;
  /** Applies one event to the environment view (`environment` given) or the namespace's view (null). */
  change(namespace: string, environment: string | null): Promise<void>;
  /** Takes every view away (Redis flushed, a rebuild after data loss). */
  dropViews(): Promise<void>;
}

/** Polls `done` every 5 ms for up to 2 s: announcements arrive on a connection of their own, a moment after the change. */
const until = async (done: () => boolean | Promise<boolean>): Promise<void> => {
  for (const deadline = Date.now() + 2_000; !(await done()); await new Promise((resolve) => setTimeout(resolve, 5)))
    if (Date.now() > deadline) throw new Error('not within 2 s');
};

/** Behaviour every ViewVersions must have, run against each implementation (each `create` starts fresh). */
export const viewVersionsContract = (name: string, create: Create<ViewVersionsUnderTest>) =>
  describe(`ViewVersions contract: ${name}`, () => {
    it('stays the same while a view is unchanged, and moves with its environment or namespace view', async () => {
      const { versions, change } = await create();
      const first = await versions.version('shelfwise', 'prod');
      expect(await versions.version('shelfwise', 'prod')).toBe(first);
      await change('shelfwise', 'prod');
      const afterEnv = await versions.version('shelfwise', 'prod');
      expect(afterEnv).not.toBe(first);
      await change('shelfwise', null);
      const afterManifest = await versions.version('shelfwise', 'prod');
      expect(new Set([first, afterEnv, afterManifest]).size).toBe(3);
      // Another environment's change is not this view's.
      await change('shelfwise', 'staging');
      await change('billing', 'prod');
      expect(await versions.version('shelfwise', 'prod')).toBe(afterManifest);
    });

    it('answers every concurrent caller with a version as fresh as its call', async () => {
      const { versions, change } = await create();
      const before = await Promise.all(Array.from({ length: 10 }, () => versions.version('shelfwise', 'prod')));
      expect(new Set(before).size).toBe(1);
      await change('shelfwise', 'prod');
      const after = await Promise.all(Array.from({ length: 10 }, () => versions.version('shelfwise', 'prod')));
      expect(new Set(after).size).toBe(1);
      expect(after[0]).not.toBe(before[0]);
    });

    it('knows the version it read until a change to the view is announced, then never answers the old one', async () => {
      const { versions, change } = await create();
      const first = await versions.version('shelfwise', 'prod');
      expect(versions.known('shelfwise', 'prod')).toBe(first);
      // Another view's change leaves this one known.
      await change('shelfwise', 'staging');
      await change('billing', 'prod');
      // Once a read of billing/prod is kept, its change's announcement (and every earlier one) has arrived.
      let other: string | undefined;
      await until(async () => {
        other = await versions.version('billing', 'prod');
        return versions.known('billing', 'prod') === other;
      });
      expect(versions.known('shelfwise', 'prod')).toBe(first);
      // Announcements take a moment to arrive; from then on the old version is never answered.
      await change('shelfwise', 'prod');
      await until(() => versions.known('shelfwise', 'prod') !== first);
      let second: string | undefined;
      await until(async () => {
        second = await versions.version('shelfwise', 'prod');
        return versions.known('shelfwise', 'prod') === second;
      });
      expect(second).not.toBe(first);
      // The namespace's (manifest) view is part of every environment's version.
      await change('shelfwise', null);
      await until(() => versions.known('shelfwise', 'prod') !== second);
      expect(await versions.version('shelfwise', 'prod')).not.toBe(second);
    });

    it('throws UNAVAILABLE while no generation is live', async () => {
      const { versions, dropViews } = await create();
      await versions.version('shelfwise', 'prod');
      await dropViews();
      const error = await versions.version('shelfwise', 'prod').then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(isStrataError(error) && error.code).toBe('UNAVAILABLE');
    });
  });
