import type { Server } from 'node:http';
import { StrataError, type Checkpoints, type LeaderLease, type Lease, type RecordedEvent } from '@strata/core';
import {
  createKafkaClient,
  ensureTopic,
  isTransientKafkaError,
  kafkaConnectionState,
  KafkaPublisher,
} from '@strata/kafka-bus';
import {
  createPool,
  PostgresCheckpoints,
  PostgresEventLog,
  PostgresLeaderLease,
  subscribe,
  type Subscription,
} from '@strata/postgres-log';
import type { ConnectionState } from '@strata/service-runtime';
import { createLogger, serveMetrics, type Logger } from '@strata/service-runtime';
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
 * Exactly one relay per topic publishes: the one holding the leader lease `strata:relay:<topic>`. A
 * standby tries to take it every `leaderRetryMs`. The leader stops publishing the moment its lease
 * is lost, and saves its checkpoint only through the lease's fenced checkpoints, so a relay that lost
 * the lease can never move the checkpoint. A new leader therefore always resumes from a checkpoint no
 * later than anything a previous leader had in flight, which keeps the first occurrence of every
 * event in per-key order on the topic.
 */
export class Relay {
  readonly #config: RelayOptions;
  readonly #logger: Logger;
  readonly #metrics: RelayMetrics;
  readonly #checkpointName: string;
  #pool: pg.Pool | undefined;
  #log: PostgresEventLog | undefined;
  #checkpoints: Checkpoints | undefined;
  #leases: LeaderLease | undefined;
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
  /** The lease while leading. */
  #lease: Lease | undefined;

  constructor(options: RelayOptions) {
    this.#config = options;
    this.#logger = options.logger ?? createLogger({ service: 'relay' });
    this.#metrics = new RelayMetrics(options.topic);
    this.#checkpointName = `relay:${options.topic}`;
    this.#kafka = kafkaConnectionState(this.#logger);
  }

  /** The port `/metrics` listens on, when configured. */
  get metricsPort(): number | undefined {
    return this.#metricsPort;
  }

  get isLeader(): boolean {
    return this.#lease?.held ?? false;
  }

  /** Ensures the topic, connects, serves metrics and starts competing for leadership. */
  async start(): Promise<void> {
    if (this.#running) throw new Error('Relay.start called twice');
    const { databaseUrl, brokers, topic, partitions, metricsPort } = this.#config;
    const kafkaLogger = this.#logger.child({ component: 'kafkajs' });
    const onPoolError = (error: Error) =>
      this.#logger.log('warn', 'idle database connection failed', errorFields(error));
    this.#pool = createPool(databaseUrl, { max: 4, application_name: 'strata-relay', onError: onPoolError });
    this.#log = new PostgresEventLog(this.#pool);
    this.#checkpoints = new PostgresCheckpoints(this.#pool);
    this.#leases = new PostgresLeaderLease(databaseUrl, {
      applicationName: 'strata-relay-lock',
      renewEveryMs: this.#config.leaderRetryMs,
      onError: (error) => this.#logger.log('warn', 'lock connection failed', errorFields(error)),
    });
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
    await this.#leases?.close();
    await this.#pool?.end();
    await new Promise<void>((resolve) =>
      this.#metricsServer ? this.#metricsServer.close(() => resolve()) : resolve(),
    );
    this.#logger.log('info', 'relay stopped', { topic: this.#config.topic, published: this.#metrics.published.total });
  }

  async metrics(): Promise<RelayMetricsSnapshot> {
    const [head, checkpointPosition] = await Promise.all([
      this.#require(this.#log).headPosition(),
      this.#require(this.#checkpoints).load(this.#checkpointName),
    ]);
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

  /** Standby loop: try the lease every `leaderRetryMs`; lead while it is held; until stopped. */
  async #compete(): Promise<void> {
    const leaseName = `strata:relay:${this.#config.topic}`;
    while (!this.#stopping) {
      try {
        const lease = await this.#require(this.#leases).tryAcquire(leaseName);
        // After leading (lost lease or failure) wait like a standby before competing again.
        if (lease) await this.#lead(lease);
      } catch (error) {
        this.#logger.log('warn', 'leadership attempt failed', errorFields(error));
      }
      await this.#sleepUnlessStopping(this.#config.leaderRetryMs);
    }
  }

  /** Publishes while `lease` is held; returns when it is lost or the relay stops. */
  async #lead(lease: Lease): Promise<void> {
    const { topic, batchSize, pollIntervalMs } = this.#config;
    const loss = (reason: string, cause?: unknown) =>
      this.#logger.log('error', 'leadership lost', { topic, reason, ...(cause ? errorFields(cause) : {}) });
    void lease.lost.then(({ reason, cause }) => loss(reason, cause));
    this.#lease = lease;
    let failed = false;
    let subscription: Subscription | undefined;
    try {
      this.#logger.log('info', 'leadership acquired', {
        topic,
        from: await lease.checkpoints.load(this.#checkpointName),
        pid: process.pid,
      });
      subscription = await subscribe({
        pool: this.#require(this.#pool),
        consumer: this.#checkpointName,
        checkpoints: lease.checkpoints,
        batchSize,
        pollIntervalMs,
        handler: (events) => this.#publish(lease, events),
        // A broker outage fails every round until it ends: that is one warning (the connection
        // state), not one error line per round.
        onError: (error) =>
          isTransientKafkaError(error)
            ? this.#kafka.lost(error, { topic })
            : this.#logger.log('error', 'relay round failed', { topic, ...errorFields(error) }),
      });
      const stopSignal = new Promise<void>((resolve) => (this.#wakeStop = resolve));
      if (!this.#stopping) await Promise.race([lease.lost, stopSignal]);
    } catch (error) {
      failed = true;
      if (lease.held) loss('leading failed', error);
    } finally {
      // Lets the batch in flight finish; its checkpoint save succeeds only if the lease is still ours.
      await subscription?.stop();
      const healthy = lease.held && !failed;
      this.#lease = undefined;
      await lease.release();
      if (healthy) this.#logger.log('info', 'leadership released', { topic });
    }
  }

  async #publish(lease: Lease, events: RecordedEvent[]): Promise<void> {
    if (!lease.held || this.#lease !== lease) {
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
