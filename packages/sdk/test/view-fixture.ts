import type { Redis } from 'ioredis';
import { InMemoryEventLog, type DefinedManifest, type RecordedEvent } from '@strata/core';
import { RedisViewStore, globalKeys, viewKeys, viewTag } from '@strata/redis-views';
import { createClient, type CreateClientOptions } from '../src/create-client.js';

/** A view store with a live (empty) generation under `prefix`, as the projector leaves it. */
export const liveViewStore = async (redis: Redis, prefix: string): Promise<RedisViewStore> => {
  const store = new RedisViewStore({ redis, prefix });
  if (await store.needsRebuild()) {
    await store.rebuild({ eventLog: new InMemoryEventLog(), dropDelayMs: 0 });
  }
  return store;
};

/** Live views under `prefix` holding `events`; the store applies later changes as the projector would. */
export const seedViews = async (redis: Redis, prefix: string, events: RecordedEvent[]): Promise<RedisViewStore> => {
  const store = await liveViewStore(redis, prefix);
  await store.applyEvents(events);
  return store;
};

/** A client of `namespace`/prod reading the views under `redis.prefix`, with the spec's options. */
export const prodClient = (
  redis: { url: string; prefix: string },
  namespace: string,
  options: Partial<CreateClientOptions<DefinedManifest>> = {},
) => createClient({ namespace, environment: 'prod', redis: redis.url, prefix: redis.prefix, ...options });

/**
 * Writes a ConfigValueSet into the view exactly as the apply script would, but publishes no
 * notification: what a client sees when a notification is lost.
 */
export const applySilently = async (redis: Redis, prefix: string, event: RecordedEvent): Promise<void> => {
  if (event.type !== 'ConfigValueSet') throw new Error('only ConfigValueSet');
  const { namespace, environment, tenant, key, value } = event.data;
  const generation = await redis.get(globalKeys(prefix).generation);
  const keys = viewKeys(prefix, generation ?? '0', viewTag(namespace, environment));
  const stored = JSON.stringify({ value, position: event.position, changedAt: event.recordedAt });
  const tx = redis.multi();
  if (tenant === null) tx.hset(keys.env, key, stored);
  else tx.hset(keys.tenant(tenant), key, stored).sadd(keys.tenants, tenant);
  await tx.set(keys.pos, event.position).incrby(keys.count, 1).exec();
};
