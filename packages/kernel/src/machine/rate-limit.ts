// Handshakes per remote address: a token bucket per host, refilled at `perSecond`, holding at
// most two seconds' worth. A stranger hammering the port spends no crypto beyond its budget.
export class AddressRateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly perSecond: number) {}

  /** Takes one token for `host` at time `now` (ms); false when the bucket is empty. */
  take(host: string, now: number): boolean {
    const cap = this.perSecond * 2;
    const b = this.#buckets.get(host) ?? { tokens: cap, at: now };
    b.tokens = Math.min(cap, b.tokens + ((now - b.at) / 1000) * this.perSecond);
    b.at = now;
    if (this.#buckets.size > 10_000) this.#buckets.clear(); // bounded memory under a spoofing storm
    this.#buckets.set(host, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
