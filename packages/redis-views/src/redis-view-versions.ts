import type { Redis } from 'ioredis';
import { StrataError, type ViewVersions } from '@strata/core';
import { defaultPrefix, globalKeys, viewTag } from './key-layout.js';
import { defineScripts, positionScript } from './lua-scripts.js';
import { parseViewChanges } from './view-ops.js';

interface Waiter {
  resolve(version: string): void;
  reject(error: unknown): void;
}

interface Slot {
  running: boolean;
  queued: Waiter[];
}

interface PositionCommand {
  strataPosition(...args: string[]): Promise<unknown>;
}

/** A version read while announcements were heard; `version` null: a change was announced since. */
interface Known {
  version: string | null;
  namespace: string;
  /** Until when the version may be answered without a round trip (ms since the epoch). */
  until: number;
  /** The announcement count when this view's last change was heard (-1: none). */
  changedAt: number;
}

export interface RedisViewVersionsOptions {
  redis: Redis;
  prefix?: string;
  /**
   * A connection of its own (the caller's, e.g. `redis.duplicate()`) subscribed to the change
   * channel: with it, `known` answers versions without a round trip until a change to the view is
   * announced. Without it `known` answers nothing and every read asks Redis.
   */
  announcements?: Redis;
  /**
   * Longest time a version is known without asking Redis again, for changes no message announces
   * (a flushed or restarted Redis whose connection stayed up). Default 1000 ms.
   */
  knownForMs?: number;
}

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
  readonly #announcements: Redis | undefined;
  readonly #knownForMs: number;
  /** By view tag: versions read, and when each view's last change was announced. */
  readonly #known = new Map<string, Known>();
  readonly #namespaceChangedAt = new Map<string, number>();
  /** Counts announcements and gaps; a read that saw it move past its view's last change may not be kept. */
  #heard = 0;
  /** When everything was last announced as changed (a generation switch) or announcements may have been missed. */
  #allChangedAt = 0;
  #listening = false;
  #subscribing: Promise<void> | null = null;

  constructor(options: RedisViewVersionsOptions) {
    this.#prefix = options.prefix ?? defaultPrefix;
    this.#redis = defineScripts<PositionCommand>(options.redis, 1, { strataPosition: positionScript });
    this.#knownForMs = options.knownForMs ?? 1_000;
    this.#announcements = options.announcements;
    if (this.#announcements) {
      const channel = globalKeys(this.#prefix).changes;
      this.#announcements.on('message', (on: string, message: string) => {
        if (on === channel) this.#announced(message);
      });
      // Whatever was announced while the connection was down is unknown: forget everything until subscribed again.
      this.#announcements.on('close', () => this.#gap(false));
      this.#announcements.on('ready', () => void this.listen().catch(() => undefined));
      void this.listen().catch(() => undefined);
    }
  }

  /** True while change announcements are heard: only then does `known` answer. */
  get listening(): boolean {
    return this.#listening;
  }

  /** Subscribes to the change channel (again after a reconnect); resolves once subscribed. */
  listen(): Promise<void> {
    const connection = this.#announcements;
    if (!connection) return Promise.resolve();
    return (this.#subscribing ??= connection
      .subscribe(globalKeys(this.#prefix).changes)
      .then(() => this.#gap(connection.status === 'ready'))
      .finally(() => (this.#subscribing = null)));
  }

  known(namespace: string, environment: string): string | undefined {
    if (!this.#listening) return undefined;
    const known = this.#known.get(viewTag(namespace, environment));
    if (known === undefined || known.version === null || known.until < Date.now()) return undefined;
    return known.version;
  }

  /**
   * A message on the change channel (the notifications of one apply call, or a generation switch):
   * the views it names (all of them for a generation switch) are no longer known.
   */
  #announced(message: string): void {
    let changes: Partial<Record<'kind' | 'namespace' | 'environment', unknown>>[];
    try {
      changes = parseViewChanges(message);
    } catch {
      return this.#gap(this.#listening);
    }
    const heard = ++this.#heard;
    let last = '';
    for (const change of changes) {
      const { namespace, environment } = change;
      if (change.kind !== 'change' || typeof namespace !== 'string') {
        this.#allChangedAt = heard;
        this.#known.clear();
        return;
      }
      const tag = viewTag(namespace, typeof environment === 'string' ? environment : null);
      if (tag === last) continue; // one call's notifications all name the same view
      last = tag;
      if (typeof environment === 'string') {
        const known = this.#known.get(tag);
        if (known) {
          known.version = null;
          known.changedAt = heard;
        } else this.#remember(tag, { version: null, namespace, until: 0, changedAt: heard });
      } else {
        // The namespace's view (its manifest) is part of every environment's version.
        this.#namespaceChangedAt.set(namespace, heard);
        for (const known of this.#known.values())
          if (known.namespace === namespace) {
            known.version = null;
            known.changedAt = heard;
          }
      }
    }
  }

  /** Announcements may have been missed (or were not heard yet): nothing read before counts as known. */
  #gap(listening: boolean): void {
    this.#allChangedAt = ++this.#heard;
    this.#known.clear();
    this.#namespaceChangedAt.clear();
    this.#listening = listening;
  }

  #remember(tag: string, known: Known): void {
    // Bounded by the views that exist; a flood of them only costs round trips again.
    if (this.#known.size >= 100_000) this.#gap(this.#listening);
    this.#known.set(tag, known);
  }

  /** Keeps a version read from Redis when no change to its view was heard since the read was sent (`asked`). */
  #keep(tag: string, namespace: string, version: string, asked: number): void {
    if (!this.#listening || this.#allChangedAt > asked || (this.#namespaceChangedAt.get(namespace) ?? -1) > asked)
      return;
    const known = this.#known.get(tag);
    if (known && known.changedAt > asked) return;
    this.#remember(tag, {
      version,
      namespace,
      until: Date.now() + this.#knownForMs,
      changedAt: known?.changedAt ?? -1,
    });
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
      const asked = this.#heard;
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
        if (this.#announcements) this.#keep(tag, namespace, version, asked);
        for (const waiter of batch) waiter.resolve(version);
      } catch (error) {
        for (const waiter of batch) waiter.reject(error);
      }
    }
    slot.running = false;
    this.#slots.delete(tag);
  }
}
