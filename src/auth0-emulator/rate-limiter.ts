// Auth0's Management API limit: one token bucket (burst + sustained rate) for every /api/v2 call.
import type { RateLimit, RatePlan } from './types.js';

/**
 * The bucket when no limit is configured: Auth0 sends x-ratelimit-* on every Management API
 * response, so the emulator does too, from a bucket far above anything a test or `npm run bench`
 * (about 2,000 requests/s) sends. Its headers are truthful, so a client learning from them sees a
 * large budget, never a made-up one.
 */
export const DEFAULT_RATE_LIMIT: RateLimit = Object.freeze({ perSecond: 10_000, burst: 10_000 });

/**
 * Auth0's published Management API limits per plan (sustained requests per second, burst):
 * production tenants of the Free plan 2/2, of Enterprise plans 16/50, and Enterprise
 * non-production (development, staging) tenants 2/10.
 */
export const RATE_LIMIT_PLANS: Readonly<Record<RatePlan, RateLimit>> = Object.freeze({
  free: Object.freeze({ perSecond: 2, burst: 2 }),
  enterprise: Object.freeze({ perSecond: 16, burst: 50 }),
  'enterprise-nonprod': Object.freeze({ perSecond: 2, burst: 10 }),
});

/** Whether `value` names a plan of {@link RATE_LIMIT_PLANS}. */
export function isRatePlan(value: string): value is RatePlan {
  return Object.hasOwn(RATE_LIMIT_PLANS, value);
}

/**
 * `<per second>/<burst>` (`16/50`, `0.5/3`) as a RateLimit; throws a message naming the format
 * when the text is not one, or when the rate is not positive or the burst not a whole number ≥ 1.
 */
export function parseRateLimit(text: string): RateLimit {
  const match = /^\s*(\d+(?:\.\d+)?)\s*\/\s*(\d+)\s*$/.exec(text);
  const perSecond = match ? Number(match[1]) : NaN;
  const burst = match ? Number(match[2]) : NaN;
  if (!(perSecond > 0) || !Number.isSafeInteger(burst) || burst < 1) {
    throw new Error(`expected <per second>/<burst>, such as 16/50 (rate > 0, burst >= 1), got "${text}"`);
  }
  return { perSecond, burst };
}

/** The limit an emulator starts with: its `plan`, its explicit `rateLimit`, else the default. */
export function initialRateLimit(options: { plan?: RatePlan; rateLimit?: RateLimit | false }): RateLimit {
  if (options.plan !== undefined && options.rateLimit) {
    throw new Error('give the emulator a plan or a rateLimit, not both');
  }
  if (options.plan !== undefined) {
    if (!isRatePlan(options.plan)) throw new Error(`unknown plan "${String(options.plan)}"`);
    return RATE_LIMIT_PLANS[options.plan];
  }
  return options.rateLimit || DEFAULT_RATE_LIMIT;
}

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
