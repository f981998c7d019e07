import { describe, expect, it } from 'vitest';
import { isStrataError } from '../errors.js';
import type { ViewVersions } from '../ports.js';
import type { Create } from './create.js';

/** Versions to test, over views with a live generation, and how to change those views. */
export interface ViewVersionsUnderTest {
  versions: ViewVersions;
  /** Applies one event to the environment view (`environment` given) or the namespace's view (null). */
  change(namespace: string, environment: string | null): Promise<void>;
  /** Takes every view away (Redis flushed, a rebuild after data loss). */
  dropViews(): Promise<void>;
}

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
