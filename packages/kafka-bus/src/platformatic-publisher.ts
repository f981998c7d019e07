import type { RecordedEvent } from '@strata/core';
import { compatibilityPartitioner, Producer, ProduceAcks, stringSerializers } from '@platformatic/kafka';
import { toKafkaMessage } from './event-message.js';

export interface PlatformaticPublisherOptions {
  brokers: string[];
  topic: string;
  clientId?: string;
  /** Same bound as KafkaPublisher's: JSON bytes of one produce request. Default 512 KiB. */
  maxRequestBytes?: number;
}

/**
 * `KafkaPublisher`'s contract (`connect`, `publish` resolving once every event is acknowledged
 * by all in-sync replicas, `disconnect`) on `@platformatic/kafka` instead of kafkajs, for the
 * relay benchmark only (issue 18): the relay keeps kafkajs, see the README's benchmark section.
 * Same wire format (`toKafkaMessage`), idempotent producer, acks = all, and the Java client's
 * partitioner, so both land every event on the same partition.
 */
export class PlatformaticPublisher {
  readonly topic: string;
  readonly #producer: Producer<string, string, string, string>;
  readonly #maxRequestBytes: number;

  constructor({
    brokers,
    topic,
    clientId = 'strata-publisher',
    maxRequestBytes = 512 * 1024,
  }: PlatformaticPublisherOptions) {
    this.topic = topic;
    this.#maxRequestBytes = maxRequestBytes;
    this.#producer = new Producer({
      clientId,
      bootstrapBrokers: brokers,
      serializers: stringSerializers,
      idempotent: true,
      acks: ProduceAcks.ALL,
      autocreateTopics: false,
      partitioner: (_message, key) => compatibilityPartitioner(_message, key),
    });
  }

  async connect(): Promise<void> {
    await this.#producer.metadata({ topics: [this.topic] });
  }

  /** Sends the events in the given order; resolves after Kafka acknowledged all of them. */
  async publish(events: readonly RecordedEvent[]): Promise<void> {
    let batch: { topic: string; key: string; value: string; headers: Record<string, string> }[] = [];
    let bytes = 0;
    for (const event of events) {
      const message = toKafkaMessage(event);
      const value = message.value as string;
      const size = Buffer.byteLength(value) + 128;
      if (batch.length > 0 && bytes + size > this.#maxRequestBytes) {
        await this.#producer.send({ messages: batch });
        batch = [];
        bytes = 0;
      }
      batch.push({
        topic: this.topic,
        key: message.key as string,
        value,
        headers: message.headers as Record<string, string>,
      });
      bytes += size;
    }
    if (batch.length > 0) await this.#producer.send({ messages: batch });
  }

  async disconnect(): Promise<void> {
    await this.#producer.close();
  }
}
