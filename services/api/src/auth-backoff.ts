/**
 * Per-client backoff after failed authentication. A client (remote address) may fail `allowance`
 * times; each failure after that makes it wait twice as long before its next attempt is even
 * evaluated (1 s, 2 s, 4 s … up to `maxSeconds`), so guessing tokens or a script with a stale one
 * costs the API a map lookup instead of a hash and a query per request. A quiet `forgetAfterMs`
 * forgives the past. In memory, per API instance, like the per-token RateLimiter.
 */
export class AuthBackoff {
  readonly #clients = new Map<string, { failures: number; blockedUntil: number; lastFailure: number }>();

  constructor(
    readonly allowance: number,
    readonly maxSeconds: number,
    private readonly now: () => number = Date.now,
    readonly forgetAfterMs = 15 * 60_000,
  ) {}

  /** Seconds the client must still wait before an attempt is evaluated; 0 when it may try now. */
  waitSeconds(client: string): number {
    const entry = this.#clients.get(client);
    if (!entry) return 0;
    const left = entry.blockedUntil - this.now();
    return left > 0 ? Math.ceil(left / 1000) : 0;
  }

  /** Counts a failed attempt; returns the seconds of backoff it starts (0 within the allowance). */
  failed(client: string): number {
    const now = this.now();
    let entry = this.#clients.get(client);
    if (!entry || now - entry.lastFailure > this.forgetAfterMs) {
      if (this.#clients.size > 50_000) this.#clients.clear();
      entry = { failures: 0, blockedUntil: 0, lastFailure: now };
      this.#clients.set(client, entry);
    }
    entry.failures += 1;
    entry.lastFailure = now;
    const over = entry.failures - this.allowance;
    if (over <= 0) return 0;
    const seconds = Math.min(this.maxSeconds, 2 ** Math.min(over - 1, 30));
    entry.blockedUntil = now + seconds * 1000;
    return seconds;
  }
}
