import type { Logger } from './logger.js';

/** Why a dependency failed, as one short string (never a payload: callers pass errors, not data). */
const reasonOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** A failure this soon after an announced recovery belongs to the outage that just ended. */
const relapseWindowMs = 10_000;
/** An outage still going is said again after 1 min, then after gaps doubling up to 10 min. */
const firstReminderMs = 60_000;
const longestReminderGapMs = 600_000;

/**
 * Whether one dependency (Kafka, for a relay or a projector) answers, logged by its changes only:
 * one `warn` when it stops answering, one `info` when it answers again, however many failures
 * the clients report in between (a 15 s broker outage used to print some 60 error lines). An
 * outage that goes on is said again, spaced out (1, 2, 4, 8 min, then every 10 min), so a service
 * waiting for a broker that never came up is not silent for hours. The state also feeds a
 * `connected` gauge.
 */
export class ConnectionState {
  /** `starting` until the first success or failure: the gauge says 0, the first success logs nothing. */
  #state: 'starting' | 'up' | 'down' = 'starting';
  #lostAt = 0;
  #restoredAt = -Infinity;
  #suppressed = 0;
  /** Down again right after an announced recovery: still the same outage, so neither line repeats. */
  #relapse = false;
  /** The outage began with the dependency answering "not ready yet", so its end reads "ready". */
  #settling = false;
  #nextReminderAt = Infinity;
  #reminderGapMs = firstReminderMs;

  /**
   * `what` names the dependency in the two lines, e.g. `kafka`. `isSettling` tells a failure of a
   * dependency that answered but is not ready to serve yet (a fresh broker's group coordinator
   * still loading), which the line then says instead of claiming a lost connection.
   */
  constructor(
    private readonly logger: Logger,
    private readonly what: string,
    private readonly isSettling: (reason: string) => boolean = () => false,
  ) {}

  get connected(): boolean {
    return this.#state === 'up';
  }

  /** A failure that means "not reachable right now"; only the first of an outage is logged. */
  lost(error: unknown, fields: Record<string, unknown> = {}): void {
    if (this.#state === 'down') {
      this.#suppressed++;
      if (!this.#relapse) return this.#remind(error, fields);
      // A relapse that outlasts the window is an outage of its own after all: say so once.
      if (Date.now() - this.#restoredAt < relapseWindowMs) return;
      this.#state = 'up';
    }
    const was = this.#state;
    this.#state = 'down';
    // A broker that just came back still answers "coordinator loading" for a moment.
    this.#relapse = was === 'up' && Date.now() - this.#restoredAt < relapseWindowMs;
    if (this.#relapse) return;
    this.#lostAt = Date.now();
    this.#suppressed = 0;
    this.#reminderGapMs = firstReminderMs;
    this.#nextReminderAt = this.#lostAt + firstReminderMs;
    this.#settling = this.isSettling(reasonOf(error));
    const msg = this.#settling
      ? `${this.what} answers but is not ready yet; retrying`
      : was === 'up'
        ? `${this.what} connection lost; retrying`
        : `${this.what} not reachable yet; retrying`;
    this.logger.log('warn', msg, { ...fields, error: reasonOf(error) });
  }

  /** The outage again, once its reminder is due: how long so far and how many failures kept quiet. */
  #remind(error: unknown, fields: Record<string, unknown>): void {
    const now = Date.now();
    if (now < this.#nextReminderAt) return;
    this.#reminderGapMs = Math.min(this.#reminderGapMs * 2, longestReminderGapMs);
    this.#nextReminderAt = now + this.#reminderGapMs;
    const downMs = now - this.#lostAt;
    this.logger.log(
      'warn',
      `${this.what} still ${this.#settling ? 'not ready' : 'not reachable'} after ${Math.round(downMs / 1000)} s; retrying`,
      { ...fields, error: reasonOf(error), downMs, suppressedFailures: this.#suppressed },
    );
  }

  /** A success; logs the end of an outage, with how long it lasted and how much it kept quiet. */
  restored(fields: Record<string, unknown> = {}): void {
    const was = this.#state;
    const relapse = this.#relapse;
    this.#state = 'up';
    this.#relapse = false;
    if (was !== 'down' || relapse) return;
    this.#restoredAt = Date.now();
    this.logger.log('info', this.#settling ? `${this.what} ready` : `${this.what} connection restored`, {
      ...fields,
      downMs: Date.now() - this.#lostAt,
      suppressedFailures: this.#suppressed,
    });
  }
}

/**
 * Exponential backoff with ±20 % jitter (so restarted workers do not retry in lockstep):
 * `initialMs` before the second attempt, doubling, never above `maxMs`.
 */
export const backoffMs = (attempt: number, initialMs: number, maxMs: number): number => {
  const base = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(Math.min(maxMs, base * (0.8 + Math.random() * 0.4)));
};
