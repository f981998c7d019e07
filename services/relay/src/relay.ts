import type { Server } from 'node:http';
import { StrataError, type RecordedEvent } from '@strata/core';
import { createKafkaClient, ensureTopic, isTransientKafkaError, KafkaPublisher } from '@strata/kafka-bus';
import { createPool, PostgresEventLog, subscribe, type CheckpointStore, type Subscription } from '@strata/postgres-log';
import { ConnectionState, createLogger, serveMetrics, type Logger } from '@strata/service-runtime';
import type { Admin } from 'kafkajs';
import type pg from 'pg';
import type { RelayConfig } from './relay-config.js';
import { RelayMetrics, type RelayMetricsSnapshot } from './relay-metrics.js';

export interface RelayOptions extends RelayConfig {
  logger?: Logger;
}

const errorFields = (error: unknown) =>
  error instanceof Error
    ? { error: error.message, errorName: error.name, ...('code' in error ? { errorCode: String(error.code) } : {}) }
    : { error: String(error) };

/**
 * Copies the event log to Kafka, in position order, at least once. The checkpoint
 * (`strata.checkpoints`, name `relay:<topic>`) moves only after Kafka acknowledged every event up
 * to it, so a crash re-publishes (consumers are idempotent, invariant 4) and never skips.
 *
 * Exactly one relay per topic publishes: leadership is a session-level advisory lock held on a
 * dedicated connection. When that connection dies the lock is released by PostgreSQL, so a standby
 * (retrying every `leaderRetryMs`) takes over; the old leader notices the same failure and stops
 * publishing before its next batch. The checkpoint is written through the lock connection itself,
 * so a relay that lost the lock can never move the checkpoint: its write would fail. A new leader
 * therefore always resumes from a checkpoint no later than anything a previous leader had in flight,
 * which keeps the first occurrence of every event in per-key order on the topic.
 */
export class Relay {
  readonly #config: RelayOptions;
  readonly #logger: Logger;
  readonly #metrics: RelayMetrics;
  readonly #checkpointName: string;
  #pool: pg.Pool | undefined;
  #lockPool: pg.Pool | undefined;
  #log: PostgresEventLog | undefined;
  #publisher: KafkaPublisher | undefined;
  #metricsServer: Server | undefined;
  #metricsPort: number | undefined;
  /** Shared by every Kafka client of this relay: one warning per outage, one gauge. */
  readonly #kafka: ConnectionState;
  #probeAdmin: Admin | undefined;
  #probeTimer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopping = false;
  #wakeStop: (() => void) | undefined;
  /** The connection that holds the lock while leading; undefined the instant it is lost. */
  #lockClient: pg.PoolClient | undefined;

  constructor(options: RelayOptions) {
    this.#config = options;
    this.#logger = options.logger ?? createLogger({ service: 'relay' });
    this.#metrics = new RelayMetrics(options.topic);
    this.#checkpointName = `relay:${options.topic}`;
    this.#kafka = new ConnectionState(this.#logger, 'kafka');
  }

  /** The port `/metrics` listens on, when configured. */
  get metricsPort(): number | undefined {
    return this.#metricsPort;
  }

  get isLeader(): boolean {
    return this.#lockClient !== undefined;
  }

