import type { EventType, NewEvent, ProjectedEvent, RecordedEvent } from './events.js';
import type { EvaluationContext, FlagResolution } from './flag-definition.js';
import type { FlagEvaluation } from './flags.js';
import type { ResolvedConfig } from './resolve.js';
import type { NamespaceEnvState } from './scope-state.js';

/**
 * Ports: what the core needs from the outside world. Each adapter package implements one and runs
 * the shared contract suite for it; services wire them together.
 */

/** The levels a `Logger` writes at, from the most to the least verbose. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * What services and adapters log through: one JSON object per line (pino's shape), so every
 * process's lines parse the same way. Pass names, counts and reasons, never event data.
 */
export interface Logger {
  /** Writes one line at `level` with `msg` and `fields` (secret-shaped fields are censored by the adapter). */
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
  /** A logger that adds `fields` to every line, e.g. `{ component: 'publisher' }`. */
  child(fields: Record<string, unknown>): Logger;
}

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

/** What an idempotency key's append answered the first time. */
export interface IdempotentResult {
  /** Positions of the events that append wrote, in order (of the last stream's append for `appendAll`). */
  positions: number[];
  /** The stream's version after that append. */
  streamVersion: number;
}

/** One stream of a `readStreams` call, from `fromVersion` (inclusive, 1-based) on. */
export interface StreamRead {
  streamId: string;
  fromVersion: number;
}

