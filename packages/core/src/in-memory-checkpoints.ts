import type { CheckpointRecord, Checkpoints, Clock } from './ports.js';

/** Checkpoints in a map: the twin of the PostgreSQL adapter, for pure tests (same contract suite). */
export class InMemoryCheckpoints implements Checkpoints {
  readonly #saved = new Map<string, CheckpointRecord>();

  constructor(private readonly clock: Clock) {}

  async load(name: string): Promise<number> {
    return this.#saved.get(name)?.position ?? 0;
  }

  async save(name: string, position: number): Promise<void> {
    this.#saved.set(name, { name, position, updatedAt: this.clock.now().toISOString() });
  }

  async list(): Promise<CheckpointRecord[]> {
    return [...this.#saved.values()]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((r) => ({ ...r }));
  }
}
