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

/** The topic, created with its partitions' leaders settled; deleted on dispose with the consumer `groups`. */
const scratchTopic = async (topic: string, partitions: number, groups: string[]): Promise<AsyncDisposable> => {
  const admin = new Kafka({
    clientId: 'strata-bench',
    brokers: kafkaBrokers.split(','),
    logLevel: logLevel.NOTHING,
  }).admin();
  const dispose = async () => {
    await admin.deleteTopics({ topics: [topic], timeout: 10_000 }).catch(() => undefined);
    await admin.deleteGroups(groups).catch(() => undefined);
    await admin.disconnect();
  };
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  } catch (error) {
    await dispose();
    throw error;
  }
  return { [Symbol.asyncDispose]: dispose };
};

export interface ScratchServices extends AsyncDisposable {
  /** For the API, relay and projector processes: the bench's own database, topic, consumer group and Redis prefix. */
  env: Record<string, string>;
  databaseUrl: string;
  prefix: string;
}

/**
 * What the services need to run as processes for one bench, none of it shared with anyone: a
 * migrated database, a Kafka topic of `partitions` (its leaders settled, so a projector started
 * before the relay finds it), a consumer group and a Redis prefix. All removed on dispose.
 */
export const scratchServices = async (
  label: string,
  { partitions }: { partitions: number },
): Promise<ScratchServices> => {
  const id = runId();
  const topic = `strata.bench.${label}.${id}`;
  const group = `strata-bench-${label}-${id}`;
  const prefix = `bench:${label}:${id}:`;
  const db = await scratchDatabase(label);
  const kafka = await scratchTopic(topic, partitions, [group]).catch(async (error: unknown) => {
    await db[Symbol.asyncDispose]();
    throw error;
  });
  return {
    env: {
      DATABASE_URL: db.url,
      REDIS_URL: redisUrl,
      KAFKA_BROKERS: kafkaBrokers,
      STRATA_TOPIC: topic,
      STRATA_TOPIC_PARTITIONS: String(partitions),
      STRATA_REDIS_PREFIX: prefix,
      PROJECTOR_GROUP: group,
    },
    databaseUrl: db.url,
    prefix,
    async [Symbol.asyncDispose]() {
      await deleteRedisPrefix(prefix);
      await kafka[Symbol.asyncDispose]();
      await db[Symbol.asyncDispose]();
    },
  };
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

export interface ScratchViews extends AsyncDisposable {
  prefix: string;
}

/** `seedViews` under a Redis prefix of the bench's own (`bench:<label>:<random>:`), deleted on dispose. */
export const scratchViews = async (
  label: string,
  seed: (f: EventFactory) => RecordedEvent[],
): Promise<ScratchViews> => {
  const prefix = `bench:${label}:${runId()}:`;
  const redis = new Redis(redisUrl);
  try {
    await seedViews(redis, prefix, seed);
  } catch (error) {
    await deleteRedisPrefix(prefix);
    throw error;
  } finally {
    redis.disconnect();
  }
  return { prefix, [Symbol.asyncDispose]: () => deleteRedisPrefix(prefix) };
};

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
