import { partitionKey, type NewEvent, type RecordedEvent } from '@strata/core';
import { createLogger } from '@strata/service-runtime';
import { testTopic } from '@strata/testing';
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { ensureTopic, headerValue, KafkaEventConsumer, KafkaPublisher } from './index.js';

const scopes = ['shelfwise/dev', 'shelfwise/prod', 'acme/dev', 'acme/staging', 'beta/prod', 'gamma/dev'];

const recorded = (position: number, scope: string): RecordedEvent => {
  const [namespace = 'x', environment = 'y'] = scope.split('/');
  const event: NewEvent = {
    type: 'ConfigValueSet',
    data: { namespace, environment, tenant: null, key: 'limits.max_items', value: position },
    metadata: { actor: 'test', correlationId: `corr-${position}` },
  };
  return {
    ...event,
    position,
    eventId: `evt-${position}`,
    streamId: `env:${scope}`,
    streamVersion: position,
    schemaVersion: 1,
    recordedAt: new Date(0).toISOString(),
    hash: 'h',
  };
};

const quiet = createLogger({ service: 'kafka-bus-test', level: 'error' });

const waitFor = async (done: () => boolean, timeoutMs: number, what: string) => {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

describe('kafka-bus against the real broker', () => {
  it('ensureTopic creates once with the configured partitions and is idempotent', async () => {
    await using kafka = await testTopic();
    const topic = `${kafka.topic}.ensured`;
    const first = await ensureTopic({ brokers: kafka.brokers, topic, partitions: 3, logger: quiet });
    const again = await ensureTopic({ brokers: kafka.brokers, topic, partitions: 6, logger: quiet });
    expect(first).toEqual({ created: true, partitions: 3 });
    expect(again).toEqual({ created: false, partitions: 3 });
    const admin = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] });
    await admin.disconnect();
  });

  it('publishes with keys and headers; a consumer group gets every event, per-key order kept on 3 partitions', async () => {
    await using kafka = await testTopic({ partitions: 3 });
    const publisher = new KafkaPublisher({
      brokers: kafka.brokers,
      topic: kafka.topic,
      logger: quiet,
      maxRequestBytes: 16 * 1024,
    });
    const events = Array.from({ length: 3000 }, (_, i) => recorded(i + 1, scopes[i % scopes.length] ?? 'x/y'));
    await publisher.connect();
    // Several publishes racing: the publisher serialises them, so log order is kept.
    const chunks = Array.from({ length: 6 }, (_, i) => events.slice(i * 500, (i + 1) * 500));
    const started = performance.now();
    await Promise.all(chunks.map((chunk) => publisher.publish(chunk)));
    const publishMs = performance.now() - started;
    await publisher.disconnect();

    const received: { event: RecordedEvent; partition: number }[] = [];
    const consumer = new KafkaEventConsumer({ brokers: kafka.brokers, logger: quiet });
    await consumer.run({
      groupId: `${kafka.topic}.group`,
      topic: kafka.topic,
      handleBatch: async (batch, partition) => {
        for (const event of batch) received.push({ event, partition });
      },
    });
    try {
      await waitFor(() => received.length >= events.length, 30_000, 'all events');
      expect(consumer.assignedPartitions()).toEqual([0, 1, 2]);
      // Lag counts what the handler finished, committed or not; give the last batch a moment.
      let lag = await consumer.lag();
      for (let i = 0; i < 40 && lag.some((p) => p.lag > 0); i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        lag = await consumer.lag();
      }
      expect(lag.map((p) => p.lag)).toEqual([0, 0, 0]);
      expect(lag.reduce((sum, p) => sum + p.highWatermark, 0)).toBe(events.length);
    } finally {
      await consumer.stop();
    }
    console.info(`published ${events.length} events in ${publishMs.toFixed(0)} ms`);

    expect(received).toHaveLength(events.length);
    const byKey = new Map<string, number[]>();
    const partitionOfKey = new Map<string, number>();
    for (const { event, partition } of received) {
      const key = partitionKey(event);
      byKey.set(key, [...(byKey.get(key) ?? []), event.position]);
      expect(partitionOfKey.get(key) ?? partition).toBe(partition);
      partitionOfKey.set(key, partition);
    }
    expect(new Set(partitionOfKey.values()).size).toBeGreaterThan(1);
    for (const positions of byKey.values()) expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(received.map(({ event }) => event).sort((a, b) => a.position - b.position)).toEqual(events);
  });

  it('coalesces commits: one per interval, the last one after a quiet spell, the rest at stop; lag counts what was handled', async () => {
    await using kafka = await testTopic({ partitions: 1 });
    const publisher = new KafkaPublisher({ brokers: kafka.brokers, topic: kafka.topic, logger: quiet });
    const admin = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const committedOffset = async (groupId: string) =>
      (await admin.fetchOffsets({ groupId, topics: [kafka.topic] }))[0]?.partitions[0]?.offset;
    try {
      const seen: number[] = [];
      const handleBatch = async (batch: RecordedEvent[]) => void seen.push(...batch.map((e) => e.position));
      const slowGroup = `${kafka.topic}.slow`;
      const slow = new KafkaEventConsumer({ brokers: kafka.brokers, logger: quiet, commitIntervalMs: 60_000 });
      await slow.run({ groupId: slowGroup, topic: kafka.topic, handleBatch });
      try {
        // The first batch commits at once; the next ones, within the interval, wait.
        for (const position of [1, 2, 3]) {
          await publisher.publish([recorded(position, 'shelfwise/dev')]);
          await waitFor(() => seen.includes(position), 20_000, `event ${position}`);
        }
        expect(await committedOffset(slowGroup)).toBe('1');
        expect((await slow.lag()).map((p) => p.lag)).toEqual([0]);
      } finally {
        await slow.stop();
      }
      expect(await committedOffset(slowGroup)).toBe('3');

      // With no batch after it, the last handled offset is committed one interval later: event 4
      // is handled well within the interval after the backlog's commit, so only the timer can
      // commit it.
      const quietGroup = `${kafka.topic}.quiet`;
      const quietSpell = new KafkaEventConsumer({ brokers: kafka.brokers, logger: quiet, commitIntervalMs: 5_000 });
      seen.length = 0;
      await quietSpell.run({ groupId: quietGroup, topic: kafka.topic, handleBatch });
      try {
        const committedBecomes = async (expected: string) => {
          let offset = await committedOffset(quietGroup);
          for (let i = 0; i < 100 && offset !== expected; i++) {
            await new Promise((resolve) => setTimeout(resolve, 100));
            offset = await committedOffset(quietGroup);
          }
          return offset;
        };
        await waitFor(() => seen.length === 3, 20_000, 'the backlog');
        expect(await committedBecomes('3')).toBe('3'); // a commit just now: the interval starts again
        await publisher.publish([recorded(4, 'shelfwise/dev')]);
        await waitFor(() => seen.includes(4), 20_000, 'event 4');
        expect(await committedOffset(quietGroup)).toBe('3');
        expect(await committedBecomes('4')).toBe('4');
        expect(seen).toEqual([1, 2, 3, 4]);
      } finally {
        await quietSpell.stop();
      }
    } finally {
      await publisher.disconnect();
      await admin.disconnect();
    }
  });

  it('sends the documented headers and commits only after the handler resolved', async () => {
    await using kafka = await testTopic({ partitions: 1 });
    const publisher = new KafkaPublisher({ brokers: kafka.brokers, topic: kafka.topic, logger: quiet });
    await publisher.publish([recorded(1, 'shelfwise/dev'), recorded(2, 'shelfwise/dev')]);
    await publisher.disconnect();

    const raw = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING }).consumer({
      groupId: `${kafka.topic}.raw`,
    });
    const headers: Record<string, string | undefined>[] = [];
    await raw.connect();
    await raw.subscribe({ topics: [kafka.topic], fromBeginning: true });
    await raw.run({
      eachMessage: async ({ message }) => {
        headers.push({
          key: message.key?.toString(),
          type: headerValue(message, 'type'),
          position: headerValue(message, 'position'),
          'event-id': headerValue(message, 'event-id'),
          'schema-version': headerValue(message, 'schema-version'),
          'correlation-id': headerValue(message, 'correlation-id'),
        });
      },
    });
    await waitFor(() => headers.length === 2, 20_000, 'raw messages');
    await raw.disconnect();
    expect(headers[0]).toEqual({
      key: 'shelfwise/dev',
      type: 'ConfigValueSet',
      position: '1',
      'event-id': 'evt-1',
      'schema-version': '1',
      'correlation-id': 'corr-1',
    });

    // A handler that fails never commits: the same group gets the events again.
    const groupId = `${kafka.topic}.fails-first`;
    const failing = new KafkaEventConsumer({ brokers: kafka.brokers, logger: quiet });
    let attempts = 0;
    await failing.run({
      groupId,
      topic: kafka.topic,
      handleBatch: async () => {
        attempts++;
        throw new Error('handler failed');
      },
    });
    await waitFor(() => attempts >= 1, 20_000, 'a failing attempt');
    await failing.stop();

    const seen: number[] = [];
    const second = new KafkaEventConsumer({
      brokers: kafka.brokers,
      logger: quiet,
      heartbeatIntervalMs: 500,
      sessionTimeoutMs: 6000,
    });
    await second.run({
      groupId,
      topic: kafka.topic,
      handleBatch: async (batch) => {
        // Longer than the session timeout: heartbeats during the batch keep the assignment.
        await new Promise((resolve) => setTimeout(resolve, 8000));
        seen.push(...batch.map((e) => e.position));
      },
    });
    await waitFor(() => seen.length >= 2, 30_000, 'redelivery');
    await second.stop();
    expect(seen.slice(0, 2)).toEqual([1, 2]);

    const admin = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const [committed] = await admin.fetchOffsets({ groupId, topics: [kafka.topic] });
    await admin.disconnect();
    expect(committed?.partitions[0]?.offset).toBe('2');
  });
});
