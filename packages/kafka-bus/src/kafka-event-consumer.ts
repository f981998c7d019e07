import type { RecordedEvent } from '@strata/core';
import { backoffMs, createLogger, type ConnectionState, type Logger } from '@strata/service-runtime';
import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { fromKafkaMessage } from './event-message.js';
import {
  connectionFor,
  createKafkaClient,
  isTransientKafkaError,
  kafkaRetry,
  type KafkaClientOptions,
} from './kafka-client.js';
import { keepMemberIdAcrossRestarts } from './keep-member-id.js';

keepMemberIdAcrossRestarts();

export interface KafkaEventConsumerOptions extends KafkaClientOptions {
  /** A member that sends no heartbeat for this long is removed from the group. Default 30 s. */
  sessionTimeoutMs?: number;
  /** Default 3 s; also the period of heartbeats sent while a handler runs. */
  heartbeatIntervalMs?: number;
  /**
   * Handled offsets are committed at most this often (default 100 ms), at the latest this long
   * after a batch, and at stop: see the class comment.
   */
  commitIntervalMs?: number;
}

export interface ConsumeOptions {
  groupId: string;
  topic: string;
  /** Where a group with no committed offset starts. Default true: a projector must see everything. */
  fromBeginning?: boolean;
  /**
   * Called with one partition's events in offset order. Offsets are committed only after it
   * resolves; when it throws, nothing is committed and the batch is delivered again (within a
   * second, for as long as it keeps failing), so handlers must be idempotent.
   */
  handleBatch(events: RecordedEvent[], partition: number): Promise<void>;
  /**
   * Called after each batch is handled, with that partition's lag as the batch saw it (its high
   * watermark at fetch time): a report that costs no request. `lag()` asks the broker.
   */
  onHandled?(lag: PartitionLag): void;
}

export interface PartitionLag {
  partition: number;
  /** Offset of the next message the broker will write. */
  highWatermark: number;
  /**
   * Next offset this group will read: past every handled event (committed, or handled by this
   * member and about to be); the partition's start when nothing is committed yet.
   */
  committed: number;
  lag: number;
}

/**
 * A consumer-group member that hands batches of events to a handler and commits a batch's offsets
 * only after the handler resolved: at-least-once delivery, never a lost acknowledgement.
 * Heartbeats continue while a slow handler runs, so a long batch does not cost the assignment.
 *
 * Commits are coalesced: at most one per `commitIntervalMs` for all the partitions it owns, the
 * last one at most that long after the batch it covers, and one at stop. Committing after every
 * batch cost the broker an OffsetCommit (an append to `__consumer_offsets`) per batch — under a
 * steady 500 writes/s the batches hold one or two events, and those commits were a fifth of the
 * broker's CPU samples (JFR), and the broker's CPU over a mixed run fell 5–16 % without them. What
 * a crash costs instead is redelivery of up to one interval of events, which handlers take (they
 * must be idempotent: a batch is redelivered after a failure anyway).
 *
 * Outages are ridden out: kafkajs retries at most 1 s apart and restarts its consumer after a lost
 * connection, and the restarted consumer rejoins under its old member id (keep-member-id.ts), so a
 * broker that comes back does not hold the group for the old member's session timeout.
 */
export class KafkaEventConsumer {
  /** Whether the group's broker answers (see KafkaClientOptions.connection). */
  readonly connection: ConnectionState;
  readonly #kafka: Kafka;
  readonly #logger: Logger;
  readonly #sessionTimeoutMs: number;
  readonly #heartbeatIntervalMs: number;
  #consumer: Consumer | undefined;
  #admin: Promise<Admin> | undefined;
  #groupId = '';
  #topic = '';
  #assigned: number[] = [];
  #stopping = false;
  #handlerFailing = false;
  readonly #commitIntervalMs: number;
  /** By partition, the next offset to read past what was handled, not yet committed. */
  readonly #uncommitted = new Map<number, number>();
  #lastCommitAt = 0;
  #commitTimer: NodeJS.Timeout | undefined;

  constructor({
    sessionTimeoutMs = 30_000,
    heartbeatIntervalMs = 3_000,
    commitIntervalMs = 100,
    ...client
  }: KafkaEventConsumerOptions) {
    this.#logger = client.logger ?? createLogger({ service: client.clientId ?? 'strata-consumer' });
    this.connection = connectionFor({ ...client, logger: this.#logger });
    this.#kafka = createKafkaClient({
      clientId: 'strata-consumer',
      ...client,
      logger: this.#logger,
      connection: this.connection,
    });
    this.#sessionTimeoutMs = sessionTimeoutMs;
    this.#heartbeatIntervalMs = heartbeatIntervalMs;
    this.#commitIntervalMs = commitIntervalMs;
  }

