import { StrataError } from './errors.js';
import {
  environmentEventTypes,
  namespaceWideEventTypes,
  type EventType,
  type ProjectedEvent,
  type RecordedEvent,
} from './events.js';
import { evaluateFlag, resolveFlag as resolveFlagIn, type FlagEvaluation } from './flags.js';
import type {
  ApplyResult,
  Clock,
  RebuildOptions,
  RebuildResult,
  ViewPositions,
  ViewReader,
  ViewSnapshot,
  ViewStateReader,
  ViewWriter,
} from './ports.js';
import { resolveConfig, type ResolvedConfig } from './resolve.js';
import { fold, initialState, type NamespaceEnvState } from './scope-state.js';

const environmentTypes: ReadonlySet<EventType> = new Set(environmentEventTypes);
const namespaceTypes: ReadonlySet<EventType> = new Set(namespaceWideEventTypes);

/** The view an event belongs to: its environment's, or its namespace's (manifests, shreddings); null when no view holds it. */
const viewOf = (event: ProjectedEvent): string | null => {
  const data = event.data as { namespace?: string; environment?: string };
  if (environmentTypes.has(event.type)) return `${data.namespace}/${data.environment}`;
  if (namespaceTypes.has(event.type)) return `${data.namespace}`;
  return null;
};

/** One generation: per view, the events it holds (in position order) and the position it applied through. */
class Generation {
  readonly events = new Map<string, ProjectedEvent[]>();
  readonly positions = new Map<string, number>();

  /** Applies an event above its view's position; false for a redelivery at or below it. */
  apply(view: string, event: ProjectedEvent): boolean {
    if (event.position <= (this.positions.get(view) ?? 0)) return false;
    const events = this.events.get(view);
    if (events) events.push(event);
    else this.events.set(view, [event]);
    this.positions.set(view, event.position);
    return true;
  }
}

/**
 * The projected views in memory: what `RedisViewStore` writes and `RedisViewReader` reads, as
 * core's fold of the events each view holds, with the same idempotency (an event at or below its
 * view's position changes nothing), the same generations (none is live until the first rebuild;
 * reads answer UNAVAILABLE until then) and the same answers. It passes the same contract suite
 * (`testViews`) as the Redis pair, so specs of projections and readers can use it without Redis.
 */
export class InMemoryViewStore implements ViewWriter, ViewStateReader {
  readonly #clock: Clock;
  #live: { number: number; views: Generation } | null = null;
  #waiters = new Set<() => void>();

  constructor(options: { clock?: Clock } = {}) {
    this.#clock = options.clock ?? { now: () => new Date() };
  }

