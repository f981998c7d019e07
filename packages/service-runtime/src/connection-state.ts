import type { JsonLogger } from './json-logger.js';

/** Why a dependency failed, as one short string (never a payload: callers pass errors, not data). */
const reasonOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Whether one dependency (Kafka, for a relay or a projector) answers, logged by its changes only:
 * one `warn` when it stops answering, one `info` when it answers again, however many failures
 * the clients report in between (a 15 s broker outage used to print some 60 error lines). The
 * state also feeds a `connected` gauge.
 */
export class ConnectionState {
  /** `starting` until the first success or failure: the gauge says 0, the first success logs nothing. */
  #state: 'starting' | 'up' | 'down' = 'starting';
  #lostAt = 0;
  #suppressed = 0;

  /** `what` names the dependency in the two lines, e.g. `kafka`. */
  constructor(
    private readonly logger: JsonLogger,
    private readonly what: string,
  ) {}

  get connected(): boolean {
    return this.#state === 'up';
  }

  /** A failure that means "not reachable right now"; only the first of an outage is logged. */
  lost(error: unknown, fields: Record<string, unknown> = {}): void {
    if (this.#state === 'down') {
      this.#suppressed++;
      return;
    }
    const msg = this.#state === 'up' ? `${this.what} connection lost; retrying` : `${this.what} not reachable yet; retrying`;
    this.#state = 'down';
    this.#lostAt = Date.now();
    this.#suppressed = 0;
    this.logger.log('warn', msg, { ...fields, error: reasonOf(error) });
  }

  /** A success; logs the end of an outage, with how long it lasted and how much it kept quiet. */
  restored(fields: Record<string, unknown> = {}): void {
    const was = this.#state;
    this.#state = 'up';
    if (was !== 'down') return;
    this.logger.log('info', `${this.what} connection restored`, {
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
