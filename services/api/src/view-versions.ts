import type { Redis } from 'ioredis';
import { StrataError } from '@strata/core';
import { defaultPrefix, globalKeys, viewTag } from '@strata/redis-views';

/** The version of one environment view, as the API's read cache keys it. */
export interface ViewVersions {
  /**
   * An opaque token that changes whenever the view's content may have changed: the live
   * generation and the positions of the environment view and of its namespace's (manifest) view.
   * Both positions, not their maximum: the two views are fed from different Kafka keys, so a
   * manifest event may land after a later environment event and leave the maximum unchanged.
   * Fresh: it reflects every change Redis applied before the call. Throws `UNAVAILABLE` while no
   * generation is live, like the view reader.
   */
  version(namespace: string, environment: string): Promise<string>;
}

interface Waiter {
  resolve(version: string): void;
  reject(error: unknown): void;
}

interface Slot {
  running: boolean;
  queued: Waiter[];
}

const versionScript = `
local gen = redis.call('GET', KEYS[1])
if not gen then return false end
local base = ARGV[1] .. 'g' .. gen .. ':'
return gen .. ':' .. (redis.call('GET', base .. ARGV[2] .. ':pos') or '0') .. ':' .. (redis.call('GET', base .. ARGV[3] .. ':pos') or '0')
`;

/**
 * View versions read from Redis (key layout of `@strata/redis-views`), one small script call per
 * view per round trip however many requests ask: callers that arrive while a probe is in flight
 * share the NEXT probe, which is sent only after they arrived, so every answer is at least as
 * fresh as the request that asked for it. Under load this turns one Redis call per request into
 * one per round trip.
 */
export class RedisViewVersions implements ViewVersions {
  readonly #slots = new Map<string, Slot>();
  readonly #redis: Redis & { strataViewVersion(...args: string[]): Promise<unknown> };
  readonly #prefix: string;

  constructor(options: { redis: Redis; prefix?: string }) {
    this.#prefix = options.prefix ?? defaultPrefix;
    if (!('strataViewVersion' in options.redis))
      options.redis.defineCommand('strataViewVersion', { numberOfKeys: 1, lua: versionScript });
    this.#redis = options.redis as Redis & { strataViewVersion(...args: string[]): Promise<unknown> };
  }

  version(namespace: string, environment: string): Promise<string> {
    const tag = viewTag(namespace, environment);
    let slot = this.#slots.get(tag);
    if (!slot) this.#slots.set(tag, (slot = { running: false, queued: [] }));
    const own = slot;
    return new Promise<string>((resolve, reject) => {
      own.queued.push({ resolve, reject });
      if (!own.running) void this.#drain(tag, own, namespace);
    });
  }

  async #drain(tag: string, slot: Slot, namespace: string): Promise<void> {
    slot.running = true;
    while (slot.queued.length > 0) {
      const batch = slot.queued;
      slot.queued = [];
      try {
        const reply = await this.#redis.strataViewVersion(
          globalKeys(this.#prefix).generation,
          this.#prefix,
          tag,
          viewTag(namespace, null),
        );
        if (typeof reply !== 'string')
          throw new StrataError('UNAVAILABLE', 'no view generation is live (views are being rebuilt)');
        for (const waiter of batch) waiter.resolve(reply);
      } catch (error) {
        for (const waiter of batch) waiter.reject(error);
      }
    }
    slot.running = false;
    this.#slots.delete(tag);
  }
}
