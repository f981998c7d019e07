import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import type { RecordedEvent } from '@strata/core';
import { EventFactory } from '@strata/core/testing';
import { deleteByPrefix, scratchDatabase as scratch, type ScratchDatabase } from '@strata/testing/scratch';
import { liveViewStore } from '../../../packages/sdk/test/view-fixture.js';

export const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const kafkaBrokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';

/** A short random id so concurrent runs (and other engineers' tests) never share a name. */
export const runId = (): string => randomBytes(4).toString('hex');

export type { ScratchDatabase } from '@strata/testing/scratch';

/** `strata_bench_<label>_<random>`, migrated for Strata unless `migrated: false`; dropped on dispose. */
export const scratchDatabase = (label: string, options: { migrated?: boolean } = {}): Promise<ScratchDatabase> =>
  scratch(adminUrl, `bench_${label}`, options);

export interface ScratchTopic extends AsyncDisposable {
  topic: string;
}

/**
 * The Kafka topic `topic`, created with its partitions' leaders settled, so services started next
 * (a projector before the relay) find it; deleted on dispose, with the consumer `groups` that read it.
 */
export const scratchTopic = async (
  topic: string,
  { partitions, groups = [] }: { partitions: number; groups?: string[] },
): Promise<ScratchTopic> => {
  const admin = new Kafka({
    clientId: 'strata-bench',
    brokers: kafkaBrokers.split(','),
    logLevel: logLevel.NOTHING,
  }).admin();
  const dispose = async () => {
    await admin.deleteTopics({ topics: [topic], timeout: 10_000 }).catch(() => undefined);
    if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
    await admin.disconnect();
  };
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  } catch (error) {
    await dispose();
    throw error;
  }
  return { topic, [Symbol.asyncDispose]: dispose };
};

/** Deletes every Redis key under `prefix`. */
export const deleteRedisPrefix = async (prefix: string): Promise<void> => {
  const redis = new Redis(redisUrl);
  try {
    await deleteByPrefix(redis, prefix);
  } finally {
    redis.disconnect();
  }
};

/** Views of bench/prod under `prefix`, live as the projector leaves them, holding the events `seed` builds. */
export const seedViews = async (
  redis: Redis,
  prefix: string,
  seed: (f: EventFactory) => RecordedEvent[],
): Promise<void> => {
  const store = await liveViewStore(redis, prefix);
  await store.applyEvents(seed(new EventFactory('bench', 'prod')));
};

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
