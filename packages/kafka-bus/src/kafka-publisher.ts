import type { RecordedEvent } from '@strata/core';
import type { ConnectionState } from '@strata/service-runtime';
import {
  CompressionTypes,
  Partitioners,
  type ICustomPartitioner,
  type Kafka,
  type Message,
  type Producer,
} from 'kafkajs';
import { toKafkaMessage } from './event-message.js';
import './kafkajs-record-encoder.js';
import { connectionFor, createKafkaClient, isTransientKafkaError, type KafkaClientOptions } from './kafka-client.js';

export interface KafkaPublisherOptions extends KafkaClientOptions {
  topic: string;
  /**
   * Upper bound on the JSON bytes of one produce request; larger publishes are split into several
   * requests sent one after another. Kept well under the broker's default `message.max.bytes`
   * (1 MiB per partition batch). Default 512 KiB.
   */
  maxRequestBytes?: number;
  /** How long the broker may take to gather the acknowledgements of all replicas. Default 30 s. */
  ackTimeoutMs?: number;
  compression?: CompressionTypes;
}

/** Keys whose partition is remembered; past it the memory starts again (a recomputation, never a wrong partition). */
const maxRememberedKeys = 10_000;

/**
 * `partitioner`, remembering the partition of each key per topic and partition count. A keyed
 * message's partition is murmur2(key) modulo the partition count, nothing else, and our keys are the
 * few `namespace/environment` scopes a log holds; computing it per message (kafkajs also filters the
 * partition list each time) was 7 % of the relay's CPU while it drains a backlog.
 */
export const rememberingPartitioner =
  (partitioner: ICustomPartitioner): ICustomPartitioner =>
  () => {
    const partitionOf = partitioner();
    const remembered = new Map<string, Map<string, number>>();
    return (args) => {
      const { topic, partitionMetadata, message } = args;
      if (message.partition != null || typeof message.key !== 'string') return partitionOf(args);
      const scope = `${topic}\u0000${partitionMetadata.length}`;
      let partitions = remembered.get(scope);
      if (partitions === undefined) remembered.set(scope, (partitions = new Map()));
      let partition = partitions.get(message.key);
      if (partition === undefined) {
        partition = partitionOf(args);
        if (partitions.size >= maxRememberedKeys) partitions.clear();
        partitions.set(message.key, partition);
      }
      return partition;
    };
  };

/**
 * Publishes recorded events to one topic with an idempotent producer. `publish` resolves only when
 * every event is acknowledged by all in-sync replicas (acks = -1), so a caller may advance its
 * checkpoint afterwards. Calls are serialised: kafkajs assigns idempotence sequence numbers per
 * request and concurrent sends on one idempotent producer have produced OUT_OF_ORDER_SEQUENCE_NUMBER
 * (kafkajs #598), so one request is in flight at a time (`maxInFlightRequests: 1`), which also keeps
 * per-key order across retries.
 */
export class KafkaPublisher {
  readonly topic: string;
  /** Whether the last connect or send reached the broker (see KafkaClientOptions.connection). */
  readonly connection: ConnectionState;
  readonly #kafka: Kafka;
  readonly #maxRequestBytes: number;
  readonly #ackTimeoutMs: number;
  readonly #compression: CompressionTypes;
  #producer: Producer | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor({
    topic,
    maxRequestBytes = 512 * 1024,
    ackTimeoutMs = 30_000,
    compression,
    ...client
  }: KafkaPublisherOptions) {
    this.topic = topic;
    this.connection = connectionFor({ clientId: 'strata-publisher', ...client });
    this.#kafka = createKafkaClient({ clientId: 'strata-publisher', ...client, connection: this.connection });
    this.#maxRequestBytes = maxRequestBytes;
    this.#ackTimeoutMs = ackTimeoutMs;
    this.#compression = compression ?? CompressionTypes.None;
  }

  /** Connects eagerly (publish also connects on demand) so configuration errors surface at start. */
  async connect(): Promise<void> {
    await this.#serialised(() => this.#connected());
  }

  /** Sends the events in the given order; resolves after Kafka acknowledged all of them. */
  async publish(events: readonly RecordedEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.#serialised(async () => {
      const producer = await this.#connected();
      try {
        for (const messages of this.#requests(events)) {
          await producer.send({
            topic: this.topic,
            messages,
            acks: -1,
            timeout: this.#ackTimeoutMs,
            compression: this.#compression,
          });
        }
        this.connection.restored();
      } catch (error) {
        if (isTransientKafkaError(error)) this.connection.lost(error);
        // After a failed request the producer's sequence numbers may no longer match the broker's;
        // a fresh producer gets a new producer id and starts clean. The caller republishes.
        this.#producer = undefined;
        await producer.disconnect().catch(() => undefined);
        throw error;
      }
    });
  }

  async disconnect(): Promise<void> {
    await this.#serialised(async () => {
      const producer = this.#producer;
      this.#producer = undefined;
      await producer?.disconnect();
    });
  }

  async #connected(): Promise<Producer> {
    if (this.#producer) return this.#producer;
    const producer = this.#kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // murmur2 on the key, like the Java client: other-language producers agree on partitions.
      createPartitioner: rememberingPartitioner(Partitioners.DefaultPartitioner),
    });
    try {
      await producer.connect();
    } catch (error) {
      if (isTransientKafkaError(error)) this.connection.lost(error);
      throw error;
    }
    this.connection.restored();
    this.#producer = producer;
    return producer;
  }

  /** Splits into requests of at most maxRequestBytes, preserving order. */
  *#requests(events: readonly RecordedEvent[]): Generator<Message[]> {
    let batch: Message[] = [];
    let bytes = 0;
    for (const event of events) {
      const message = toKafkaMessage(event);
      const size = Buffer.byteLength(message.value as string) + 128;
      if (batch.length > 0 && bytes + size > this.#maxRequestBytes) {
        yield batch;
        batch = [];
        bytes = 0;
      }
      batch.push(message);
      bytes += size;
    }
    if (batch.length > 0) yield batch;
  }

  #serialised<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    // The queue only orders work; each caller sees its own result or error through `run`.
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
