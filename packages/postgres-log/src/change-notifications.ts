import type { ChangeFeed } from '@strata/core';
import type pg from 'pg';

export interface ChangeNotificationsOptions {
  /** Waits between reconnect attempts, doubling from `min` up to `max` (default 100 ms … 5 s). */
  retryMs?: { min: number; max: number };
  /** Told once when listening stops working and once when it works again (not per retry). */
  onLost?: (error: unknown) => void;
  onBack?: () => void;
}

const channelPattern = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * LISTEN on the NOTIFY channels other processes' changes announce (a token revoked, a tenant key
 * shredded), so every process can drop what it cached within a round trip instead of after a TTL.
 * Holds one pool connection while running and reconnects with backoff when it is lost.
 *
 * A cache may only keep an entry while `listening` is true: notifications sent while this process
 * was not listening are gone for good, so on every loss and every reconnect the `onGap` handlers
 * run (drop everything), and `epoch` moves so a lookup that raced a change does not cache its answer.
 */
export class ChangeNotifications implements ChangeFeed {
  readonly #pool: pg.Pool;
  readonly #options: ChangeNotificationsOptions;
  readonly #handlers = new Map<string, Set<(payload: string) => void>>();
  readonly #gapHandlers = new Set<() => void>();
  #client: pg.PoolClient | null = null;
  readonly #released = new WeakSet<pg.PoolClient>();
  #epoch = 0;
  #closed = false;
  #lost = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryMs: number;
  #connecting: Promise<void> | null = null;

  constructor(pool: pg.Pool, options: ChangeNotificationsOptions = {}) {
    this.#pool = pool;
    this.#options = options;
    this.#retryMs = options.retryMs?.min ?? 100;
  }

  /** True while notifications are being received: caching is safe. */
  get listening(): boolean {
    return this.#client !== null;
  }

  /** Changes on every notification and every gap: compare before and after a lookup to know it raced none. */
  get epoch(): number {
    return this.#epoch;
  }

  /** Calls `handler` with each notification's payload on `channel`. */
  on(channel: string, handler: (payload: string) => void): void {
    if (!channelPattern.test(channel)) throw new Error(`not a channel name: ${channel}`);
    let handlers = this.#handlers.get(channel);
    if (!handlers) {
      this.#handlers.set(channel, (handlers = new Set()));
      // A channel added while listening: until its LISTEN is in place, nothing on it may be cached.
      const client = this.#client;
      if (client) {
        this.#gap();
        client.query(`LISTEN ${channel}`).then(
          () => this.#gap(),
          (error: unknown) => this.#drop(client, error),
        );
      }
    }
    handlers.add(handler);
  }

  /** Calls `handler` whenever notifications may have been missed: drop every cached entry. */
  onGap(handler: () => void): void {
    this.#gapHandlers.add(handler);
  }

  /** Connects and listens; resolves once listening or after the first failure (it keeps retrying). */
  start(): Promise<void> {
    return (this.#connecting ??= this.#connect().finally(() => (this.#connecting = null)));
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    await this.#connecting;
    const client = this.#client;
    this.#client = null;
    if (client) this.#discard(client);
  }

  async #connect(): Promise<void> {
    if (this.#closed || this.#client) return;
    let client: pg.PoolClient | undefined;
    try {
      client = await this.#pool.connect();
      client.on('notification', (message) => this.#notified(message));
      client.on('error', (error) => this.#drop(client!, error));
      for (const channel of this.#handlers.keys()) await client.query(`LISTEN ${channel}`);
    } catch (error) {
      if (client) this.#drop(client, error);
      else this.#failed(error);
      return;
    }
    if (this.#closed) {
      this.#discard(client);
      return;
    }
    this.#client = client;
    this.#retryMs = this.#options.retryMs?.min ?? 100;
    // Anything cached before now may have changed unannounced while this process was not listening.
    this.#gap();
    if (this.#lost) {
      this.#lost = false;
      this.#options.onBack?.();
    }
  }

  #notified(message: pg.Notification): void {
    this.#epoch++;
    for (const handler of this.#handlers.get(message.channel) ?? []) handler(message.payload ?? '');
  }

  #drop(client: pg.PoolClient, error: unknown): void {
    // A failing LISTEN may also emit 'error': only the first report releases and retries.
    if (this.#released.has(client)) return;
    if (this.#client === client) this.#client = null;
    this.#discard(client);
    this.#failed(error);
  }

  #discard(client: pg.PoolClient): void {
    this.#released.add(client);
    client.removeAllListeners('notification');
    client.removeAllListeners('error');
    client.on('error', () => undefined);
    // Released with `true` the connection is closed rather than pooled, which ends its LISTENs.
    client.release(true);
  }

  #failed(error: unknown): void {
    this.#gap();
    if (this.#closed) return;
    if (!this.#lost) {
      this.#lost = true;
      this.#options.onLost?.(error);
    }
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => void this.start(), this.#retryMs);
    this.#retryTimer.unref();
    this.#retryMs = Math.min(this.#retryMs * 2, this.#options.retryMs?.max ?? 5_000);
  }

  #gap(): void {
    this.#epoch++;
    for (const handler of this.#gapHandlers) handler();
  }
}
