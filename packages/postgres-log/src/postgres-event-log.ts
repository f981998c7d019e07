import {
  StrataError,
  type AppendAllResult,
  type StreamAppend,
  type StreamRead,
  validateNewEvents,
  type ValidatedEvent,
  type AppendOptions,
  type AppendResult,
  type Clock,
  type EventLog,
  type ExpectedVersion,
  type HistoryFilter,
  type IdempotentResult,
  type IdGenerator,
  type KeyChangeProbe,
  type NewEvent,
  type ProjectedEvent,
  type RecordedEvent,
} from '@strata/core';
import { eventColumns, eventOfRow, projectedOfRow, viewColumns, type EventRow, type ViewRow } from './event-row.js';
import { randomFillSync } from 'node:crypto';
import pg from 'pg';
import { ulid } from 'ulid';
import { canonicalJson } from './hash-chain.js';
import { isPostgresUnavailable } from './unavailable.js';
import { upcast, type Upcasters } from './upcasters.js';

/** The channel every append notifies, with the new head position as payload. */
export const eventsChannel = 'strata_events';

export interface PostgresEventLogOptions {
  clock?: Clock;
  ids?: IdGenerator;
  /** Applied on every read so callers only ever see the latest schema version of each type. */
  upcasters?: Upcasters;
  /** Upper bound on events committed in one transaction when concurrent appends are combined. */
  maxEventsPerCommit?: number;
  /**
   * Group commits on their way at once (default 2, see #drain): the second is encoded, sent and
   * parsed while the first holds the head lock. 1 serialises them in this process too.
   */
  commitsInFlight?: number;
}

