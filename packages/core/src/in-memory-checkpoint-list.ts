import type { CheckpointRecord, CheckpointList } from './ports.js';

/** CheckpointList in process memory: the twin of the PostgreSQL one, for pure tests. */
export class InMemoryCheckpointList implements CheckpointList {
  readonly #checkpoints = new Map<string, CheckpointRecord>();

  /** Records a consumer's position (what the consumer's own checkpoint save does). */
  save(checkpoint: CheckpointRecord): void {
    this.#checkpoints.set(checkpoint.name, { ...checkpoint });
  }

  async list(): Promise<CheckpointRecord[]> {
    return [...this.#checkpoints.values()]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((c) => ({ ...c }));
  }
}