/** One `lastKeyChanges` probe: config key `key` of stream `streamId`, strictly before position `before`. */
export interface KeyChangeProbe {
  streamId: string;
  key: string;
  before: number;
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
  /**
   * `readStream` for several streams at once, in one round trip: one list per read, in the order
   * asked. A command reads its scope's two or three streams this way before every write.
   */
  readStreams(reads: readonly StreamRead[]): Promise<RecordedEvent[][]>;
  /** The current version of a stream, 0 when it has no events. */
  streamVersion(streamId: string): Promise<number>;
  /**
   * A page of the global log strictly after `after`, in position order. Never returns an event
   * while an earlier position might still commit, so a reader that pages with it skips nothing.
   */
  readAll(after: number, limit: number): Promise<RecordedEvent[]>;
  /**
   * The page `readAll` answers, each event only with what views fold (see `ProjectedEvent`), for
   * rebuilds: same order, same upcasting, nothing skipped.
   */
  readForViews(after: number, limit: number): Promise<ProjectedEvent[]>;
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
  /**
   * For each probe, the stream's latest `ConfigValueSet` or `ConfigValueUnset` of the key before
   * the probe's position, or null when there is none: the value a change replaced (the history's
   * before/after). One round trip, one index probe each, however long the stream has grown.
   */
  lastKeyChanges(probes: readonly KeyChangeProbe[]): Promise<(RecordedEvent | null)[]>;
  /**
   * What the append that first used `idempotencyKey` answered, or null when the key is unseen. A
   * writer checks it before deciding, so a retried command returns the original result without
   * deciding again on state the first attempt already changed.
   */
  idempotentResult(idempotencyKey: string): Promise<IdempotentResult | null>;
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

/** A bearer token as stored: never the token itself, never its hash. */
export interface TokenRecord {
  id: string;
  role: string;
  /** How far the token reaches; null at a level means all of it. */
  namespace: string | null;
  environment: string | null;
  tenant: string | null;
  description: string | null;
  createdBy: string;
  createdAt: string;
  revokedAt: string | null;
  /** After this instant the token is refused; null: until revoked. */
  expiresAt: string | null;
  /** The successor a rotation issued; this token stays valid until its (shortened) `expiresAt`. */
  rotatedTo: string | null;
}

/** A token to store: its id, the sha256 of the token, and who it is for. */
export type NewTokenRecord = Omit<TokenRecord, 'createdAt' | 'revokedAt' | 'rotatedTo'> & { tokenHash: Uint8Array };

/** Which tokens `TokenStore.list` answers. */
export interface TokenFilter {
  id?: string;
  namespace?: string | null;
  /** Without `id`, only live tokens (neither revoked nor expired) unless this is set. */
  includeRevoked?: boolean;
}

/** API bearer tokens, stored by hash. Tokens are minted and hashed by the caller. */
export interface TokenStore {
  /** The unrevoked token with this sha256 hash, expired or not (the caller says why it refuses); null when none. */
  findByHash(tokenHash: Uint8Array): Promise<TokenRecord | null>;
  /** Stores a new token; its id and hash are unique. */
  insert(token: NewTokenRecord): Promise<TokenRecord>;
  /**
   * Atomically stores `successor` with the role, scope and description of live token `id`, marks
   * `id` rotated to it and shortens its expiry to `previousValidUntil` (never lengthens it). Throws
   * NOT_FOUND when no live token has this id, VERSION_CONFLICT when it was already rotated.
   */
  rotate(
    id: string,
    successor: Pick<NewTokenRecord, 'id' | 'tokenHash' | 'createdBy' | 'expiresAt'>,
    previousValidUntil: string,
  ): Promise<{ previous: TokenRecord; record: TokenRecord }>;
  /** Revokes token `id` on behalf of `by`; NOT_FOUND when no unrevoked token has this id. */
  revoke(id: string, by: string): Promise<void>;
  /** Tokens matching `filter`, oldest first (at most 1000). */
  list(filter: TokenFilter): Promise<TokenRecord[]>;
}

/** One plaintext read of a secret, as the secret access log keeps it. */
export interface SecretAccess {
  actor: string;
  tokenId: string | null;
  namespace: string;
  environment: string;
  tenant: string | null;
  name: string;
  version: number;
  ip: string | null;
  userAgent: string | null;
  requestId: string;
}

/** Append-only record of every plaintext secret read (invariant 7's audit trail). */
export interface SecretAccessLog {
  /**
   * Records one read BEFORE the secret is decrypted; rejects with UNAVAILABLE when it cannot, and
   * the caller then must not reveal the secret (fail closed: no plaintext leaves without a trace).
   */
  record(access: SecretAccess): Promise<void>;
}

/** A folded state of one scope as of a log position, serialized to JSON text. */
export interface SerializedSnapshot {
  scope: string;
  position: number;
  /** JSON text: serialized early, a string costs the GC nothing to trace. */
  json: string;
}

/** A stored snapshot, its state parsed. What the state means is the caller's business. */
export interface Snapshot<State = unknown> {
  scope: string;
  position: number;
  state: State;
}

/** Derived states of the log, so a read of the past folds only the events after the nearest one. */
export interface SnapshotStore {
  /** The position of the latest snapshot of `scope` at or before `position`, null when none; reads no state. */
  positionAtOrBefore(scope: string, position: number): Promise<number | null>;
  /** The latest snapshot of `scope` at or before `position`, null when none: fold the log from there. */
  loadAtOrBefore<State = unknown>(scope: string, position: number): Promise<Snapshot<State> | null>;
  /** Stores (or replaces) many snapshots at once; of duplicates the last wins. Snapshots are derived and may be dropped. */
  saveAll(snapshots: readonly SerializedSnapshot[]): Promise<void>;
}

/** The version of one environment view, as a read cache keys it. */
export interface ViewVersions {
  /**
   * An opaque token that changes whenever the view's content may have changed: the live
   * generation and the positions of the environment view and of its namespace's (manifest) view.
   * Both positions, not their maximum: the two views are fed from different Kafka keys, so a
   * manifest event may land after a later environment event and leave the maximum unchanged.
   * Fresh: it reflects every change applied before the call. Throws `UNAVAILABLE` while no
   * generation is live, like the view reader.
   */
  version(namespace: string, environment: string): Promise<string>;
  /**
   * The version without a round trip, when the adapter is told of every change (Redis pub/sub)
   * and has heard of none to this view since it last read the version; undefined otherwise (read
   * `version`). Not fresh: a change applied moments ago may still be on its way, so a caller that
   * must reflect a given position (read-your-writes) reads `version`.
   */
  known(namespace: string, environment: string): string | undefined;
}

/** Positions of an environment view and of its namespace's (manifest) view. */
export interface ViewPositions {
  environment: number;
  namespace: number;
}

/** A flag resolved flagd-style by a view reader, with what the view knows of the flag. */
export interface ViewFlagResolution {
  resolution: FlagResolution;
  /** True when the flag has a flagd definition (false for the rollout shorthand, or unset). */
  definition: boolean;
  /** True when the manifest declares the flag. */
  declared: boolean;
  /** Position of the change the resolution rests on: the tenant's override, else the flag's; 0 when unset. */
  position: number;
}

/** Resolved reads of the present from the projected views. Each throws UNAVAILABLE while no view generation is live. */
export interface ViewReader {
  /** A tenant's resolved config (tenant → environment → manifest default); `tenant: null` for the environment's. */
  resolvedConfig(
    namespace: string,
    environment: string,
    tenant: string | null,
  ): Promise<ResolvedConfig & { generation: number }>;
  /** A flag evaluated for a tenant (the percentage rollout shorthand and overrides). */
  flag(namespace: string, environment: string, flag: string, tenant: string): Promise<FlagEvaluation>;
  /** A flag resolved flagd-style against an evaluation context, and whether it is defined and declared. */
  resolveFlag(
    namespace: string,
    environment: string,
    flag: string,
    context: EvaluationContext,
    tenant: string | undefined,
  ): Promise<ViewFlagResolution>;
  /** The positions the environment view and its namespace view have applied through. */
  viewPositions(namespace: string, environment: string): Promise<ViewPositions>;
  /**
   * Read-your-writes: resolves once the environment view reached `targets.environment` and the
   * namespace view `targets.namespace`; throws TIMEOUT after `timeoutMs`.
   */
  waitForPositions(
    namespace: string,
    environment: string,
    targets: ViewPositions,
    timeoutMs: number,
  ): Promise<ViewPositions>;
}

/** One environment's whole view as core's state, read as one consistent snapshot. */
export interface ViewSnapshot {
  generation: number;
  /** max(environment view position, namespace (manifest) position). */
  position: number;
  state: NamespaceEnvState;
}

/** A view reader that also shows a view whole: what the views contract compares with core's fold. */
export interface ViewStateReader extends ViewReader {
  /** The view's position: the greater of the environment view's and its namespace view's. */
  viewPosition(namespace: string, environment: string): Promise<number>;
  /** The whole environment view as core's state, with the view's generation and position. */
  loadView(namespace: string, environment: string): Promise<ViewSnapshot>;
}

/** How far a rebuild of the views has come. */
export interface RebuildProgress {
  generation: number;
  /** Log position the rebuild has applied through. */
  position: number;
  /** Log head when last asked. */
  head: number;
  events: number;
  eventsPerSecond: number;
}

/** How to rebuild the views: from which log, how fast, and when to give up. */
export interface RebuildOptions {
  /** Only `readForViews` and `headPosition` are used: rebuilds read the log, never the bus. */
  eventLog: Pick<EventLog, 'readForViews' | 'headPosition'>;
  onProgress?: (progress: RebuildProgress) => void;
  pageSize?: number;
  /** How long readers that resolved the old generation may keep using it before it is dropped. */
  dropDelayMs?: number;
  signal?: AbortSignal;
}

/** The generation a rebuild made live (or found live), and how much of the log it applied. */
export interface RebuildResult {
  generation: number;
  previous: number | null;
  position: number;
  events: number;
  eventsPerSecond: number;
  /** False when another process held the rebuild lease; its result is then live. */
  rebuilt: boolean;
}

/** What a projector knows about one partition it owns. */
export interface PartitionOffsets {
  partition: number;
  /** Next offset the group will read. */
  committed: number;
  /** Offset of the next message the broker will write. */
  highWatermark: number;
}

/** Who reported, and how often it reports (which decides when its entries count as stale). */
export interface LagReporter {
  /** The reporting member, e.g. `host:pid`. */
  instance: string;
  /** The member's reporting interval. */
  everyMs: number;
}

/** Where a projector publishes the lag of the partitions it owns, for the status route and the console. */
export interface PartitionLagSink {
  /** Stores each partition's offsets as this reporter's latest, stamped with the store's own clock. */
  publishPartitionLag(reporter: LagReporter, partitions: readonly PartitionOffsets[]): Promise<void>;
}

/** One partition's last lag report, as read back. */
export interface PartitionLagReport extends PartitionOffsets, LagReporter {
  /** highWatermark − committed, never negative. */
  lag: number;
  /** When it was reported (the store's clock), RFC 3339. */
  updatedAt: string;
  /** How long ago, by the store's clock. */
  ageMs: number;
  /** No report for longer than the reporter's staleness bound: the owner is gone, hung or cut off from the bus. */
  stale: boolean;
}

/** The generations of the projected views: which is live, and building the next from the log. */
export interface ViewGenerations {
  /** Builds a new generation of the views from the log and switches to it atomically once complete. */
  rebuild(options: RebuildOptions): Promise<RebuildResult>;
  /** The live generation, null when none is live. */
  generation(): Promise<number | null>;
  /** True when the views must be rebuilt: no live generation, or its data is gone. */
  needsRebuild(): Promise<boolean>;
}

/** What applying a batch of events to the views did. */
export interface ApplyResult {
  /** Events that changed a view. */
  applied: number;
  /** Events at or below their view's position: redeliveries, changed nothing. */
  duplicates: number;
  /** Events no view holds (tokens, key rotation). */
  ignored: number;
  /** True when no live generation exists (Redis flushed or restarted): the caller must rebuild. */
  lost: boolean;
}

/** The writing side of the views the projector drives. */
export interface ViewWriter extends ViewGenerations {
  /** Applies events to the live generation; an event at or below its view's position changes nothing. */
  applyEvents(events: readonly RecordedEvent[]): Promise<ApplyResult>;
}

/** Rebuild and status of the projected views (operators' projection controls). */
export interface ProjectionControl extends ViewGenerations {
  /** Every partition's last projector lag report with its age, by partition; empty before any projector reported. */
  partitionLag(): Promise<PartitionLagReport[]>;
}

/** What a hash-chain verification of the log found: every event intact, or the first position that is not. */
export type ChainVerification =
  { ok: true; checked: number; head: number } | { ok: false; firstBadPosition: number; checked: number };