  /** Ensures the topic, connects, serves metrics and starts competing for leadership. */
  async start(): Promise<void> {
    if (this.#running) throw new Error('Relay.start called twice');
    const { databaseUrl, brokers, topic, partitions, metricsPort } = this.#config;
    const kafkaLogger = this.#logger.child({ component: 'kafkajs' });
    const onPoolError = (error: Error) =>
      this.#logger.log('warn', 'idle database connection failed', errorFields(error));
    this.#pool = createPool(databaseUrl, { max: 4, application_name: 'strata-relay', onError: onPoolError });
    // One connection, kept for the lock: its session is the leadership. query_timeout turns a
    // half-open connection into an error within seconds instead of a leader that never notices.
    this.#lockPool = createPool(databaseUrl, {
      max: 1,
      keepAlive: true,
      query_timeout: 5_000,
      application_name: 'strata-relay-lock',
      onError: onPoolError,
    });
    this.#log = new PostgresEventLog(this.#pool);
    // Metrics first: while the broker is not reachable yet, the connected gauge says so.
    if (metricsPort !== undefined) {
      const { server, port } = await serveMetrics(metricsPort, () => this.metricsText());
      this.#metricsServer = server;
      this.#metricsPort = port;
    }
    const kafka = { brokers, clientId: 'strata-relay', logger: kafkaLogger, connection: this.#kafka };
    const ensured = await ensureTopic({ ...kafka, topic, partitions });
    this.#publisher = new KafkaPublisher({ ...kafka, topic });
    // A broker lost again right after ensureTopic is not a reason to exit: publish connects on
    // demand, and the failure is already counted as an outage.
    await this.#publisher.connect().catch((error: unknown) => {
      if (!isTransientKafkaError(error)) throw error;
    });
    // An idle relay sends nothing to Kafka; this cheap metadata request keeps the gauge and the
    // lost / restored lines true while there is nothing to publish.
    this.#probeAdmin = createKafkaClient(kafka).admin({ retry: { retries: 0 } });
    this.#probeTimer = setInterval(() => void this.#probe(), this.#config.kafkaProbeMs ?? 2_000);
    this.#logger.log('info', 'relay started', {
      topic,
      partitions: ensured.partitions,
      topicCreated: ensured.created,
      checkpoint: this.#checkpointName,
      metricsPort: this.#metricsPort ?? null,
      pid: process.pid,
    });
    this.#running = this.#compete();
  }

  /** Finishes the batch in flight, saves its checkpoint, gives up the lock and disconnects. */
  async stop(): Promise<void> {
    if (this.#stopping) return this.#running;
    this.#stopping = true;
    this.#wakeStop?.();
    clearInterval(this.#probeTimer);
    await this.#running;
    await this.#probeAdmin?.disconnect().catch(() => undefined);
    await this.#publisher?.disconnect();
    await this.#lockPool?.end();
    await this.#pool?.end();
    await new Promise<void>((resolve) =>
      this.#metricsServer ? this.#metricsServer.close(() => resolve()) : resolve(),
    );
    this.#logger.log('info', 'relay stopped', { topic: this.#config.topic, published: this.#metrics.published.total });
  }

  async metrics(): Promise<RelayMetricsSnapshot> {
    const pool = this.#require(this.#pool);
    const [head, checkpoint] = await Promise.all([
      this.#require(this.#log).headPosition(),
      pool.query<{ position: string }>('SELECT position FROM strata.checkpoints WHERE name = $1', [
        this.#checkpointName,
      ]),
    ]);
    const checkpointPosition = Number(checkpoint.rows[0]?.position ?? 0);
    return {
      lagPositions: Math.max(0, head - checkpointPosition),
      headPosition: head,
      checkpointPosition,
      publishedTotal: this.#metrics.published.total,
      publishRate: this.#metrics.published.perSecond(),
      isLeader: this.isLeader,
      kafkaConnected: this.#kafka.connected,
    };
  }

  async metricsText(): Promise<string> {
    return this.#metrics.render(await this.metrics());
  }

  /** Standby loop: try the lock every `leaderRetryMs`; lead while it is held; until stopped. */
  async #compete(): Promise<void> {
    const lockKey = `strata:relay:${this.#config.topic}`;
    let client: pg.PoolClient | undefined;
    while (!this.#stopping) {
      try {
        if (!client) {
          client = await this.#require(this.#lockPool).connect();
          // A checked-out pg client with no 'error' listener would crash the process on a dropped
          // connection; the failed query that follows tells us to reconnect.
          client.on('error', (error) => this.#logger.log('warn', 'lock connection failed', errorFields(error)));
        }
        const { rows } = await client.query<{ locked: boolean }>(
          'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked',
          [lockKey],
        );
        if (rows[0]?.locked) {
          const held = client;
          client = undefined;
          // After leading (lost lock or failure) wait like a standby before competing again.
          await this.#lead(held, lockKey);
        }
      } catch (error) {
        this.#logger.log('warn', 'leadership attempt failed', errorFields(error));
        client?.release(true);
        client = undefined;
      }
      await this.#sleepUnlessStopping(this.#config.leaderRetryMs);
    }
    client?.release();
  }

  /** Publishes while `client` holds the lock; returns when it is lost or the relay stops. */
  async #lead(client: pg.PoolClient, lockKey: string): Promise<void> {
    const { topic, batchSize, pollIntervalMs, leaderRetryMs } = this.#config;
    let lost!: () => void;
    const lostSignal = new Promise<void>((resolve) => (lost = resolve));
    const loseLock = (reason: string, error?: unknown) => {
      if (this.#lockClient !== client) return;
      // Synchronously, before anything else runs: the publish handler checks this first.
      this.#lockClient = undefined;
      this.#logger.log('error', 'leadership lost', { topic, reason, ...(error ? errorFields(error) : {}) });
      lost();
    };
    const onClientError = (error: Error) => loseLock('lock connection failed', error);
    client.on('error', onClientError);
    this.#lockClient = client;

    let subscription: Subscription | undefined;
    let healthy = true;
    const liveness = setInterval(() => {
      client.query('SELECT 1').catch((error: unknown) => loseLock('lock connection check failed', error));
    }, leaderRetryMs);
    try {
      const checkpoint = this.#fencedCheckpoint(client);
      this.#logger.log('info', 'leadership acquired', { topic, from: await checkpoint.load(), pid: process.pid });
      subscription = await subscribe({
        pool: this.#require(this.#pool),
        checkpoint,
        batchSize,
        pollIntervalMs,
        handler: (events) => this.#publish(client, events),
        // A broker outage fails every round until it ends: that is one warning (the connection
        // state), not one error line per round.
        onError: (error) =>
          isTransientKafkaError(error)
            ? this.#kafka.lost(error, { topic })
            : this.#logger.log('error', 'relay round failed', { topic, ...errorFields(error) }),
      });
      const stopSignal = new Promise<void>((resolve) => (this.#wakeStop = resolve));
      if (!this.#stopping) await Promise.race([lostSignal, stopSignal]);
    } catch (error) {
      loseLock('leading failed', error);
    } finally {
      clearInterval(liveness);
      // Lets the batch in flight finish; its checkpoint save succeeds only if the lock is still ours.
      await subscription?.stop();
      healthy = this.#lockClient === client;
      this.#lockClient = undefined;
      client.removeListener('error', onClientError);
      if (healthy) {
        try {
          await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [lockKey]);
          client.release();
        } catch {
          client.release(true);
        }
        this.#logger.log('info', 'leadership released', { topic });
      } else {
        // Destroy the connection: if the session still exists somewhere, ending it frees the lock.
        client.release(true);
      }
    }
  }

  async #publish(client: pg.PoolClient, events: RecordedEvent[]): Promise<void> {
    if (this.#lockClient !== client) {
      throw new StrataError('UNAVAILABLE', 'relay is not the leader: not publishing');
    }
    await this.#require(this.#publisher).publish(events);
    this.#metrics.published.record(events.length);
  }

  async #probe(): Promise<void> {
    const admin = this.#probeAdmin;
    if (!admin || this.#stopping) return;
    try {
      await admin.connect();
      await admin.fetchTopicMetadata({ topics: [this.#config.topic] });
      this.#kafka.restored();
    } catch (error) {
      this.#kafka.lost(error, { topic: this.#config.topic });
    }
  }

  /** The checkpoint, read and written on the lock connection: only the lock holder can move it. */
  #fencedCheckpoint(client: pg.PoolClient): CheckpointStore {
    const name = this.#checkpointName;
    return {
      load: async () => {
        const { rows } = await client.query<{ position: string }>(
          'SELECT position FROM strata.checkpoints WHERE name = $1',
          [name],
        );
        return Number(rows[0]?.position ?? 0);
      },
      save: async (position) => {
        if (this.#lockClient !== client)
          throw new StrataError('UNAVAILABLE', 'relay lost leadership: checkpoint not saved');
        await client.query(
          `INSERT INTO strata.checkpoints (name, position, updated_at) VALUES ($1, $2, now())
           ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at`,
          [name, position],
        );
      },
    };
  }

  async #sleepUnlessStopping(ms: number): Promise<void> {
    if (this.#stopping) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wakeStop = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  #require<T>(value: T | undefined): T {
    if (value === undefined) throw new StrataError('UNAVAILABLE', 'relay is not started');
    return value;
  }
}
