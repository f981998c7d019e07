import { createKafkaClient, type KafkaClientOptions } from './kafka-client.js';

export interface EnsureTopicOptions extends KafkaClientOptions {
  topic: string;
  /** Used only when the topic is created; an existing topic keeps its partitions (see result). */
  partitions: number;
  replicationFactor?: number;
}

export interface EnsureTopicResult {
  created: boolean;
  /** Partitions the topic has now; may differ from the request when it already existed. */
  partitions: number;
}

/**
 * Creates the topic with the configured partition count when it does not exist. Idempotent and
 * safe to race: a concurrent creator wins and we report the topic as it is. Partitions of an
 * existing topic are never changed here, because adding partitions remaps keys and breaks per-key
 * order for consumers that are behind.
 */
export const ensureTopic = async ({
  topic,
  partitions,
  replicationFactor = 1,
  ...client
}: EnsureTopicOptions): Promise<EnsureTopicResult> => {
  const admin = createKafkaClient(client).admin();
  await admin.connect();
  try {
    // Looking first keeps the usual restart quiet: creating an existing topic makes the broker
    // answer with an error that kafkajs logs. createTopics still answers false on a lost race.
    const exists = (await admin.listTopics()).includes(topic);
    const created =
      !exists &&
      (await admin.createTopics({
        topics: [{ topic, numPartitions: partitions, replicationFactor }],
        waitForLeaders: true,
      }));
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    return { created, partitions: metadata.topics[0]?.partitions.length ?? 0 };
  } finally {
    await admin.disconnect();
  }
};
