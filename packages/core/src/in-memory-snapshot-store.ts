import type { SerializedSnapshot, Snapshot, SnapshotStore } from './ports.js';

/** SnapshotStore in process memory: the twin of the PostgreSQL one, for pure tests. Keeps JSON text, as a database would. */
export class InMemorySnapshotStore implements SnapshotStore {
  /** scope → position → JSON text. */
  readonly #scopes = new Map<string, Map<number, string>>();

  async positionAtOrBefore(scope: string, position: number): Promise<number | null> {
    let best: number | null = null;
    for (const p of this.#scopes.get(scope)?.keys() ?? []) if (p <= position && (best === null || p > best)) best = p;
    return best;
  }

  async loadAtOrBefore<State = unknown>(scope: string, position: number): Promise<Snapshot<State> | null> {
    const at = await this.positionAtOrBefore(scope, position);
    if (at === null) return null;
    return { scope, position: at, state: JSON.parse(this.#scopes.get(scope)!.get(at)!) as State };
  }

  async saveAll(snapshots: readonly SerializedSnapshot[]): Promise<void> {
    // Parse before storing anything: like one statement, a bad snapshot stores none of them.
    for (const s of snapshots) JSON.parse(s.json);
    for (const s of snapshots) {
      let positions = this.#scopes.get(s.scope);
      if (!positions) this.#scopes.set(s.scope, (positions = new Map()));
      positions.set(s.position, s.json);
    }
  }
}
