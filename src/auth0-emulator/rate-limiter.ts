// Auth0's Management API limit: one token bucket (burst + sustained rate) for every /api/v2 call.
import type { RateLimit } from './types.js';

/**
 * The bucket when no limit is configured: Auth0 sends x-ratelimit-* on every Management API
 * response, so the emulator does too, from a bucket far above anything a test or `npm run bench`
 * (about 2,000 requests/s) sends. Its headers are truthful, so a client learning from them sees a
 * large budget, never a made-up one.
 */
export const DEFAULT_RATE_LIMIT: RateLimit = Object.freeze({ perSecond: 10_000, burst: 10_000 });

export interface RateDecision {
  allowed: boolean;
  /** x-ratelimit-* headers for this response. */
  headers: Record<string, string>;
}

export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number,
  ) {
    if (!(limit.perSecond > 0) || !(limit.burst >= 1))
      throw new Error('rateLimit needs perSecond > 0 and burst >= 1');
    this.tokens = limit.burst;
    this.updatedAt = now();
  }

  take(): RateDecision {
    const now = this.now();
    // A clock that steps back (an injected test clock) refills nothing rather than draining.
    const elapsedMs = Math.max(0, now - this.updatedAt);
    this.tokens = Math.min(this.limit.burst, this.tokens + (elapsedMs / 1000) * this.limit.perSecond);
    this.updatedAt = now;
    const allowed = this.tokens >= 1;
    if (allowed) this.tokens -= 1;
    const secondsToFull = (this.limit.burst - this.tokens) / this.limit.perSecond;
    return {
      allowed,
      headers: {
        'x-ratelimit-limit': String(this.limit.burst),
        'x-ratelimit-remaining': String(Math.floor(this.tokens)),
        // Epoch seconds when the bucket is full again, rounded up.
        'x-ratelimit-reset': String(Math.ceil(now / 1000 + secondsToFull)),
      },
    };
  }
}
