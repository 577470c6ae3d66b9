/** Token buckets keyed by a string (a kernel session, or "auth-failures"). */
export interface RateLimit {
  /** Sustained requests per second. */
  perSecond: number;
  /** Requests allowed in a burst above the sustained rate. */
  burst: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Takes one token; returns 0 when allowed, else the seconds to wait before retrying. */
  take(key: string): number {
    const t = this.now();
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { tokens: this.limit.burst, at: t };
      this.buckets.set(key, bucket);
      if (this.buckets.size > 10_000) this.prune(t);
    }
    bucket.tokens = Math.min(
      this.limit.burst,
      bucket.tokens + ((t - bucket.at) / 1000) * this.limit.perSecond,
    );
    bucket.at = t;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return (1 - bucket.tokens) / this.limit.perSecond;
  }

  private prune(t: number): void {
    for (const [key, bucket] of this.buckets) {
      if (t - bucket.at > 60_000) this.buckets.delete(key);
    }
  }
}