  /**
   * Joins the group and starts consuming; resolves once the consumer runs (not when it stops).
   * Until the broker answers and the topic exists with leaders (a relay creates it moments after a
   * cold start), it retries with capped backoff: a projector started first just waits.
   */
  async run(options: ConsumeOptions): Promise<void> {
    if (this.#consumer) throw new Error('KafkaEventConsumer.run called twice');
    this.#groupId = options.groupId;
    this.#topic = options.topic;
    for (let attempt = 1; ; attempt++) {
      const consumer = this.#create(options);
      this.#consumer = consumer;
      try {
        await consumer.connect();
        await consumer.subscribe({ topics: [options.topic], fromBeginning: options.fromBeginning ?? true });
        await consumer.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          eachBatch: (payload) => this.#eachBatch(payload, options),
        });
        return;
      } catch (error) {
        await consumer.disconnect().catch(() => undefined);
        if (this.#stopping || !isTransientKafkaError(error)) throw error;
        this.connection.lost(error, { groupId: options.groupId, topic: options.topic });
      }
      await new Promise((resolve) => setTimeout(resolve, backoffMs(attempt, 200, 2_000)));
      if (this.#stopping) return;
    }
  }

  #create({ groupId, topic }: ConsumeOptions): Consumer {
    const consumer = this.#kafka.consumer({
      groupId,
      sessionTimeout: this.#sessionTimeoutMs,
      heartbeatInterval: this.#heartbeatIntervalMs,
      allowAutoTopicCreation: false,
      // Fetch and heartbeat failures are retried for as long as the broker is away.
      retry: { ...kafkaRetry, retries: Number.MAX_SAFE_INTEGER },
    });
    const up = () => this.connection.restored({ groupId });
    consumer.on(consumer.events.HEARTBEAT, up);
    consumer.on(consumer.events.FETCH, up);
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      up();
      this.#assigned = [...(payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b);
      // A partition handed to another member is its to commit now; this member would only move its
      // offset back (a redelivery) or to where this member handled it (already applied).
      for (const partition of this.#uncommitted.keys())
        if (!this.#assigned.includes(partition)) this.#uncommitted.delete(partition);
      this.#logger.log('info', 'partitions assigned', { groupId, topic, partitions: this.#assigned });
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.#assigned = [];
      // kafkajs restarts after a retriable crash by itself: that is an outage, already reported.
      if (payload.restart) {
        this.connection.lost(payload.error, { groupId, topic });
        return;
      }
      this.#logger.log('error', 'consumer stopped by an error it cannot retry', {
        groupId,
        topic,
        error: payload.error.message,
      });
    });
    consumer.on(consumer.events.STOP, () => {
      this.#assigned = [];
    });
    return consumer;
  }

  /** Partitions this member currently owns (empty while rebalancing or stopped). */
  assignedPartitions(): number[] {
    return [...this.#assigned];
  }

  /**
   * Lag of this group on the partitions this member owns: high watermark − the next offset to read
   * (the committed one, or past what this member handled since, whichever is further).
   */
  async lag(): Promise<PartitionLag[]> {
    if (!this.#consumer) return [];
    const admin = await this.#connectedAdmin();
    const [watermarks, committedTopics] = await Promise.all([
      admin.fetchTopicOffsets(this.#topic),
      admin.fetchOffsets({ groupId: this.#groupId, topics: [this.#topic] }),
    ]);
    const committed = new Map(
      (committedTopics[0]?.partitions ?? []).map(({ partition, offset }) => [partition, Number(offset)]),
    );
    const owned = new Set(this.#assigned);
    return watermarks
      .filter(({ partition }) => owned.has(partition))
      .map(({ partition, high, low }) => {
        const highWatermark = Number(high);
        const offset = Math.max(committed.get(partition) ?? -1, this.#uncommitted.get(partition) ?? -1);
        const start = offset >= 0 ? offset : Number(low);
        return { partition, highWatermark, committed: start, lag: Math.max(0, highWatermark - start) };
      })
      .sort((a, b) => a.partition - b.partition);
  }

  /** Commits what was handled, lets the batch in progress finish and commit, then leaves the group. */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#commitTimer);
    // Bounded: with the broker away a commit would wait for it, and a stop must not. What it
    // leaves uncommitted is redelivered to the next member.
    const committing = this.#commit().catch((error: unknown) => this.#commitFailed(error));
    await Promise.race([committing, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    const consumer = this.#consumer;
    const admin = this.#admin;
    this.#admin = undefined;
    await consumer?.disconnect();
    await (await admin?.catch(() => undefined))?.disconnect();
    this.#assigned = [];
  }

  async #eachBatch(
    { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }: EachBatchPayload,
    { handleBatch, onHandled }: Pick<ConsumeOptions, 'handleBatch' | 'onHandled'>,
  ): Promise<void> {
    if (batch.messages.length === 0 || !isRunning() || isStale()) return;
    const events = batch.messages.map(fromKafkaMessage);
    // kafkajs sends heartbeats only between batches; a handler slower than the session timeout
    // would otherwise get this member evicted mid-batch. Errors here (e.g. a rebalance) surface
    // again at commit time, which is where they matter.
    let beating: Promise<void> = Promise.resolve();
    const timer = setInterval(() => {
      beating = heartbeat().catch((error: unknown) => {
        this.#logger.log('warn', 'heartbeat during batch failed', { error: String(error) });
      });
    }, this.#heartbeatIntervalMs);
    try {
      await handleBatch(events, batch.partition);
    } catch (error) {
      // kafkajs redelivers the batch within a second and logs that only at debug: say it once per
      // run of failures, not once per attempt.
      if (!this.#handlerFailing) {
        this.#handlerFailing = true;
        this.#logger.log('warn', 'batch handler failed; redelivering until it succeeds', {
          partition: batch.partition,
          error: error instanceof Error ? error.message : String(error),
        });
      }
      throw error;
    } finally {
      clearInterval(timer);
      await beating;
    }
    if (this.#handlerFailing) {
      this.#handlerFailing = false;
      this.#logger.log('info', 'batch handler succeeded again', { partition: batch.partition });
    }
    const lastOffset = batch.lastOffset();
    resolveOffset(lastOffset);
    // The committed offset is the next one to read.
    const next = Number(lastOffset) + 1;
    this.#uncommitted.set(batch.partition, next);
    const highWatermark = Number(batch.highWatermark);
    onHandled?.({ partition: batch.partition, highWatermark, committed: next, lag: Math.max(0, highWatermark - next) });
    // Inside the batch a failed commit fails it, as kafkajs expects (a rebalance: it is redelivered).
    if (this.#stopping || Date.now() - this.#lastCommitAt >= this.#commitIntervalMs)
      await this.#commit(commitOffsetsIfNecessary);
    else this.#commitTimer ??= setTimeout(() => this.#commitLater(), this.#commitIntervalMs).unref();
    await heartbeat();
  }

  /**
   * Commits every handled offset not committed yet, in one request; an offset handled meanwhile
   * stays for the next commit. `send` is the batch's own commit when called from inside one.
   */
  async #commit(send?: EachBatchPayload['commitOffsetsIfNecessary']): Promise<void> {
    clearTimeout(this.#commitTimer);
    this.#commitTimer = undefined;
    const consumer = this.#consumer;
    if (this.#uncommitted.size === 0 || !consumer) return;
    const offsets = [...this.#uncommitted];
    this.#lastCommitAt = Date.now();
    const partitions = offsets.map(([partition, offset]) => ({ partition, offset: String(offset) }));
    if (send) await send({ topics: [{ topic: this.#topic, partitions }] });
    else await consumer.commitOffsets(partitions.map((p) => ({ topic: this.#topic, ...p })));
    for (const [partition, offset] of offsets)
      if (this.#uncommitted.get(partition) === offset) this.#uncommitted.delete(partition);
  }

  /** The commit a quiet spell after a batch would otherwise never make; a failure waits for the next batch. */
  #commitLater(): void {
    this.#commitTimer = undefined;
    this.#commit().catch((error: unknown) => this.#commitFailed(error));
  }

  #commitFailed(error: unknown): void {
    // Not lost: the offsets stay and go with the next commit; meanwhile a restart redelivers them.
    this.#logger.log('debug', 'offset commit failed; the next one carries it', {
      error: error instanceof Error ? error.message : String(error),
    });
  }

  #connectedAdmin(): Promise<Admin> {
    this.#admin ??= (async () => {
      const admin = this.#kafka.admin({ retry: { retries: 1 } });
      await admin.connect();
      return admin;
    })();
    // A failed connect is not cached: the next call tries again.
    this.#admin.catch(() => {
      this.#admin = undefined;
    });
    return this.#admin;
  }
}
