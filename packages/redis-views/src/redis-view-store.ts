import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import {
  StrataError,
  type ApplyResult,
  type EventLog,
  type PartitionLagSink,
  type ProjectionControl,
  type RebuildOptions,
  type RebuildResult,
  type ProjectedEvent,
  type RecordedEvent,
  type ViewWriter,
} from '@strata/core';
import { defaultPrefix, generationKeys, globalKeys } from './key-layout.js';
import { applyScript, defineScripts, switchScript } from './lua-scripts.js';
import {
  parseLagReply,
  publishLagArgs,
  publishLagScript,
  readLagScript,
  type LagReporter,
  type PartitionLagReport,
  type PartitionOffsets,
} from './partition-lag.js';
import { viewOpOf, type ViewChange } from './view-ops.js';

export type { ApplyResult, RebuildOptions, RebuildProgress, RebuildResult } from '@strata/core';

export interface RedisViewStoreOptions {
  redis: Redis;
  prefix?: string;
  /** Events per script call; bigger calls mean fewer round trips but longer blocking of Redis. */
  chunkSize?: number;
}

interface ScriptCommands {
  strataApply(args: string[]): Promise<number>;
  strataSwitch(...args: string[]): Promise<number>;
  strataRelease(key: string, token: string, ttl: string): Promise<number>;
  strataPublishLag(key: string, ...args: string[]): Promise<number>;
  strataReadLag(key: string): Promise<unknown>;
}

/** Pages read ahead of the one being applied: reading and applying take about as long each. */
const pagesAhead = 2;

/**
 * The rebuild's reads, several pages ahead on separate connections. Positions are gap-free (one
 * per event, assigned under the head lock), so the page after a full page ending at p starts at
 * p and the one after that at p + pageSize; a read made on that guess is used only when the page
 * before it really ended there, and otherwise dropped and read again from the true cursor.
 */
class PageReader {
  #ahead: { after: number; page: Promise<ProjectedEvent[]> }[] = [];

  constructor(
    private readonly log: Pick<EventLog, 'readForViews'>,
    private readonly pageSize: number,
  ) {}

  read(after: number): Promise<ProjectedEvent[]> {
    const first = this.#ahead.shift();
    if (first?.after === after) return first.page;
    this.#ahead = [];
    return this.log.readForViews(after, this.pageSize);
  }

