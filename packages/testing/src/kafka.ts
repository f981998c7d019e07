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
    // Under parallel load the broker can answer "does not host this topic-partition" while the new
    // topic's leaders settle; the creation itself succeeded, so wait and ask again.
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.createTopics({
          topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }],
          waitForLeaders: true,
        });
        break;
      } catch (error) {
        if (attempt >= 5) throw error;
        await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
        const existing = await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => null);
        if (existing?.topics[0]?.partitions.every((p) => p.leader >= 0)) break;
      }
    }
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
