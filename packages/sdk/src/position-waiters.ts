import { StrataError } from '@strata/core';

interface Waiter {
  position: number;
  resolve: () => void;
}

/**
 * Read-your-writes waits: each resolves once the client's position reaches the waiter's, or
 * rejects with TIMEOUT. The target may be lowered while it waits (the API named the newest
 * position of this scope at or below the one asked for).
 */
export class PositionWaiters {
  private waiters: Waiter[] = [];

  constructor(
    private readonly current: () => number,
    /** Look at the view's position now: a notification may have been lost. */
    private readonly poke: () => void,
  ) {}

  wait(position: number, timeoutMs: number, scopePosition: Promise<number>): Promise<void> {
    if (this.current() >= position) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { position, resolve: () => (clearTimeout(timer), clearTimeout(poke), resolve()) };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        clearTimeout(poke);
        const current = this.current();
        reject(
          new StrataError(
            'TIMEOUT',
            `strata: at position ${current}, not yet at ${waiter.position} after ${timeoutMs} ms`,
            { position: waiter.position, current },
          ),
        );
      }, timeoutMs);
      // Instead of waiting for the safety check.
      const poke = setTimeout(() => this.poke(), Math.min(50, timeoutMs / 2));
      this.waiters.push(waiter);
      void scopePosition.then((target) => {
        if (target >= waiter.position || !this.waiters.includes(waiter)) return;
        waiter.position = target;
        this.flush();
      });
    });
  }

  /** Resolves every waiter the current position satisfies. */
  flush(): void {
    if (this.waiters.length === 0) return;
    const position = this.current();
    const due = this.waiters.filter((w) => w.position <= position);
    if (due.length === 0) return;
    this.waiters = this.waiters.filter((w) => w.position > position);
    for (const w of due) w.resolve();
  }
}
