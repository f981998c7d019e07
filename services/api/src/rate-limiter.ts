/**
 * Per-credential token bucket: `burst` requests at once, refilled at `perSecond`. In memory, per
 * API instance — enough to stop one runaway client from starving the others on this instance.
 */
export class RateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** 0 when allowed (and counted), else the seconds to wait before retrying. */
  take(id: string): number {
    const now = this.now();
    let bucket = this.#buckets.get(id);
    if (!bucket) {
      if (this.#buckets.size > 50_000) this.#buckets.clear();
      bucket = { tokens: this.burst, at: now };
      this.#buckets.set(id, bucket);
    }
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.perSecond));
  }
}