  readAhead(cursor: number): void {
    if (this.#ahead[0] && this.#ahead[0].after !== cursor) this.#ahead = [];
    while (this.#ahead.length < pagesAhead) {
      const after = this.#ahead.length === 0 ? cursor : this.#ahead.at(-1)!.after + this.pageSize;
      const page = this.log.readForViews(after, this.pageSize);
      // Awaited (and its error thrown) when its turn comes; a dropped guess must not crash the process.
      page.catch(() => undefined);
      this.#ahead.push({ after, page });
    }
  }
}

/** Compare-and-expire (ttl > 0) or compare-and-delete (ttl = 0) of the rebuild lease. */
const leaseScript = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '0' then return redis.call('DEL', KEYS[1]) end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
`;

const leaseTtlMs = 30_000;

/**
 * Writes the Redis views: applies events atomically and idempotently (one script call per view
 * and batch, skipping every event at or below the view's position), and rebuilds a complete new
 * generation from the log before switching readers to it in one step.
 */
export class RedisViewStore implements ProjectionControl, ViewWriter, PartitionLagSink {
  readonly prefix: string;
  private readonly redis: Redis & ScriptCommands;
  private readonly chunkSize: number;

  constructor(options: RedisViewStoreOptions) {
    this.prefix = options.prefix ?? defaultPrefix;
    this.chunkSize = options.chunkSize ?? 256;
    // The apply and switch scripts take the generation pointer and `missed`; the others one key.
    defineScripts(options.redis, 2, { strataApply: applyScript, strataSwitch: switchScript });
    const one = { strataRelease: leaseScript, strataPublishLag: publishLagScript, strataReadLag: readLagScript };
    this.redis = defineScripts<ScriptCommands>(options.redis, 1, one);
  }

  /**
   * Applies events to the live generation, each atomically with its view's new position, in one
   * round trip. Events must be in position order per view (Kafka's per-key order gives that).
   * Redelivered events change nothing and publish nothing.
   */
  async applyEvents(events: readonly RecordedEvent[]): Promise<ApplyResult> {
    return this.apply(events, null);
  }

  /** The live generation, or null when there is none (fresh or flushed Redis). */
  async generation(): Promise<number | null> {
    const value = await this.redis.get(globalKeys(this.prefix).generation);
    return value === null ? null : Number(value);
  }

  /** True when views must be rebuilt: no generation pointer, or its marker is gone (data lost). */
  async needsRebuild(): Promise<boolean> {
    const generation = await this.generation();
    if (generation === null) return true;
    return (await this.redis.get(generationKeys(this.prefix, generation).marker)) !== 'ready';
  }

  /**
   * Builds generation N+1 from the log page by page while live events keep going to generation N,
   * then switches atomically once N+1 has every view at least as far as N (retrying after more
   * catch-up otherwise), publishes a `generation` notification and drops N.
   */
  async rebuild(options: RebuildOptions): Promise<RebuildResult> {
    const keys = globalKeys(this.prefix);
    const token = randomUUID();
    const pageSize = options.pageSize ?? 10_000;
    if ((await this.redis.set(keys.rebuildLock, token, 'PX', leaseTtlMs, 'NX')) !== 'OK') {
      return this.awaitOtherRebuild(options.signal);
    }
    const started = performance.now();
    const previous = await this.generation();
    const generation = (previous ?? 0) + 1;
    let cursor = 0;
    let events = 0;
    let head = await options.eventLog.headPosition();
    const rate = () => Math.round(events / Math.max((performance.now() - started) / 1000, 1e-3));
    try {
      // A leftover of an interrupted rebuild of the same generation is a valid prefix of the fold
      // (each view holds exactly the log's events up to its position), so it is kept and resumed.
      await this.redis.set(generationKeys(this.prefix, generation).marker, 'building');
      const pages = new PageReader(options.eventLog, pageSize);
      for (;;) {
        options.signal?.throwIfAborted();
        const page = await pages.read(cursor);
        const last = page.at(-1);
        if (last) cursor = last.position;
        const full = page.length === pageSize;
        if (full) pages.readAhead(cursor); // the next pages are read while this one is applied
        if (page.length > 0) {
          const result = await this.apply(page, generation);
          if (result.lost)
            throw new StrataError('UNAVAILABLE', `generation ${generation} was lost while it was being rebuilt`);
          events += page.length;
          await this.redis.strataRelease(keys.rebuildLock, token, String(leaseTtlMs));
        }
        if (full) {
          options.onProgress?.({ generation, position: cursor, head, events, eventsPerSecond: rate() });
          continue;
        }
        head = await options.eventLog.headPosition();
        options.onProgress?.({ generation, position: cursor, head, events, eventsPerSecond: rate() });
        if (cursor >= head) {
          const message: ViewChange = {
            kind: 'generation',
            namespace: null,
            environment: null,
            tenant: null,
            keys: [],
            flags: [],
            secrets: [],
            position: cursor,
            generation,
          };
          const switched = await this.redis.strataSwitch(
            keys.generation,
            keys.missed,
            this.prefix,
            String(generation),
            String(cursor),
            JSON.stringify([message]),
          );
          if (switched === 1) break;
          if (switched === -1)
            throw new StrataError('UNAVAILABLE', `generation ${generation} was lost while it was being rebuilt`);
        }
        // Live writers are ahead for some view (or the log head moved): read on.
        await sleep(cursor >= head ? 5 : 0);
      }
    } finally {
      await this.redis.strataRelease(keys.rebuildLock, token, '0');
    }
    if (previous !== null && previous !== generation) {
      await sleep(options.dropDelayMs ?? 1_000);
      await this.dropGeneration(previous);
    }
    return { generation, previous, position: cursor, events, eventsPerSecond: rate(), rebuilt: true };
  }

  /** Records the lag of the partitions `reporter` owns, stamped with Redis's clock (partition-lag.ts). */
  async publishPartitionLag(reporter: LagReporter, partitions: readonly PartitionOffsets[]): Promise<void> {
    if (partitions.length === 0) return;
    await this.redis.strataPublishLag(globalKeys(this.prefix).partitionLag, ...publishLagArgs(reporter, partitions));
  }

  /** Every partition's last lag report with its age, by partition; empty before any projector reported. */
  async partitionLag(): Promise<PartitionLagReport[]> {
    return parseLagReply(await this.redis.strataReadLag(globalKeys(this.prefix).partitionLag));
  }

  /** Deletes every key of a generation, in SCAN batches with UNLINK so Redis never blocks long. */
  async dropGeneration(generation: number): Promise<number> {
    const pattern = `${this.prefix.replace(/[*?[\]\\]/g, '\\$&')}g${generation}:*`;
    let cursor = '0';
    let dropped = 0;
    do {
      const [nextCursor, found] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = nextCursor;
      if (found.length > 0) dropped += await this.redis.unlink(...found);
    } while (cursor !== '0');
    return dropped;
  }

  private async awaitOtherRebuild(signal?: AbortSignal): Promise<RebuildResult> {
    const keys = globalKeys(this.prefix);
    while ((await this.redis.exists(keys.rebuildLock)) === 1) {
      signal?.throwIfAborted();
      await sleep(50);
    }
    const generation = await this.generation();
    if (generation === null) throw new StrataError('UNAVAILABLE', 'the other rebuild ended without a live generation');
    return { generation, previous: null, position: 0, events: 0, eventsPerSecond: 0, rebuilt: false };
  }

  /**
   * `generation === null`: the live generation, resolved inside the script; else that one, no
   * notifications. Each view's events go out in script calls of `chunkSize` events, each sent as
   * soon as it is full (one connection keeps them in order), so Redis applies one while the next
   * is encoded. A call names the last position of the view's call before it: if that one failed,
   * this one applies nothing (-2) instead of moving the view past events it never got.
   */
  private async apply(events: readonly ProjectedEvent[], generation: number | null): Promise<ApplyResult> {
    const live = generation === null;
    const keys = globalKeys(this.prefix);
    const head = [keys.generation, keys.missed, this.prefix, live ? 'live' : 'build', String(generation ?? '')];
    // The script's arguments after the tag, flat: rebuilds leave out the message (they publish nothing).
    const full = head.length + 2 + this.chunkSize * (live ? 6 : 5);
    const open = new Map<string, string[]>();
    const sent = new Map<string, string>();
    const calls: Promise<number>[] = [];
    let ignored = 0;
    for (const event of events) {
      const op = viewOpOf(event, live);
      if (!op) {
        ignored++;
        continue;
      }
      let call = open.get(op.tag);
      if (!call) open.set(op.tag, (call = head.concat(op.tag, sent.get(op.tag) ?? '0')));
      const t = op.tuple;
      if (live) call.push(t[0], t[1], t[2], t[3], t[4], t[5]);
      else call.push(t[0], t[1], t[2], t[3], t[4]);
      if (call.length >= full) {
        // One flat array: ioredis flattens a single level, so no spreading of thousands of arguments.
        calls.push(this.redis.strataApply(call));
        open.delete(op.tag);
        sent.set(op.tag, t[0]);
      }
    }
    for (const call of open.values()) calls.push(this.redis.strataApply(call));
    let applied = 0;
    let lost = false;
    let failed: unknown = null;
    for (const result of await Promise.allSettled(calls)) {
      if (result.status === 'rejected') failed ??= result.reason;
      else if (result.value === -2) failed ??= new Error('an earlier call for the same view failed');
      else if (result.value === -1) lost = true;
      else applied += Number(result.value);
    }
    if (failed !== null)
      throw new StrataError('UNAVAILABLE', 'applying events to Redis failed', undefined, { cause: failed });
    const viewEvents = events.length - ignored;
    return { applied, duplicates: lost ? 0 : viewEvents - applied, ignored, lost };
  }
}
