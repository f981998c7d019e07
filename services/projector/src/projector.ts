import type { Server } from 'node:http';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import type pg from 'pg';
import type { RecordedEvent } from '@strata/core';
import { KafkaEventConsumer } from '@strata/kafka-bus';
import { createPool, PostgresEventLog } from '@strata/postgres-log';
import { RedisViewStore, type RebuildResult } from '@strata/redis-views';
import { createLogger, serveMetrics, type Logger } from '@strata/service-runtime';
import type { ProjectorConfig } from './projector-config.js';
import { PartitionLagPublisher } from './partition-lag-publisher.js';
import { ProjectorMetrics } from './projector-metrics.js';

export interface ProjectorOptions extends ProjectorConfig {
  logger?: Logger;
  /** Names this member in its partition-lag reports; default `<host>:<pid>`. */
  instance?: string;
}

/**
 * Kafka → Redis views. Consumes `strata.events` in a consumer group (processes share the
 * partitions), applies each batch atomically per event with its position, and lets the consumer
 * commit offsets only after Redis acknowledged. Rebuilds from PostgreSQL when the views are
 * missing (first start, Redis flushed or restarted) or on request.
 */
export class Projector {
  readonly metrics: ProjectorMetrics;
  readonly #options: ProjectorOptions;
  readonly #logger: Logger;
  #redis: Redis | undefined;
  #pool: pg.Pool | undefined;
  #store: RedisViewStore | undefined;
  #log: PostgresEventLog | undefined;
  #consumer: KafkaEventConsumer | undefined;
  #server: Server | undefined;
  #watch: NodeJS.Timeout | undefined;
  #lag: PartitionLagPublisher | undefined;
  #askingLag = false;
  #rebuilding: Promise<RebuildResult | null> | null = null;
  #abort = new AbortController();
  #metricsPort: number | undefined;

  constructor(options: ProjectorOptions) {
    this.#options = options;
    this.#logger = options.logger ?? createLogger({ service: 'projector' });
    this.metrics = new ProjectorMetrics(options.groupId);
  }

  /** The port `/metrics` listens on, once started with `metricsPort` set. */
  get metricsPort(): number | undefined {
    return this.#metricsPort;
  }

