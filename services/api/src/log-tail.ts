import type { Change } from '@strata/contracts';
import type { ChangeFeed, EventLog, RecordedEvent } from '@strata/core';
import { eventsChannel } from '@strata/postgres-log';

/** What a change stream listens for: one environment, optionally narrowed to one tenant. */
export interface ChangeFilter {
  namespace: string;
  environment: string;
  /** null: every tenant's changes; else only that tenant's plus environment-wide ones. */
  tenant: string | null;
}

/**
 * The change an event means for `filter`, or null when it does not touch it. Manifests and
 * tenant keys belong to a namespace, so every environment of it sees them.
 */
export const changeOf = (event: RecordedEvent, filter: ChangeFilter): Change | null => {
  const base = { position: event.position, type: event.type, recordedAt: event.recordedAt };
  const data = event.data as { namespace?: string; environment?: string; tenant?: string | null };
  if (data.namespace !== filter.namespace) return null;
  const tenantOk = (tenant: string | null) => tenant === null || filter.tenant === null || tenant === filter.tenant;
  const inEnv = data.environment === filter.environment;
  const make = (kind: Change['kind'], name: string | null, tenant: string | null): Change | null =>
    tenantOk(tenant) ? { ...base, kind, name, tenant } : null;
  switch (event.type) {
    case 'ManifestPublished':
      return make('manifest', null, null);
    case 'TenantKeyShredded':
      return make('tenant-key', null, event.data.tenant);
    case 'ConfigValueSet':
    case 'ConfigValueUnset':
      return inEnv ? make('config', event.data.key, event.data.tenant) : null;
    case 'FlagRolloutChanged':
    case 'FlagDefinitionSet':
      return inEnv ? make('flag', event.data.flag, null) : null;
    case 'SegmentSet':
    case 'SegmentDeleted':
      return inEnv ? make('segment', event.data.segment, null) : null;
    case 'FlagOverrideSet':
      return inEnv ? make('flag', event.data.flag, event.data.tenant) : null;
    case 'SecretVersionAdded':
    case 'SecretDeleted':
      return inEnv ? make('secret', event.data.name, event.data.tenant) : null;
    default:
      return null;
  }
};

/** One open stream as the tail sees it. */
export interface LogTailSubscriber {
  /** Every event after the tail's cursor, in position order (the subscriber filters). */
  offer(event: RecordedEvent): void;
  /** The tail is shutting down. */
  end(): void;
}

export interface LogTailOptions {
  log: EventLog;
  /** The process's database notifications; every append NOTIFYs `strata_events`. Absent: polling only. */
  notifications?: ChangeFeed | undefined;
  /** Reads the log this often even without a notification (a lost NOTIFY costs at most this). */
  pollIntervalMs?: number;
  onError?: (error: unknown) => void;
}

/**
 * One reader of the log for every change stream of this API process: woken by the log's append
 * notification (the log commits, NOTIFY fires — no relay, Kafka or projector in the path) on the
 * process's shared LISTEN connection, it reads each new event once and hands it to every
 * subscriber in position order. Reads nothing while no stream is open.
 */
export class LogTail {
  readonly #log: EventLog;
  readonly #subscribers = new Set<LogTailSubscriber>();
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #onError: (error: unknown) => void;
  #cursor = 0;
  #pumping: Promise<void> | null = null;
  #again = false;
  #closed = false;

  constructor(options: LogTailOptions) {
    this.#log = options.log;
    this.#onError = options.onError ?? (() => undefined);
    const wake = () => this.#wake();
    options.notifications?.on(eventsChannel, wake);
    // Announcements may have been missed: read the log now rather than at the next poll.
    options.notifications?.onGap(wake);
    this.#timer = setInterval(wake, options.pollIntervalMs ?? 1_000);
    this.#timer.unref();
  }

  /**
   * Adds a subscriber; it gets every event after the returned position (the cursor at the moment
   * it joined) from then on.
   */
  async subscribe(subscriber: LogTailSubscriber): Promise<number> {
    if (this.#closed) throw new Error('the log tail is closed');
    if (this.#subscribers.size === 0) {
      // Idle, the tail read nothing: catch the cursor up. An append that lands before the
      // subscriber is added is read by the next wake (notification or poll), so none is lost.
      await this.#pumping;
      this.#cursor = Math.max(this.#cursor, await this.#log.headPosition());
    }
    this.#subscribers.add(subscriber);
    return this.#cursor;
  }

  unsubscribe(subscriber: LogTailSubscriber): void {
    this.#subscribers.delete(subscriber);
  }

  /** Ends every stream. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    for (const subscriber of this.#subscribers) subscriber.end();
    this.#subscribers.clear();
    await this.#pumping;
  }

  #wake(): void {
    if (this.#subscribers.size === 0 || this.#closed) return;
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = this.#pump().finally(() => (this.#pumping = null));
  }

  async #pump(): Promise<void> {
    do {
      this.#again = false;
      try {
        for (;;) {
          const events = await this.#log.readAll(this.#cursor, 1000);
          if (events.length === 0) break;
          // Cursor and hand-over in one synchronous step: a subscriber joining later starts exactly after it.
          this.#cursor = events[events.length - 1]!.position;
          for (const event of events) for (const subscriber of this.#subscribers) subscriber.offer(event);
        }
      } catch (error) {
        this.#onError(error);
      }
    } while (this.#again && this.#subscribers.size > 0);
  }
}
