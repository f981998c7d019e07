import { Kafka, logLevel } from 'kafkajs';
import { inject } from 'vitest';

export interface TestTopic extends AsyncDisposable {
  brokers: string[];
  topic: string;
}

/** A topic of its own for one spec file; deleted when disposed. */
export const testTopic = async ({ partitions = 1 }: { partitions?: number } = {}): Promise<TestTopic> => {
  const { kafkaBrokers } = inject('services');
  const topic = `strata.test.${inject('runId')}.${Math.random().toString(36).slice(2, 10)}`;
  const admin = new Kafka({ clientId: 'strata-test', brokers: kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
  return {
    brokers: kafkaBrokers,
    topic,
    async [Symbol.asyncDispose]() {
      const cleanup = new Kafka({ clientId: 'strata-test', brokers: kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
      await cleanup.connect();
      try {
        await cleanup.deleteTopics({ topics: [topic], timeout: 10_000 });
      } finally {
        await cleanup.disconnect();
      }
    },
  };
};