  async start(): Promise<void> {
    const o = this.#options;
    this.#redis = new Redis(o.redisUrl, { lazyConnect: true });
    this.#redis.on('error', (error: Error) =>
      this.#logger.log('warn', 'redis connection error', { error: error.message }),
    );
    await this.#redis.connect();
    this.#pool = createPool(o.databaseUrl, {
      max: 4,
      onError: (error) => this.#logger.log('warn', 'postgres pool error', { error: error.message }),
    });
    this.#log = new PostgresEventLog(this.#pool);
    this.#store = new RedisViewStore({ redis: this.#redis, prefix: o.prefix });
    const lag = new PartitionLagPublisher(
      this.#store,
      { instance: o.instance ?? `${hostname()}:${process.pid}`, everyMs: o.watchIntervalMs },
      this.#logger,
    );
    this.#lag = lag;
    if (o.metricsPort !== undefined) {
      const served = await serveMetrics(o.metricsPort, () => this.renderMetrics());
      this.#server = served.server;
      this.#metricsPort = served.port;
    }
    if (await this.#store.needsRebuild()) void this.rebuild('no live view generation');
    this.#consumer = new KafkaEventConsumer({
      brokers: o.brokers,
      clientId: 'strata-projector',
      logger: this.#logger,
      sessionTimeoutMs: o.sessionTimeoutMs,
      heartbeatIntervalMs: o.heartbeatIntervalMs,
    });
    await this.#consumer.run({
      groupId: o.groupId,
      topic: o.topic,
      handleBatch: (events, partition) => this.#handle(events, partition),
      onHandled: (handled) => lag.report([handled]),
    });
    this.#watch = setInterval(() => {
      void this.#checkViews();
      void this.#reportLag();
    }, o.watchIntervalMs);
    void this.#reportLag();
    this.#logger.log('info', 'projector started', {
      topic: o.topic,
      group: o.groupId,
      prefix: o.prefix,
      metricsPort: this.#metricsPort,
    });
  }

  /**
   * Builds a new generation from the log and switches readers to it; resolves with its result, or
   * null when it failed (logged; the watchdog retries while the views are missing). One at a time.
   */
  rebuild(reason: string): Promise<RebuildResult | null> {
    if (this.#rebuilding) return this.#rebuilding;
    const store = this.#store;
    const log = this.#log;
    if (!store || !log) return Promise.resolve(null);
    this.#logger.log('info', 'rebuild started', { reason });
    const run = store
      .rebuild({
        eventLog: log,
        signal: this.#abort.signal,
        onProgress: (progress) => {
          this.metrics.rebuild = progress;
        },
      })
      .then(
        (result) => {
          if (result.rebuilt) this.metrics.recordRebuild();
          this.#logger.log('info', result.rebuilt ? 'rebuild finished' : 'rebuild finished by another projector', {
            ...result,
          });
          return result;
        },
        (error: unknown) => {
          if (!this.#abort.signal.aborted)
            this.#logger.log('error', 'rebuild failed', {
              error: error instanceof Error ? error.message : String(error),
            });
          return null;
        },
      )
      .finally(() => {
        this.metrics.rebuild = null;
        this.#rebuilding = null;
      });
    this.#rebuilding = run;
    return run;
  }

  /** Prometheus text: lag per partition, applied total and rate, rebuild progress, generation. */
  async renderMetrics(): Promise<string> {
    const [lag, generation] = await Promise.all([
      this.#consumer?.lag().catch(() => []) ?? [],
      this.#store?.generation().catch(() => null) ?? null,
    ]);
    return this.metrics.render({
      lag: lag.map(({ partition, lag: behind }) => ({ partition, lag: behind })),
      assignedPartitions: this.#consumer?.assignedPartitions().length ?? 0,
      generation,
      kafkaConnected: this.#consumer?.connection.connected ?? false,
    });
  }

  /** Partitions this process owns right now. */
  assignedPartitions(): number[] {
    return this.#consumer?.assignedPartitions() ?? [];
  }

  /** Finishes and commits the batch in flight, leaves the group, aborts a rebuild, closes connections. */
  async stop(): Promise<void> {
    clearInterval(this.#watch);
    await this.#consumer?.stop();
    this.#abort.abort();
    await this.#rebuilding;
    await this.#lag?.close();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
    await this.#pool?.end();
    await this.#redis?.quit().catch(() => undefined);
    this.#logger.log('info', 'projector stopped');
  }

  async #handle(events: RecordedEvent[], partition: number): Promise<void> {
    const result = await this.#store!.applyEvents(events);
    this.metrics.recordApplied(result.applied, result.duplicates);
    if (result.lost) {
      // Safe to commit: the positions are recorded as `missed`, and the rebuild may not go live
      // before it has read the log past them.
      this.#logger.log('warn', 'views lost; events kept for the rebuild', { partition, events: events.length });
      void this.rebuild('view generation lost');
    }
  }

  /**
   * The broker's committed offsets and high watermarks of the partitions this member owns, every
   * interval: that is what moves a partition back to 0 once the last batch is in, and what shows a
   * partition whose batches keep failing falling behind. One question at a time.
   */
  async #reportLag(): Promise<void> {
    if (this.#askingLag || !this.#consumer) return;
    this.#askingLag = true;
    try {
      this.#lag?.report(await this.#consumer.lag());
    } catch (error) {
      this.#logger.log('debug', 'partition lag unknown: Kafka did not answer', {
        error: error instanceof Error ? error.message : String(error),
      });
    } finally {
      this.#askingLag = false;
    }
  }

  async #checkViews(): Promise<void> {
    if (this.#rebuilding) return;
    try {
      if (await this.#store!.needsRebuild()) void this.rebuild('view generation marker missing');
    } catch (error) {
      this.#logger.log('warn', 'view check failed', { error: error instanceof Error ? error.message : String(error) });
    }
  }
}
