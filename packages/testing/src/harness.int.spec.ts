import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { Kafka, logLevel } from 'kafkajs';
import { createTestDatabase, testRedis, testTopic } from './index.js';

// The foundation's proof: every real server answers through the fixtures, each spec isolated.
describe('test harness against the real servers', () => {
  it('gives each spec file its own migrated PostgreSQL database', async () => {
    await using db = await createTestDatabase();
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ db: string; events: string | null }>(
        "SELECT current_database() AS db, to_regclass('strata.events')::text AS events",
      );
      expect(rows[0]).toEqual({ db: db.name, events: 'strata.events' });
    } finally {
      await client.end();
    }
  });

  it('round-trips a value through Redis under a private key prefix', async () => {
    await using redis = await testRedis();
    await redis.client.set(`${redis.prefix}hello`, 'world');
    expect(await redis.client.get(`${redis.prefix}hello`)).toBe('world');
  });

  it('produces and consumes a message through the real broker in a consumer group', async () => {
    await using kafka = await testTopic({ partitions: 2 });
    const client = new Kafka({ clientId: 'harness', brokers: kafka.brokers, logLevel: logLevel.NOTHING });
    const producer = client.producer();
    const consumer = client.consumer({ groupId: `${kafka.topic}.group` });
    await Promise.all([producer.connect(), consumer.connect()]);
    try {
      await consumer.subscribe({ topic: kafka.topic, fromBeginning: true });
      let deliver: (value: string) => void = () => {};
      const received = new Promise<string>((resolve) => (deliver = resolve));
      await consumer.run({ eachMessage: async ({ message }) => deliver(message.value?.toString() ?? '') });
      await producer.send({ topic: kafka.topic, messages: [{ key: 'shelfwise/prod', value: 'ping' }] });
      expect(await received).toBe('ping');
    } finally {
      await Promise.all([producer.disconnect(), consumer.disconnect()]);
    }
  });
});
