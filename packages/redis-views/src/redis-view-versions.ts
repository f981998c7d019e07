import type { Redis } from 'ioredis';
import { StrataError, type ViewVersions } from '@strata/core';
import { defaultPrefix, globalKeys, viewTag } from './key-layout.js';
import { positionScript } from './lua-scripts.js';

interface Waiter {
  resolve(version: string): void;
  reject(error: unknown): void;
}

interface Slot {
  running: boolean;
  queued: Waiter[];
}

type PositionCommand = Redis & { strataPosition(...args: string[]): Promise<unknown> };

/**
 * View versions read from Redis (the reader's position script), one script call per view per
 * round trip however many requests ask: callers that arrive while a probe is in flight share the
 * NEXT probe, which is sent only after they arrived, so every answer is at least as fresh as the
 * request that asked for it. Under load this turns one Redis call per request into one per round
 * trip.
 */
export class RedisViewVersions implements ViewVersions {
  readonly #slots = new Map<string, Slot>();
  readonly #redis: PositionCommand;
  readonly #prefix: string;

  constructor(options: { redis: Redis; prefix?: string }) {
    this.#prefix = options.prefix ?? defaultPrefix;
    // The reader defines the same command on a shared connection; defining it twice is harmless but wasteful.
    if (!('strataPosition' in options.redis))
      options.redis.defineCommand('strataPosition', { numberOfKeys: 1, lua: positionScript });
    this.#redis = options.redis as PositionCommand;
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
        const reply = await this.#redis.strataPosition(
          globalKeys(this.#prefix).generation,
          this.#prefix,
          tag,
          viewTag(namespace, null),
        );
        if (!Array.isArray(reply))
          throw new StrataError('UNAVAILABLE', 'no view generation is live (views are being rebuilt)');
        const version = reply.join(':');
        for (const waiter of batch) waiter.resolve(version);
      } catch (error) {
        for (const waiter of batch) waiter.reject(error);
      }
    }
    slot.running = false;
    this.#slots.delete(tag);
  }
}
