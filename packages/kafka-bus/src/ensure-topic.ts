import { backoffMs } from '@strata/service-runtime';
import { connectionFor, createKafkaClient, isTransientKafkaError, type KafkaClientOptions } from './kafka-client.js';

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
 * Creates the topic with the configured partition count when it does not exist, and returns once
 * every partition has a leader. Idempotent and safe to race: a concurrent creator wins and we
 * report the topic as it is. Partitions of an existing topic are never changed here, because adding
 * partitions remaps keys and breaks per-key order for consumers that are behind.
 *
 * A broker that is down, still starting, or electing the new topic's leaders ("This server does
 * not host this topic-partition") is waited out with capped backoff, for as long as it takes: one
 * warning and one info line through the connection state, not an exit. Other errors are thrown.
 */
export const ensureTopic = async ({
  topic,
  partitions,
  replicationFactor = 1,
  ...client
}: EnsureTopicOptions): Promise<EnsureTopicResult> => {
  const connection = connectionFor(client);
  const kafka = createKafkaClient({ ...client, connection });
  let created = false;
  for (let attempt = 1; ; attempt++) {
    const admin = kafka.admin();
    try {
      await admin.connect();
      // Looking first keeps the usual restart quiet: creating an existing topic makes the broker
      // answer with an error that kafkajs logs. createTopics still answers false on a lost race.
      const exists = (await admin.listTopics()).includes(topic);
      if (!exists) {
        created =
          (await admin.createTopics({
            topics: [{ topic, numPartitions: partitions, replicationFactor }],
            waitForLeaders: true,
          })) || created;
      }
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      const found = metadata.topics[0]?.partitions ?? [];
      if (found.length > 0 && found.every((p) => p.leader >= 0)) {
        connection.restored();
        return { created, partitions: found.length };
      }
      connection.lost(`topic ${topic} has partitions without a leader yet`);
    } catch (error) {
      if (!isTransientKafkaError(error)) throw error;
      connection.lost(error, { topic });
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    await new Promise((resolve) => setTimeout(resolve, backoffMs(attempt, 200, 2_000)));
  }
};