  /** Applies events to the live generation; counts as `RedisViewStore.applyEvents` does. */
  async applyEvents(events: readonly RecordedEvent[]): Promise<ApplyResult> {
    const views = events.map(viewOf);
    const ignored = views.filter((view) => view === null).length;
    if (ignored === events.length) return { applied: 0, duplicates: 0, ignored, lost: false };
    const live = this.#live;
    if (!live) return { applied: 0, duplicates: 0, ignored, lost: true };
    let applied = 0;
    events.forEach((event, i) => {
      const view = views[i];
      if (view != null && live.views.apply(view, event)) applied++;
    });
    if (applied > 0) for (const wake of [...this.#waiters]) wake();
    return { applied, duplicates: events.length - ignored - applied, ignored, lost: false };
  }

  /** The live generation, null before the first rebuild. */
  async generation(): Promise<number | null> {
    return this.#live?.number ?? null;
  }

  /** True while no generation is live. */
  async needsRebuild(): Promise<boolean> {
    return this.#live === null;
  }

  /**
   * Builds the next generation from the whole log, then makes it live in one step, reporting
   * progress after every page as the Redis store does and stopping at the next page once `signal`
   * aborts (the live generation stays as it was). `dropDelayMs` is accepted for the port's sake:
   * no reader here holds on to an old generation.
   */
  async rebuild(options: RebuildOptions): Promise<RebuildResult> {
    const pageSize = options.pageSize ?? 10_000;
    const previous = this.#live?.number ?? null;
    const generation = (previous ?? 0) + 1;
    const views = new Generation();
    let cursor = 0;
    let events = 0;
    let head = await options.eventLog.headPosition();
    for (;;) {
      options.signal?.throwIfAborted();
      const page = await options.eventLog.readForViews(cursor, pageSize);
      for (const event of page) {
        const view = viewOf(event);
        if (view !== null) views.apply(view, event);
      }
      events += page.length;
      cursor = page.at(-1)?.position ?? cursor;
      const full = page.length === pageSize;
      if (!full) head = await options.eventLog.headPosition();
      // No clock of its own to time the rebuild with: the rate is not measured in memory.
      options.onProgress?.({ generation, position: cursor, head, events, eventsPerSecond: 0 });
      if (!full && cursor >= head) break;
    }
    this.#live = { number: generation, views };
    for (const wake of [...this.#waiters]) wake();
    return { generation, previous, position: cursor, events, eventsPerSecond: 0, rebuilt: true };
  }

  /** A tenant's resolved config (tenant → environment → manifest default); `tenant: null` for the environment's. */
  async resolvedConfig(
    namespace: string,
    environment: string,
    tenant: string | null,
  ): Promise<ResolvedConfig & { generation: number }> {
    const { generation, state } = this.#state(namespace, environment);
    return { ...resolveConfig(state, tenant), generation };
  }

  /** Evaluates a flag for a tenant: override wins, then the kill switch, then `bucket < rollout`. */
  async flag(namespace: string, environment: string, flag: string, tenant: string): Promise<FlagEvaluation> {
    return evaluateFlag(this.#state(namespace, environment).state, flag, tenant);
  }

  /** Typed evaluation of a flag against a context, as `RedisViewReader.resolveFlag` answers it. */
  readonly resolveFlag: ViewReader['resolveFlag'] = async (namespace, environment, flag, context, tenant) => {
    const { state } = this.#state(namespace, environment);
    const entry = state.flags.get(flag);
    const own = tenant === undefined ? undefined : state.overrides.get(tenant)?.get(flag);
    const now = () => Math.floor(this.#clock.now().getTime() / 1000);
    return {
      resolution: resolveFlagIn(state, flag, context, { tenant, now }),
      definition: entry?.definition !== undefined,
      declared: state.manifest !== null && Object.hasOwn(state.manifest.flags, flag),
      position: own?.position ?? entry?.position ?? 0,
    };
  };

  /** The view's position: max of the environment view's and its namespace view's. */
  async viewPosition(namespace: string, environment: string): Promise<number> {
    const positions = await this.viewPositions(namespace, environment);
    return Math.max(positions.environment, positions.namespace);
  }

  /** The positions the environment view and its namespace view have applied through, 0 before any. */
  async viewPositions(namespace: string, environment: string): Promise<ViewPositions> {
    return this.#positions(this.#views(), namespace, environment);
  }

  /** Resolves once both views reached their targets; throws `TIMEOUT` after `timeoutMs`. */
  readonly waitForPositions: ViewReader['waitForPositions'] = (namespace, environment, targets, timeoutMs) => {
    // Views being rebuilt are unavailable, not behind: keep waiting, as the Redis reader does.
    const current = () =>
      this.#live ? this.#positions(this.#live.views, namespace, environment) : { environment: 0, namespace: 0 };
    return new Promise((resolve, reject) => {
      const check = () => {
        const positions = current();
        if (positions.environment < targets.environment || positions.namespace < targets.namespace) return;
        done();
        resolve(positions);
      };
      const timer = setTimeout(() => {
        done();
        const { environment: e, namespace: n } = current();
        const position = Math.max(targets.environment, targets.namespace);
        reject(
          new StrataError(
            'TIMEOUT',
            `view ${namespace}/${environment} is at position ${Math.max(e, n)}, not yet ${position}`,
            { namespace, environment, position, current: Math.max(e, n) },
          ),
        );
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  };

  /** The whole environment view as core's state, with the view's position. */
  async loadView(namespace: string, environment: string): Promise<ViewSnapshot> {
    const { generation, state } = this.#state(namespace, environment);
    return { generation, position: state.position, state };
  }

  #positions(views: Generation, namespace: string, environment: string): ViewPositions {
    return {
      environment: views.positions.get(`${namespace}/${environment}`) ?? 0,
      namespace: views.positions.get(namespace) ?? 0,
    };
  }

  #views(): Generation {
    if (!this.#live) throw new StrataError('UNAVAILABLE', 'no view generation is live (views are being rebuilt)');
    return this.#live.views;
  }

  /** Folds the namespace view's and the environment view's events together, in position order. */
  #state(namespace: string, environment: string): { generation: number; state: NamespaceEnvState } {
    const views = this.#views();
    const events = [
      ...(views.events.get(namespace) ?? []),
      ...(views.events.get(`${namespace}/${environment}`) ?? []),
    ].sort((a, b) => a.position - b.position);
    return { generation: this.#live!.number, state: fold(initialState(namespace, environment), events) };
  }
}
