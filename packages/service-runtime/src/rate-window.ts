/** Events per second over a sliding window: what a `…_rate` gauge reports at scrape time. */
export class RateWindow {
  #samples: { at: number; count: number }[] = [];

  constructor(private readonly windowMs = 10_000) {}

  record(count: number, now = Date.now()): void {
    this.#samples.push({ at: now, count });
    this.#prune(now);
  }

  perSecond(now = Date.now()): number {
    this.#prune(now);
    return this.#samples.reduce((sum, sample) => sum + sample.count, 0) / (this.windowMs / 1000);
  }

  #prune(now: number): void {
    while (this.#samples.length > 0 && this.#samples[0]!.at < now - this.windowMs) this.#samples.shift();
  }
}
