import { StrataError } from './errors.js';
import type { Checkpoints, Lease } from './ports.js';

/**
 * `checkpoints` that refuse to save once `lease` is gone. Every lease adapter puts this in front of
 * checkpoints that its backend fences too (the PostgreSQL one writes through the lock's own session),
 * so a loss noticed here fails at once and one not noticed yet still fails there.
 */
export const fenceCheckpoints = (lease: Pick<Lease, 'held' | 'name'>, checkpoints: Checkpoints): Checkpoints => ({
  load: (name) => checkpoints.load(name),
  list: () => checkpoints.list(),
  async save(name, position) {
    if (!lease.held) throw new StrataError('UNAVAILABLE', `lease ${lease.name} is not held: checkpoint not saved`);
    await checkpoints.save(name, position);
  },
});
