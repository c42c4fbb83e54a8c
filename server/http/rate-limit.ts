/** Token buckets keyed by user or IP. In memory: a limit is per process by design. */
import type { RateLimitBucket } from '../config/schema';

interface State {
  tokens: number;
  updatedMs: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, State>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Takes one token from `key`'s bucket; returns 0 if allowed, else the ms to wait. */
  take(key: string, limit: RateLimitBucket): number {
    const now = this.now();
    const state = this.buckets.get(key) ?? { tokens: limit.burst, updatedMs: now };
    state.tokens = Math.min(limit.burst, state.tokens + ((now - state.updatedMs) / 1000) * limit.per_second);
    state.updatedMs = now;
    if (state.tokens >= 1) {
      state.tokens -= 1;
      this.buckets.set(key, state);
      this.sweepIfLarge(limit);
      return 0;
    }
    this.buckets.set(key, state);
    return Math.ceil(((1 - state.tokens) / limit.per_second) * 1000);
  }

  /** Full buckets carry no information; drop them so memory stays bounded. */
  private sweepIfLarge(limit: RateLimitBucket): void {
    if (this.buckets.size < 10_000) return;
    const now = this.now();
    for (const [key, state] of this.buckets) {
      if (state.tokens + ((now - state.updatedMs) / 1000) * limit.per_second >= limit.burst) this.buckets.delete(key);
    }
  }
}
