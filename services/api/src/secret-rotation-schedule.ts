import {
  dueSecrets,
  fold,
  initialState,
  type DueSecret,
  type EventLog,
  type NamespaceEnvState,
  type RecordedEvent,
} from '@strata/core';

/** The only events that decide which secret versions are due: what is declared, added, deleted. */
const rotationEvents = ['ManifestPublished', 'SecretVersionAdded', 'SecretDeleted'] as const;
const pageSize = 10_000;

/**
 * Which secret versions are due for rotation, across every scope. Folds only the manifest and
 * secret events of the log (through its type index), incrementally: each call reads what was
 * appended since the last one, so `/metrics` can ask on every scrape.
 */
export class SecretRotationSchedule {
  readonly #states = new Map<string, NamespaceEnvState>();
  /** The latest manifest event per namespace: an environment seen later starts from it. */
  readonly #manifests = new Map<string, RecordedEvent>();
  #position = 0;
  #catchingUp: Promise<void> | null = null;

  constructor(private readonly log: EventLog) {}

  /** Overdue and (with `soonUntil`) soon-due current versions, optionally of one namespace/environment. */
  async due(
    filter: { namespace?: string; environment?: string; now?: Date; soonUntil?: Date } = {},
  ): Promise<DueSecret[]> {
    await (this.#catchingUp ??= this.#catchUp().finally(() => (this.#catchingUp = null)));
    const now = filter.now ?? new Date();
    const due: DueSecret[] = [];
    for (const state of this.#states.values()) {
      if (filter.namespace !== undefined && state.namespace !== filter.namespace) continue;
      if (filter.environment !== undefined && state.environment !== filter.environment) continue;
      due.push(...dueSecrets(state, now, filter.soonUntil ?? now));
    }
    return due.sort((a, b) => a.dueAt.localeCompare(b.dueAt));
  }

  async #catchUp(): Promise<void> {
    for (;;) {
      // Bounded by the head read first: history pages never pass an event that may still commit below it.
      const head = await this.log.headPosition();
      if (head <= this.#position) return;
      const page = await this.log.history({
        type: [...rotationEvents],
        after: this.#position,
        upTo: head,
        limit: pageSize,
      });
      for (const event of page) this.#apply(event);
      this.#position = page.length === pageSize ? page.at(-1)!.position : head;
    }
  }

  #apply(event: RecordedEvent): void {
    if (event.type === 'ManifestPublished') {
      const { namespace } = event.data;
      this.#manifests.set(namespace, event);
      for (const [key, state] of this.#states)
        if (state.namespace === namespace) this.#states.set(key, fold(state, [event]));
      return;
    }
    if (event.type !== 'SecretVersionAdded' && event.type !== 'SecretDeleted') return;
    const { namespace, environment } = event.data;
    const key = `${namespace}/${environment}`;
    let state = this.#states.get(key);
    if (!state) {
      const manifest = this.#manifests.get(namespace);
      state = fold(initialState(namespace, environment), manifest ? [manifest] : []);
    }
    this.#states.set(key, fold(state, [event]));
  }
}
