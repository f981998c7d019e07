import type { EventType, NewEvent, RecordedEvent } from './events.js';

/**
 * Ports: what the core needs from the outside world. Each adapter package implements one and runs
 * the shared contract suite for it; services wire them together.
 */

/** `'any'` appends whatever the stream holds; `'no_stream'` only to a new stream; a number demands that exact current version. */
export type ExpectedVersion = number | 'any' | 'no_stream';

export interface AppendOptions {
  expectedVersion?: ExpectedVersion;
  /** A retried command with the same key appends nothing and gets the original result back. */
  idempotencyKey?: string;
}

export type AppendResult =
  | {
      ok: true;
      /** Positions of the appended events, in order. */
      positions: number[];
      /** The stream's version after the append. */
      streamVersion: number;
      /** True when the idempotency key had been seen: nothing was appended this time. */
      replayed: boolean;
    }
  | { ok: false; reason: 'version_conflict'; currentVersion: number; expectedVersion: ExpectedVersion };

/** One stream's part of an atomic multi-stream append. */
export interface StreamAppend {
  streamId: string;
  events: NewEvent[];
  expectedVersion: ExpectedVersion;
}

export type AppendAllResult =
  | {
      ok: true;
      /** Positions of every appended event, in order (only the last append's when replayed). */
      positions: number[];
      /** Each stream's version after the append (empty when replayed). */
      streamVersions: Record<string, number>;
      replayed: boolean;
    }
  | {
      ok: false;
      reason: 'version_conflict';
      streamId: string;
      currentVersion: number;
      expectedVersion: ExpectedVersion;
    };

export interface HistoryFilter {
  namespace?: string;
  /** `null`: only events without an environment (a namespace's manifests and shreddings). */
  environment?: string | null;
  tenant?: string;
  key?: string;
  actor?: string;
  type?: EventType | readonly EventType[];
  /** Inclusive lower bound on recorded time (ISO 8601). */
  from?: string;
  /** Exclusive upper bound on recorded time (ISO 8601). */
  to?: string;
  /** Only events strictly after this position. */
  after?: number;
  /** Only events at or before this position. */
  upTo?: number;
  limit?: number;
}

export interface EventLog {
  /** Appends all events to one stream in one transaction, or none of them. */
  append(streamId: string, events: NewEvent[], options?: AppendOptions): Promise<AppendResult>;
  /**
   * Appends to several streams in ONE transaction: every append lands or none does (a conflict on
   * any stream rolls all of them back). The idempotency key covers the whole call.
   */
  appendAll(appends: StreamAppend[], options?: { idempotencyKey?: string }): Promise<AppendAllResult>;
  /** The stream's events from `fromVersion` (inclusive, 1-based) on. */
  readStream(streamId: string, fromVersion?: number): Promise<RecordedEvent[]>;
  /** The current version of a stream, 0 when it has no events. */
  streamVersion(streamId: string): Promise<number>;
  /**
   * A page of the global log strictly after `after`, in position order. Never returns an event
   * while an earlier position might still commit, so a reader that pages with it skips nothing.
   */
  readAll(after: number, limit: number): Promise<RecordedEvent[]>;
  /** Audit history, oldest first, using the log's indexes. */
  history(filter: HistoryFilter): Promise<RecordedEvent[]>;
  /** The highest position recorded at or before `time`, 0 if none. */
  positionAt(time: string): Promise<number>;
  /** The highest position safe to read (every event at or below it is committed and visible). */
  headPosition(): Promise<number>;
  /**
   * Read-your-writes across scopes: the head, and per filter the highest position at or below
   * `upTo` of an event it matches (0 if none). One round trip, one index probe per filter, so a
   * reader can tell a view that is behind from one that has nothing newer to show.
   */
  lastPositions(upTo: number, filters: readonly HistoryFilter[]): Promise<{ head: number; last: number[] }>;
}

/** Delivers events to a consumer strictly in position order, after its checkpoint. */
export interface EventHandler {
  (events: RecordedEvent[]): Promise<void>;
}

export interface Clock {
  now(): Date;
}

export interface IdGenerator {
  next(): string;
}

/**
 * Announcements of changes made outside the event log by any process (a token revoked, a tenant
 * key shredded), so in-process caches drop an entry at once instead of after a TTL.
 */
export interface ChangeFeed {
  /** True while announcements are being received: only then may a cache keep entries. */
  readonly listening: boolean;
  /** Moves on every announcement and gap: a lookup that saw it move raced a change and must not be cached. */
  readonly epoch: number;
  /** Calls `handler` with the payload (an id) of every announcement on `channel`. */
  on(channel: string, handler: (payload: string) => void): void;
  /** Calls `handler` whenever announcements may have been missed: drop everything cached. */
  onGap(handler: () => void): void;
}

/** One consumer's saved position, as `Checkpoints.list` reports it. */
export interface CheckpointRecord {
  name: string;
  position: number;
  /** When it was last saved (ISO 8601). */
  updatedAt: string;
}

/**
 * Where each named consumer of the log resumes: the last position it finished. A consumer saves only
 * after it handled everything up to the position, so a crash re-delivers instead of skipping.
 */
export interface Checkpoints {
  /** The saved position of `name`; 0 until its first save. */
  load(name: string): Promise<number>;
  /** Makes `position` the checkpoint of `name`. The last save wins, even a lower one: a consumer that rewinds says so. */
  save(name: string, position: number): Promise<void>;
  /** Every saved checkpoint, ordered by name: how far each consumer has come. */
  list(): Promise<CheckpointRecord[]>;
}

/** Why a lease ended without being released. */
export interface LeaseLoss {
  reason: string;
  cause?: unknown;
}

/**
 * Elects one holder per name among competing processes: exactly one relay publishes a topic. One
 * instance is one candidate and holds at most one lease at a time.
 */
export interface LeaderLease {
  /**
   * One attempt: the lease on `name` when nobody holds it, `undefined` while another candidate does.
   * Rejects when the backend cannot be reached; the next attempt reconnects.
   */
  tryAcquire(name: string): Promise<Lease | undefined>;
  /** Gives up what is kept for the next attempt. Release a held lease first. */
  close(): Promise<void>;
}

/** A held leadership. It is lost when its backend session is (a dropped connection, a killed session). */
export interface Lease {
  readonly name: string;
  /** True until the lease is released or lost; false synchronously the moment a loss is noticed. */
  readonly held: boolean;
  /** Resolves when the lease is lost — never when it is released. */
  readonly lost: Promise<LeaseLoss>;
  /**
   * Checks with the backend that the lease is still held (the adapter also does so by itself at its
   * own interval). False, with `lost` resolved, when it is not.
   */
  renew(): Promise<boolean>;
  /**
   * Checkpoints written under the lease: a save fails once the lease is gone, in the backend itself
   * even before this process noticed. So a holder that lost its lease can never move a checkpoint
   * that its successor already resumed from.
   */
  readonly checkpoints: Checkpoints;
  /** Gives the lease up, so another candidate can take it at once. */
  release(): Promise<void>;
}