interface PendingAppend {
  streamId: string;
  events: ValidatedEvent[];
  expectedVersion: ExpectedVersion;
  idempotencyKey: string | undefined;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

/** What `strata.append_batch` answers per append: an append's positions are contiguous. */
type BatchResult =
  | { ok: true; firstPosition: number; lastPosition: number; streamVersion: number; replayed: boolean }
  | { ok: false; currentVersion: number };

type BatchAppend = Omit<PendingAppend, 'resolve' | 'reject'>;

/**
 * One call of `strata.append_batch` (migrations/0007): arrays per append and per event. A named
 * statement, so each connection parses and plans it once rather than on every append.
 */
const appendBatchQuery = (values: unknown[]) => ({
  name: 'strata_append_batch',
  text: 'SELECT strata.append_batch($1::text[], $2::int[], $3::text[], $4::int[], $5::text[], $6::text[], $7::int[], $8, $9, $10::timestamptz) AS results',
  values,
});
/**
 * The hot reads as named statements: each connection parses them once and, since their estimates
 * do not depend on the values, PostgreSQL settles on one generic plan after five custom ones. An
 * unnamed statement is parsed, analysed and planned on every call: under the mixed load a quarter
 * of the backends' CPU, and a write's catch-up read cost 313–360 µs of backend CPU unnamed against
 * 130–190 µs named (readAll 227–380 against 63–167 µs), measured per call on one connection.
 */
const readStreamQuery = {
  name: 'strata_read_stream',
  text: `SELECT ${eventColumns} FROM strata.events WHERE stream_id = $1 AND stream_version >= $2 ORDER BY stream_version`,
};
const streamVersionQuery = {
  name: 'strata_stream_version',
  text: 'SELECT stream_version FROM strata.events WHERE stream_id = $1 ORDER BY stream_version DESC LIMIT 1',
};
const idempotentResultQuery = {
  name: 'strata_idempotent_result',
  text: 'SELECT positions, stream_version FROM strata.idempotency_keys WHERE key = $1',
};
const readAllQuery = {
  name: 'strata_read_all',
  text: `SELECT ${eventColumns} FROM strata.events WHERE position > $1 ORDER BY position LIMIT $2`,
};
const readForViewsQuery = {
  name: 'strata_read_for_views',
  text: `SELECT ${viewColumns} FROM strata.events WHERE position > $1 ORDER BY position LIMIT $2`,
};
const headPositionQuery = { name: 'strata_head_position', text: 'SELECT position FROM strata.log_head WHERE id = 1' };

/**
 * `readStreams` for `count` streams: a VALUES list rather than unnest over array parameters, whose
 * generic estimate (ten elements) always looks worse than a custom plan's, so a named unnest was
 * still planned on every call. Named up to `namedReadStreams` streams (a write reads two or three).
 */
const namedReadStreams = 8;
const readStreamsTexts = new Map<number, string>();
const readStreamsQuery = (count: number, values: unknown[]) => {
  let text = readStreamsTexts.get(count);
  if (text === undefined) {
    const rows = Array.from({ length: count }, (_, i) => `($${2 * i + 1}::text, $${2 * i + 2}::int, ${i + 1})`);
    text = `SELECT r.read, e.* FROM (VALUES ${rows.join(', ')}) AS r(stream_id, from_version, read)
         CROSS JOIN LATERAL (
           SELECT ${eventColumns} FROM strata.events
            WHERE stream_id = r.stream_id AND stream_version >= r.from_version ORDER BY stream_version
         ) e
        ORDER BY r.read, e.stream_version`;
    if (count <= namedReadStreams) readStreamsTexts.set(count, text);
  }
  return count <= namedReadStreams ? { name: `strata_read_streams_${count}`, text, values } : { text, values };
};

/** Joins the events' canonical JSON texts: JSON escapes every control character, so none holds this one. */
const recordSeparator = '\x1e';

const systemClock: Clock = { now: () => new Date() };
/**
 * ULIDs with random bytes drawn from a pooled buffer: `ulid()` alone asks the CSPRNG for every
 * character and costs ~70 µs, more than the rest of an append.
 */
const randomPool = new Uint8Array(4096);
let randomAt = randomPool.length;
const pooledRandom = (): number => {
  if (randomAt >= randomPool.length) {
    randomFillSync(randomPool);
    randomAt = 0;
  }
  return randomPool[randomAt++]! / 256;
};
const ulidIds: IdGenerator = { next: () => ulid(undefined, pooledRandom) };
/** Below this many queued events one commit takes them all: splitting costs a commit and saves little. */
const splitFrom = 200;
const defaultHistoryLimit = 1_000;
const maxHistoryLimit = 10_000;

/**
 * The event log on PostgreSQL. Appends are serialised on the single `strata.log_head` row: the
 * position is assigned while holding that row lock, which is released only after commit, so
 * commit order is position order and a reader never sees position n+1 before n (BRIEF
 * invariant 2). The lock is held for one statement and its commit (`strata.append_batch`, one
 * round trip), never across application round trips. To keep throughput while serialised,
 * concurrent `append` calls on one instance are combined into one transaction (group commit):
 * each keeps its own all-or-nothing outcome, because the function decides conflicts and replays
 * per append, under the lock, before writing that append's rows. Two such transactions may be on
 * their way at once (see #drain); appends to one stream keep the order they were issued in.
 */
export class PostgresEventLog implements EventLog {
  readonly #pool: pg.Pool;
  readonly #clock: Clock;
  readonly #ids: IdGenerator;
  readonly #upcasters: Upcasters;
  readonly #maxEventsPerCommit: number;
  readonly #commitsInFlight: number;
  #queue: PendingAppend[] = [];
  #lanesBusy = 0;
  #drainScheduled = false;
  /** Streams of the batches in flight, with how many batches hold each. */
  readonly #streamsInFlight = new Map<string, number>();

  constructor(pool: pg.Pool, options: PostgresEventLogOptions = {}) {
    this.#pool = pool;
    this.#clock = options.clock ?? systemClock;
    this.#ids = options.ids ?? ulidIds;
    this.#upcasters = options.upcasters ?? {};
    this.#maxEventsPerCommit = options.maxEventsPerCommit ?? 5_000;
    this.#commitsInFlight = Math.max(1, options.commitsInFlight ?? 2);
  }

  append(streamId: string, events: NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    let validated: PendingAppend['events'];
    try {
      validated = validateNewEvents(streamId, events);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<AppendResult>((resolve, reject) => {
      this.#queue.push({
        streamId,
        events: validated,
        expectedVersion: options.expectedVersion ?? 'any',
        idempotencyKey: options.idempotencyKey,
        resolve,
        reject,
      });
      this.#scheduleDrain();
    });
  }

