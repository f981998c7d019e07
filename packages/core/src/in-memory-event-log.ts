import { StrataError } from './errors.js';
import type { NewEvent, ProjectedEvent, RecordedEvent } from './events.js';
import type {
  AppendAllResult,
  AppendOptions,
  AppendResult,
  Clock,
  EventLog,
  ExpectedVersion,
  HistoryFilter,
  IdempotentResult,
  IdGenerator,
  KeyChangeProbe,
  StreamAppend,
  StreamRead,
} from './ports.js';
import { sha256Hex } from './sha256.js';
import { validateNewEvents, type ValidatedEvent } from './validate-new-events.js';

export interface InMemoryEventLogOptions {
  clock?: Clock;
  ids?: IdGenerator;
}

type Conflict = { ok: false; reason: 'version_conflict'; currentVersion: number; expectedVersion: ExpectedVersion };

const defaultHistoryLimit = 1_000;
const maxHistoryLimit = 10_000;

/**
 * The event log in memory, for pure specs: the same answers as `PostgresEventLog` (it passes the
 * same contract suite, `testEventLog`), with no server. Every call decides and writes in one
 * synchronous step, so an append is atomic and positions are gap-free and in commit order by
 * construction. Recorded times come from `clock` and never go back along positions.
 */
export class InMemoryEventLog implements EventLog {
  readonly #clock: Clock;
  readonly #ids: IdGenerator;
  readonly #events: RecordedEvent[] = [];
  readonly #versions = new Map<string, number>();
  readonly #keys = new Map<string, IdempotentResult>();

  constructor(options: InMemoryEventLogOptions = {}) {
    this.#clock = options.clock ?? { now: () => new Date() };
    let next = 0;
    this.#ids = options.ids ?? { next: () => `mem-${String(++next).padStart(12, '0')}` };
  }

  async append(streamId: string, events: NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    const validated = validateNewEvents(streamId, events);
    const expectedVersion = options.expectedVersion ?? 'any';
    const replay = options.idempotencyKey === undefined ? undefined : this.#keys.get(options.idempotencyKey);
    if (replay) return { ok: true, ...replay, replayed: true };
    const conflict = this.#conflict(this.#version(streamId), expectedVersion);
    if (conflict) return conflict;
    const written = this.#write(streamId, validated, this.#recordedAt());
    if (options.idempotencyKey !== undefined) this.#keys.set(options.idempotencyKey, written);
    return { ok: true, ...written, replayed: false };
  }

  async idempotentResult(idempotencyKey: string): Promise<IdempotentResult | null> {
    const stored = this.#keys.get(idempotencyKey);
    return stored ? { positions: [...stored.positions], streamVersion: stored.streamVersion } : null;
  }

  async appendAll(appends: StreamAppend[], options: { idempotencyKey?: string } = {}): Promise<AppendAllResult> {
    if (appends.length === 0) throw new StrataError('VALIDATION_FAILED', 'appendAll needs at least one append');
    const validated = appends.map((append) => validateNewEvents(append.streamId, append.events));
    const replay = options.idempotencyKey === undefined ? undefined : this.#keys.get(options.idempotencyKey);
    if (replay) return { ok: true, positions: replay.positions, streamVersions: {}, replayed: true };
    // Decide every append against the versions the earlier ones of this call leave, before writing any.
    const versions = new Map<string, number>();
    for (const append of appends) {
      const current = versions.get(append.streamId) ?? this.#version(append.streamId);
      const conflict = this.#conflict(current, append.expectedVersion);
      if (conflict) return { ...conflict, streamId: append.streamId };
      versions.set(append.streamId, current + append.events.length);
    }
    const recordedAt = this.#recordedAt();
    const positions: number[] = [];
    const streamVersions: Record<string, number> = {};
    let last: IdempotentResult | undefined;
    appends.forEach((append, i) => {
      last = this.#write(append.streamId, validated[i]!, recordedAt);
      positions.push(...last.positions);
      streamVersions[append.streamId] = last.streamVersion;
    });
    // The key answers the last append, whose positions reflect the whole call (as in PostgreSQL).
    if (options.idempotencyKey !== undefined && last) this.#keys.set(options.idempotencyKey, last);
    return { ok: true, positions, streamVersions, replayed: false };
  }

  async readStream(streamId: string, fromVersion = 1): Promise<RecordedEvent[]> {
    return this.#events.filter((e) => e.streamId === streamId && e.streamVersion >= fromVersion);
  }

  async readStreams(reads: readonly StreamRead[]): Promise<RecordedEvent[][]> {
    return Promise.all(reads.map(({ streamId, fromVersion }) => this.readStream(streamId, fromVersion)));
  }

  async streamVersion(streamId: string): Promise<number> {
    return this.#version(streamId);
  }

  async readAll(after: number, limit: number): Promise<RecordedEvent[]> {
    // Position n is at index n - 1: the log has no gaps.
    return this.#events.slice(Math.max(0, after), Math.max(0, after) + limit);
  }

  /** The events themselves: a whole recorded event is a projected one. */
  async readForViews(after: number, limit: number): Promise<ProjectedEvent[]> {
    return this.readAll(after, limit);
  }

