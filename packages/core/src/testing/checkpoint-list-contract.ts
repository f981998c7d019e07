import { describe, expect, it } from 'vitest';
import type { CheckpointRecord, CheckpointList } from '../ports.js';
import type { Create } from './create.js';

/** A list to test, and how to save a consumer's checkpoint into what it lists. */
export interface CheckpointListUnderTest {
  checkpoints: CheckpointList;
  save(checkpoint: CheckpointRecord): Promise<void>;
}

/** Behaviour every CheckpointList must have, run against each implementation (each `create` starts empty). */
export const checkpointListContract = (name: string, create: Create<CheckpointListUnderTest>) =>
  describe(`CheckpointList contract: ${name}`, () => {
    it('lists nothing before any consumer saved', async () => {
      const { checkpoints } = await create();
      expect(await checkpoints.list()).toEqual([]);
    });

    it('lists every saved checkpoint by name, with its latest position', async () => {
      const { checkpoints, save } = await create();
      const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds)).toISOString();
      await save({ name: 'relay:strata.events', position: 10, updatedAt: at(1) });
      await save({ name: 'audit-export', position: 3, updatedAt: at(2) });
      await save({ name: 'relay:strata.events', position: 12, updatedAt: at(3) });
      expect(await checkpoints.list()).toEqual([
        { name: 'audit-export', position: 3, updatedAt: at(2) },
        { name: 'relay:strata.events', position: 12, updatedAt: at(3) },
      ]);
    });
  });
