import { Redis } from 'ioredis';
import { inject } from 'vitest';
import { deleteByPrefix } from './scratch.js';

export interface TestRedis extends AsyncDisposable {
  url: string;
  /** Every key this spec file writes starts with it, so files share one server safely. */
  prefix: string;
  client: Redis;
}

export const testRedis = async (): Promise<TestRedis> => {
  const { redisUrl } = inject('services');
  const prefix = `t:${inject('runId')}:${Math.random().toString(36).slice(2, 10)}:`;
  const client = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 });
  await client.connect();
  return {
    url: redisUrl,
    prefix,
    client,
    async [Symbol.asyncDispose]() {
      await deleteByPrefix(client, prefix);
      client.disconnect();
    },
  };
};