  async history(filter: HistoryFilter): Promise<RecordedEvent[]> {
    const matches = matcher(filter);
    const limit = Math.min(Math.max(1, filter.limit ?? defaultHistoryLimit), maxHistoryLimit);
    const found: RecordedEvent[] = [];
    for (const event of this.#events) {
      if (found.length >= limit) break;
      if (matches(event)) found.push(event);
    }
    return found;
  }

  async positionAt(time: string): Promise<number> {
    const at = parseTime(time, 'time');
    let position = 0;
    for (const event of this.#events) {
      if (Date.parse(event.recordedAt) > at) break;
      position = event.position;
    }
    return position;
  }

  async headPosition(): Promise<number> {
    return this.#events.length;
  }

  async lastPositions(upTo: number, filters: readonly HistoryFilter[]): Promise<{ head: number; last: number[] }> {
    const below = this.#events.slice(0, Math.max(0, upTo));
    const last = filters.map((filter) => {
      const matches = matcher(filter);
      return below.findLast(matches)?.position ?? 0;
    });
    return { head: this.#events.length, last };
  }

  async lastKeyChanges(probes: readonly KeyChangeProbe[]): Promise<(RecordedEvent | null)[]> {
    return probes.map(
      ({ streamId, key, before }) =>
        this.#events.findLast(
          (event) =>
            event.position < before &&
            event.streamId === streamId &&
            (event.type === 'ConfigValueSet' || event.type === 'ConfigValueUnset') &&
            event.data.key === key,
        ) ?? null,
    );
  }

  #version(streamId: string): number {
    return this.#versions.get(streamId) ?? 0;
  }

  #conflict(currentVersion: number, expectedVersion: ExpectedVersion): Conflict | undefined {
    const stale =
      (typeof expectedVersion === 'number' && expectedVersion !== currentVersion) ||
      (expectedVersion === 'no_stream' && currentVersion !== 0);
    return stale ? { ok: false, reason: 'version_conflict', currentVersion, expectedVersion } : undefined;
  }

  #recordedAt(): string {
    const now = this.#clock.now().toISOString();
    const previous = this.#events.at(-1)?.recordedAt;
    return previous !== undefined && previous > now ? previous : now;
  }

  #write(streamId: string, events: readonly ValidatedEvent[], recordedAt: string): IdempotentResult {
    const positions: number[] = [];
    let version = this.#version(streamId);
    for (const event of events) {
      version += 1;
      const position = this.#events.length + 1;
      const previousHash = this.#events.at(-1)?.hash ?? '0'.repeat(64);
      const eventId = this.#ids.next();
      this.#events.push({
        ...event,
        position,
        eventId,
        streamId,
        streamVersion: version,
        recordedAt,
        // A chain like the PostgreSQL log's, so a changed event changes every later hash; only
        // `verifyChain` in postgres-log knows the canonical form it must match there.
        hash: sha256Hex(previousHash + JSON.stringify([position, eventId, streamId, version, event])),
      } as RecordedEvent);
      positions.push(position);
    }
    this.#versions.set(streamId, version);
    return { positions, streamVersion: version };
  }
}

/** `data ->> field` as PostgreSQL extracts the log's filter columns: text, or null when absent. */
const column = (value: unknown): string | null =>
  value === undefined || value === null ? null : typeof value === 'string' ? value : JSON.stringify(value);

/** The history filter as a predicate, over the same extracted columns as the PostgreSQL indexes. */
const matcher = (filter: HistoryFilter): ((event: RecordedEvent) => boolean) => {
  const from = filter.from === undefined ? undefined : parseTime(filter.from, 'from');
  const to = filter.to === undefined ? undefined : parseTime(filter.to, 'to');
  const types = filter.type === undefined ? undefined : typeof filter.type === 'string' ? [filter.type] : filter.type;
  return (event) => {
    const data = event.data as Record<string, unknown>;
    if (filter.namespace !== undefined && column(data['namespace']) !== filter.namespace) return false;
    if (filter.environment !== undefined && column(data['environment']) !== filter.environment) return false;
    if (filter.tenant !== undefined && column(data['tenant']) !== filter.tenant) return false;
    const key = column(data['key']) ?? column(data['flag']) ?? column(data['name']);
    if (filter.key !== undefined && key !== filter.key) return false;
    if (filter.actor !== undefined && event.metadata.actor !== filter.actor) return false;
    if (types !== undefined && !types.includes(event.type)) return false;
    const recorded = Date.parse(event.recordedAt);
    if (from !== undefined && recorded < from) return false;
    if (to !== undefined && recorded >= to) return false;
    if (filter.after !== undefined && event.position <= filter.after) return false;
    if (filter.upTo !== undefined && event.position > filter.upTo) return false;
    return true;
  };
};

const parseTime = (value: string, name: string): number => {
  const time = Date.parse(value);
  if (Number.isNaN(time)) throw new StrataError('BAD_REQUEST', `${name} is not an ISO 8601 time`, { [name]: value });
  return time;
};
