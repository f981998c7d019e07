import type { SerializedSnapshot, Snapshot, SnapshotStore } from './ports.js';

export interface WriteBehindOptions {
  /** Snapshots saved per `saveAll` of the store underneath, and JSON text per call. */
  batch?: number;
  batchChars?: number;
}

/**
 * A SnapshotStore that saves in the background: `saveAll` queues and returns at once, and the
 * queue goes to `store` one batch at a time, so a cold fold that takes hundreds of snapshots costs
 * a few statements, not a pool's worth. Reads see queued snapshots as if saved. Snapshots are
 * derived: a failed batch is dropped (it costs only speed) and reported to `onError`, never
 * swallowed.
 */
export class WriteBehindSnapshotStore implements SnapshotStore {
  #queue: SerializedSnapshot[] = [];
  #inFlight: readonly SerializedSnapshot[] = [];
  #flushing: Promise<void> | null = null;
  readonly #batch: number;
  readonly #batchChars: number;

  constructor(
    private readonly store: SnapshotStore,
    private readonly onError: (error: unknown, dropped: number) => void,
    options: WriteBehindOptions = {},
  ) {
    this.#batch = options.batch ?? 200;
    this.#batchChars = options.batchChars ?? 8_000_000;
  }

  async positionAtOrBefore(scope: string, position: number): Promise<number | null> {
    const { saved, pending } = await this.#nearest(scope, position);
    return pending && (saved === null || pending.position > saved) ? pending.position : saved;
  }

  async loadAtOrBefore<State = unknown>(scope: string, position: number): Promise<Snapshot<State> | null> {
    const { saved, pending } = await this.#nearest(scope, position);
    if (pending && (saved === null || pending.position >= saved))
      return { scope, position: pending.position, state: JSON.parse(pending.json) as State };
    return saved === null ? null : this.store.loadAtOrBefore<State>(scope, saved);
  }

  async saveAll(snapshots: readonly SerializedSnapshot[]): Promise<void> {
    this.#queue.push(...snapshots);
    this.#flush();
  }

  /** Resolves once everything queued so far is saved or reported (before the store underneath closes). */
  async drain(): Promise<void> {
    while (this.#flushing) await this.#flushing;
  }

  /**
   * The nearest saved position and the nearest pending snapshot. Pending is looked at before and
   * after asking the store: a batch that lands in between is then seen on one side or the other.
   */
  async #nearest(scope: string, position: number) {
    const before = this.#pending(scope, position);
    const saved = await this.store.positionAtOrBefore(scope, position);
    const after = this.#pending(scope, position);
    const pending = !before || (after && after.position >= before.position) ? after : before;
    return { saved, pending };
  }

  /** The latest queued (or in-flight) snapshot of `scope` at or before `position`; later queued ones win ties. */
  #pending(scope: string, position: number): SerializedSnapshot | undefined {
    let best: SerializedSnapshot | undefined;
    for (const list of [this.#inFlight, this.#queue])
      for (const s of list)
        if (s.scope === scope && s.position <= position && (!best || s.position >= best.position)) best = s;
    return best;
  }

  #flush(): void {
    if (this.#flushing) return;
    this.#flushing = (async () => {
      while (this.#queue.length > 0) {
        let take = 0;
        let chars = 0;
        while (take < this.#queue.length && take < this.#batch && (take === 0 || chars < this.#batchChars))
          chars += this.#queue[take++]!.json.length;
        this.#inFlight = this.#queue.splice(0, take);
        await this.store.saveAll(this.#inFlight).catch((error: unknown) => this.onError(error, this.#inFlight.length));
        this.#inFlight = [];
      }
    })().finally(() => {
      this.#flushing = null;
      if (this.#queue.length > 0) this.#flush();
    });
  }
}