  async readStream(streamId: string, fromVersion = 1): Promise<RecordedEvent[]> {
    const { rows } = await this.#pool.query<EventRow>({ ...readStreamQuery, values: [streamId, fromVersion] });
    return rows.map((row) => this.#toEvent(row));
  }

  async readStreams(reads: readonly StreamRead[]): Promise<RecordedEvent[][]> {
    const answers: RecordedEvent[][] = reads.map(() => []);
    if (reads.length === 0) return answers;
    // One statement for all of them: on a loaded machine a round trip costs more than the read,
    // and a write catches up its scope's streams (usually with nothing new) before every command.
    const { rows } = await this.#pool.query<EventRow & { read: number }>(
      readStreamsQuery(
        reads.length,
        reads.flatMap((r) => [r.streamId, r.fromVersion]),
      ),
    );
    for (const row of rows) answers[row.read - 1]!.push(this.#toEvent(row));
    return answers;
  }

  async streamVersion(streamId: string): Promise<number> {
    const { rows } = await this.#pool.query<{ stream_version: number }>({ ...streamVersionQuery, values: [streamId] });
    return rows[0]?.stream_version ?? 0;
  }

  async idempotentResult(idempotencyKey: string): Promise<IdempotentResult | null> {
    // Written by strata.append_batch in the append's own transaction (migration 0001 documents the table).
    const { rows } = await this.#pool.query<{ positions: string[]; stream_version: number }>({
      ...idempotentResultQuery,
      values: [idempotencyKey],
    });
    const row = rows[0];
    return row ? { positions: row.positions.map(Number), streamVersion: row.stream_version } : null;
  }

  async readAll(after: number, limit: number): Promise<RecordedEvent[]> {
    // Appends commit in position order (see the class comment), so every visible row is safe.
    const { rows } = await this.#pool.query<EventRow>({ ...readAllQuery, values: [after, limit] });
    return rows.map((row) => this.#toEvent(row));
  }

  async readForViews(after: number, limit: number): Promise<ProjectedEvent[]> {
    // The same visibility argument as readAll's: every committed row below the head is safe to read.
    const { rows } = await this.#pool.query<ViewRow>({
      ...readForViewsQuery,
      values: [after, limit],
      rowMode: 'array',
    });
    return rows.map((row) => upcast(projectedOfRow(row), this.#upcasters));
  }

  async history(filter: HistoryFilter): Promise<RecordedEvent[]> {
    const values: unknown[] = [];
    const conditions = conditionsOf(filter, values);
    const limit = Math.min(Math.max(1, filter.limit ?? defaultHistoryLimit), maxHistoryLimit);
    values.push(limit);
    const { rows } = await this.#pool.query<EventRow>(
      `SELECT ${eventColumns} FROM strata.events
        ${conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : ''}
        ORDER BY position LIMIT $${values.length}`,
      values,
    );
    return rows.map((row) => this.#toEvent(row));
  }

  async lastPositions(upTo: number, filters: readonly HistoryFilter[]): Promise<{ head: number; last: number[] }> {
    const values: unknown[] = [upTo];
    // Each probe walks its index backwards from `upTo` and stops at the first row (LIMIT 1).
    const probes = filters.map((filter, i) => {
      const conditions = [...conditionsOf(filter, values), 'position <= $1'];
      return `(SELECT position FROM strata.events WHERE ${conditions.join(' AND ')} ORDER BY position DESC LIMIT 1) AS p${i}`;
    });
    const { rows } = await this.#pool.query<Record<string, string | null>>(
      `SELECT (SELECT position FROM strata.log_head WHERE id = 1) AS head${probes.map((p) => `, ${p}`).join('')}`,
      // Without a probe nothing refers to $1, and PostgreSQL refuses a parameter nobody uses.
      probes.length > 0 ? values : [],
    );
    const row = rows[0] ?? {};
    return { head: Number(row['head'] ?? 0), last: filters.map((_, i) => Number(row[`p${i}`] ?? 0)) };
  }

  async lastKeyChanges(probes: readonly KeyChangeProbe[]): Promise<(RecordedEvent | null)[]> {
    const answers: (RecordedEvent | null)[] = probes.map(() => null);
    if (probes.length === 0) return answers;
    // Each probe walks events_key_ix (key, position) backwards from its position to the first row
    // of its stream, passing only that key's changes elsewhere, never the stream itself (which may
    // hold millions of events). The row comparison is what makes the planner take that index:
    // with a plain `position <` it walks the primary key backwards, through the whole log when the
    // key was never set before (120 ms instead of 23 ms at 400 k events, EXPLAIN ANALYZE).
    const { rows } = await this.#pool.query<EventRow & { probe: string }>(
      `SELECT p.probe, e.* FROM unnest($1::text[], $2::text[], $3::bigint[]) WITH ORDINALITY AS p(stream_id, key, before, probe)
         CROSS JOIN LATERAL (
           SELECT ${eventColumns} FROM strata.events
            WHERE (key, position) < (p.key, p.before) AND key = p.key AND stream_id = p.stream_id
              AND type IN ('ConfigValueSet', 'ConfigValueUnset')
            ORDER BY key DESC, position DESC LIMIT 1
         ) e`,
      [probes.map((p) => p.streamId), probes.map((p) => p.key), probes.map((p) => p.before)],
    );
    for (const row of rows) answers[Number(row.probe) - 1] = this.#toEvent(row);
    return answers;
  }

  async positionAt(time: string): Promise<number> {
    // recorded_at never decreases along positions: a binary search over them (migrations/0006).
    const { rows } = await this.#pool.query<{ position: string }>(
      'SELECT strata.last_position_recorded($1, true) AS position',
      [parseTime(time, 'time')],
    );
    return Number(rows[0]?.position ?? 0);
  }

  /**
   * Readies a fresh connection for the hot path before it serves one: parses the named statements
   * a write and a catch-up use (with a stream id no stream has, so they read nothing) and has the
   * backend compile strata.append_batch (called with no appends it returns before the lock). A
   * cold connection pays all of that on its first requests: a freshly started API answered writes
   * at p99 327 ms in its first half second under 500 writes/s, 20 connections opening at once.
   */
  async prepareConnection(client: pg.ClientBase): Promise<void> {
    const noStream = '';
    await client.query({ ...readStreamQuery, values: [noStream, 1] });
    // A write reads its scope's two or three streams (manifest, environment, tenant) in one statement.
    for (let count = 1; count <= 3; count++)
      await client.query(readStreamsQuery(count, Array.from({ length: count }, () => [noStream, 1]).flat()));
    await client.query({ ...streamVersionQuery, values: [noStream] });
    await client.query({ ...idempotentResultQuery, values: [noStream] });
    await client.query(headPositionQuery);
    await client.query(appendBatchQuery(new Array<null>(10).fill(null)));
  }

  async headPosition(): Promise<number> {
    const { rows } = await this.#pool.query<{ position: string }>(headPositionQuery);
    return Number(rows[0]?.position ?? 0);
  }

  /**
   * Starts commits while a lane is free. With two lanes the next batch is encoded, sent and
   * parsed by its backend while the one before it holds the head lock, so the lock is held only
   * for the function body and its commit, never while Node.js prepares rows or PostgreSQL parses
   * them. An append stays queued behind an in-flight batch holding its stream: appends to one
   * stream are committed in the order they were issued (their expected versions depend on it).
   */
  #drain(): void {
    while (this.#queue.length > 0 && this.#lanesBusy < this.#commitsInFlight) {
      const batch = this.#nextBatch();
      if (batch.length === 0) return;
      this.#lanesBusy += 1;
      const streams = new Set(batch.map((pending) => pending.streamId));
      for (const stream of streams) this.#streamsInFlight.set(stream, (this.#streamsInFlight.get(stream) ?? 0) + 1);
      void this.#settle(batch).finally(() => {
        this.#lanesBusy -= 1;
        for (const stream of streams) {
          const left = this.#streamsInFlight.get(stream)! - 1;
          if (left === 0) this.#streamsInFlight.delete(stream);
          else this.#streamsInFlight.set(stream, left);
        }
        this.#scheduleDrain();
      });
    }
  }

  /** Lets every append issued in this tick join the next batch. */
  #scheduleDrain(): void {
    if (this.#drainScheduled) return;
    this.#drainScheduled = true;
    queueMicrotask(() => {
      this.#drainScheduled = false;
      this.#drain();
    });
  }

  /**
   * The longest prefix of the queue that fits one commit and touches no stream in flight. With
   * both lanes idle and enough queued to be worth two commits, half of it, so the other half can
   * follow at once on the second lane.
   */
  #nextBatch(): PendingAppend[] {
    const queued = this.#queue.reduce((sum, pending) => sum + pending.events.length, 0);
    const split = this.#lanesBusy === 0 && this.#commitsInFlight > 1 && queued >= splitFrom;
    const share = split ? Math.ceil(queued / 2) : queued;
    let take = 0;
    let events = 0;
    for (const pending of this.#queue) {
      if (this.#streamsInFlight.has(pending.streamId)) break;
      if (take > 0 && (events + pending.events.length > this.#maxEventsPerCommit || events >= share)) break;
      take += 1;
      events += pending.events.length;
    }
    return this.#queue.splice(0, take);
  }

  async #settle(batch: PendingAppend[]): Promise<void> {
    try {
      const results = await this.#commit(batch);
      batch.forEach((pending, index) => pending.resolve(results[index]!));
    } catch (error) {
      if (batch.length > 1 && rolledBack(error)) {
        // One bad append must not fail the others it happened to share a transaction with.
        for (const pending of batch) {
          try {
            pending.resolve((await this.#commit([pending]))[0]!);
          } catch (alone) {
            pending.reject(appendFailure(alone));
          }
        }
      } else {
        for (const pending of batch) pending.reject(appendFailure(error));
      }
    }
  }

  /**
   * One transaction, one round trip, for a batch of appends (see migrations/0007): the function
   * decides each append's outcome under the head lock and returns them in order.
   */
  async #commit(batch: PendingAppend[]): Promise<AppendResult[]> {
    const { rows } = await this.#pool.query<{ results: BatchResult[] }>(appendBatchQuery(this.#batchArguments(batch)));
    return expandResults(rows[0]?.results, batch);
  }

  /**
   * Several streams in one transaction: `strata.append_batch` decides each append under the head
   * lock as usual, and the transaction commits only when every one of them went through. The
   * idempotency key rides on the LAST append, whose positions are the highest, so a replay answers
   * the position that reflects the whole call. Bypasses the group-commit queue: it must not share
   * a transaction with unrelated appends, whose fate it would decide.
   */
  async appendAll(appends: StreamAppend[], options: { idempotencyKey?: string } = {}): Promise<AppendAllResult> {
    if (appends.length === 0) throw new StrataError('VALIDATION_FAILED', 'appendAll needs at least one append');
    const entries: BatchAppend[] = appends.map((append, index) => ({
      streamId: append.streamId,
      events: validateNewEvents(append.streamId, append.events),
      expectedVersion: append.expectedVersion,
      idempotencyKey: index === appends.length - 1 ? options.idempotencyKey : undefined,
    }));
    const client = await this.#pool.connect();
    let release: Error | undefined;
    try {
      await client.query('BEGIN');
      let results: AppendResult[];
      try {
        const { rows } = await client.query<{ results: BatchResult[] }>(
          appendBatchQuery(this.#batchArguments(entries)),
        );
        results = expandResults(rows[0]?.results, entries);
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
      const last = results[results.length - 1]!;
      if (last.ok && last.replayed) {
        await client.query('ROLLBACK');
        return { ok: true, positions: last.positions, streamVersions: {}, replayed: true };
      }
      const conflict = results.findIndex((r) => !r.ok);
      if (conflict >= 0) {
        await client.query('ROLLBACK');
        const failed = results[conflict] as Extract<AppendResult, { ok: false }>;
        return {
          ok: false,
          reason: 'version_conflict',
          streamId: appends[conflict]!.streamId,
          currentVersion: failed.currentVersion,
          expectedVersion: failed.expectedVersion,
        };
      }
      await client.query('COMMIT');
      const streamVersions: Record<string, number> = {};
      const positions: number[] = [];
      results.forEach((r, i) => {
        if (!r.ok) return;
        positions.push(...r.positions);
        streamVersions[appends[i]!.streamId] = r.streamVersion;
      });
      return { ok: true, positions, streamVersions, replayed: false };
    } catch (error) {
      // A connection that failed mid-transaction must not go back to the pool.
      release = error instanceof Error ? error : new Error(String(error));
      throw appendFailure(error);
    } finally {
      client.release(release);
    }
  }

  /**
   * The function finishes each event's canonical JSON around the values it assigns under the lock
   * and parses the stored jsonb from the same text (migrations/0007), so data travels once.
   */
  #batchArguments(appends: readonly BatchAppend[]): unknown[] {
    const streamIds: string[] = [];
    const expectedVersions: (number | null)[] = [];
    const idempotencyKeys: (string | null)[] = [];
    const eventCounts: number[] = [];
    const eventIds: string[] = [];
    const types: string[] = [];
    const schemaVersions: number[] = [];
    let data = '';
    let metadata = '';
    for (const append of appends) {
      const expected = append.expectedVersion;
      streamIds.push(append.streamId);
      expectedVersions.push(expected === 'any' ? null : expected === 'no_stream' ? 0 : expected);
      idempotencyKeys.push(append.idempotencyKey ?? null);
      eventCounts.push(append.events.length);
      for (const event of append.events) {
        const separator = eventIds.length === 0 ? '' : recordSeparator;
        eventIds.push(this.#ids.next());
        types.push(event.type);
        schemaVersions.push(event.schemaVersion);
        data += separator + canonicalJson(event.data);
        metadata += separator + canonicalJson(event.metadata);
      }
    }
    const requestedAt = this.#clock.now().toISOString();
    return [
      streamIds,
      expectedVersions,
      idempotencyKeys,
      eventCounts,
      eventIds,
      types,
      schemaVersions,
      data,
      metadata,
      requestedAt,
    ];
  }

  #toEvent(row: EventRow): RecordedEvent {
    return upcast(eventOfRow(row), this.#upcasters);
  }
}

const expandResults = (results: BatchResult[] | undefined, appends: readonly BatchAppend[]): AppendResult[] => {
  if (!results || results.length !== appends.length) {
    throw new StrataError('INTERNAL', 'strata.append_batch answered an unexpected shape', { appends: appends.length });
  }
  return results.map((result, index) => {
    if (!result.ok) {
      const { expectedVersion } = appends[index]!;
      return { ok: false, reason: 'version_conflict', currentVersion: result.currentVersion, expectedVersion };
    }
    const { firstPosition, lastPosition, streamVersion, replayed } = result;
    // An append is never empty: a database whose function answers otherwise is not migrated.
    if (!Number.isInteger(firstPosition) || !Number.isInteger(lastPosition) || lastPosition < firstPosition) {
      throw new StrataError('INTERNAL', 'strata.append_batch answered without positions: run the migrations');
    }
    const positions = Array.from({ length: lastPosition - firstPosition + 1 }, (_, i) => firstPosition + i);
    return { ok: true, positions, streamVersion, replayed };
  });
};

/**
 * True when PostgreSQL answered the statement with an ERROR: the transaction certainly rolled
 * back, so its appends may be retried. A lost connection is ambiguous (the commit may have
 * happened) and is never retried here.
 */
const rolledBack = (error: unknown): boolean => error instanceof pg.DatabaseError && error.severity === 'ERROR';

const appendFailure = (error: unknown): StrataError => {
  if (error instanceof StrataError) return error;
  if (isPostgresUnavailable(error) && rolledBack(error))
    return new StrataError('UNAVAILABLE', 'the database is unavailable; nothing was appended', {}, { cause: error });
  return rolledBack(error)
    ? new StrataError('INTERNAL', 'append rejected by the database', {}, { cause: error })
    : new StrataError('UNAVAILABLE', 'append outcome unknown: the database connection failed', {}, { cause: error });
};

/** SQL conditions of a history filter (`?` numbered into `values`), in the columns of the log's indexes. */
const conditionsOf = (filter: HistoryFilter, values: unknown[]): string[] => {
  const conditions: string[] = [];
  const where = (sql: string, value: unknown) => {
    values.push(value);
    conditions.push(sql.replace('?', `$${values.length}`));
  };
  if (filter.namespace !== undefined) where('namespace = ?', filter.namespace);
  if (filter.environment === null) conditions.push('environment IS NULL');
  else if (filter.environment !== undefined) where('environment = ?', filter.environment);
  if (filter.tenant !== undefined) where('tenant = ?', filter.tenant);
  if (filter.key !== undefined) where('key = ?', filter.key);
  if (filter.actor !== undefined) where('actor = ?', filter.actor);
  if (filter.type !== undefined) where('type = ANY(?)', typeof filter.type === 'string' ? [filter.type] : filter.type);
  // Times as position bounds (recorded_at never decreases along positions), so the position walk stays an index walk.
  if (filter.from !== undefined)
    where('position > strata.last_position_recorded(?, false)', parseTime(filter.from, 'from'));
  if (filter.to !== undefined) where('position <= strata.last_position_recorded(?, false)', parseTime(filter.to, 'to'));
  if (filter.after !== undefined) where('position > ?', filter.after);
  if (filter.upTo !== undefined) where('position <= ?', filter.upTo);
  return conditions;
};

const parseTime = (value: string, name: string): Date => {
  const time = new Date(value);
  if (Number.isNaN(time.getTime()))
    throw new StrataError('BAD_REQUEST', `${name} is not an ISO 8601 time`, { [name]: value });
  return time;
};
