import type { RateLimitSetting } from '../config.js';
import { RateLimitedError } from '../errors.js';
import { headerValue, type HeaderBag } from './to-gateway-error.js';

/** Time source and timers, injectable so tests can drive the bucket without waiting. */
export interface BudgetClock {
  now(): number;
  /** Calls `callback` after `delayMs`; returns a function that cancels it. */
  setTimer(callback: () => void, delayMs: number): () => void;
}

export const systemClock: BudgetClock = {
  now: () => Date.now(),
  setTimer(callback, delayMs) {
    const timer = setTimeout(callback, delayMs);
    // A waiting call must not keep a stopping process alive.
    timer.unref();
    return () => clearTimeout(timer);
  },
};

export interface UpstreamBudgetOptions {
  /** Configured bucket (AUTH0_RATE_LIMIT); `null`/absent: learned from `x-ratelimit-*` headers. */
  rateLimit?: RateLimitSetting | null;
  /** Most calls in flight to Auth0 at once; default 20. */
  maxConcurrency?: number;
  /** Most calls waiting; beyond that a call is refused at once. Default 1000. */
  maxQueueLength?: number;
  clock?: BudgetClock;
  /** Told the queue length whenever it changes (for a gauge). */
  onQueueChange?: (queueLength: number) => void;
}

/** Gives the slot back; calling it more than once does nothing. */
export type ReleaseBudget = () => void;

export interface BudgetStats {
  queueLength: number;
  inFlight: number;
  /** Tokens in the local bucket now; `null` while no rate is known (no limit applied). */
  tokens: number | null;
  ratePerSecond: number | null;
  burst: number | null;
}

interface Waiter {
  resolve(release: ReleaseBudget): void;
  reject(error: Error): void;
  cancelDeadline(): void;
}

// Where between the learned bounds calls are paced: nearer the safe (lower) one, since an
// overshoot costs 429s and a shortfall only a little throughput.
const UPPER_BOUND_SHARE = 0.1;

// Float drift must not leave a bucket at 0.9999999 tokens forever.
const EPSILON = 1e-9;

/**
 * The process's share of the tenant's Management API rate limit (DESIGN §8): a local token
 * bucket, configured or learned from Auth0's headers, that calls wait on in FIFO order, plus a
 * cap on calls in flight. A call whose expected wait exceeds its `maxWaitMs` is refused at once
 * with RATE_LIMITED rather than queued.
 *
 * Auth0's `x-ratelimit-reset` is whole epoch seconds (rounded up) for when the bucket is full
 * again. Waiting for it (as node-auth0 does after a 429) lets through only the burst each
 * second; pacing at the refill rate, which follows from limit, remaining and reset, keeps the
 * sustained rate instead.
 */
export class UpstreamBudget {
  private readonly clock: BudgetClock;
  private readonly maxConcurrency: number;
  private readonly maxQueueLength: number;
  private readonly configured: boolean;
  private readonly onQueueChange?: (queueLength: number) => void;
  /** Tokens per second; `null` until configured or learned. */
  private rate: number | null;
  private burst: number | null;
  private tokens: number;
  private lastRefill: number;
  private pausedUntil = 0;
  /** Bounds on the tenant's refill rate learned from headers (tokens per second). */
  private lowerRate = 0;
  private upperRate = Infinity;
  private inFlight = 0;
  private readonly queue: Waiter[] = [];
  private cancelTimer?: () => void;

  constructor(options: UpstreamBudgetOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.maxConcurrency = options.maxConcurrency ?? 20;
    this.maxQueueLength = options.maxQueueLength ?? 1000;
    this.onQueueChange = options.onQueueChange;
    this.configured = Boolean(options.rateLimit);
    this.rate = options.rateLimit?.perSecond ?? null;
    this.burst = options.rateLimit?.burst ?? null;
    this.tokens = this.capacity() ?? 0;
    this.lastRefill = this.clock.now();
  }

  /**
   * Tokens the local bucket may hold: the burst less one held in reserve. Auth0 counts a call
   * when it arrives, we when we send it; a slower first arrival (a new connection) makes Auth0's
   * refill start later than ours, and the reserve absorbs that skew instead of earning a 429.
   */
  private capacity(): number | null {
    if (this.burst === null) return null;
    return this.burst >= 2 ? this.burst - 1 : this.burst;
  }

  /**
   * Waits (FIFO) until the bucket and the concurrency cap allow one call, then resolves with its
   * release. Rejects with RateLimitedError at once when the expected wait exceeds `maxWaitMs` or the
   * queue is full, and when the wait turns out longer than `maxWaitMs` after all.
   */
  acquire(maxWaitMs: number): Promise<ReleaseBudget> {
    const now = this.clock.now();
    this.refill(now);
    if (this.queue.length === 0 && this.canGrant(now)) return Promise.resolve(this.grant());
    const expectedMs = this.expectedWaitMs(this.queue.length, now);
    if (expectedMs > maxWaitMs || this.queue.length >= this.maxQueueLength) {
      return Promise.reject(this.refusal(expectedMs));
    }
    return new Promise<ReleaseBudget>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, cancelDeadline: () => undefined };
      waiter.cancelDeadline = this.clock.setTimer(() => {
        this.pump();
        const index = this.queue.indexOf(waiter);
        if (index === -1) return;
        this.queue.splice(index, 1);
        this.onQueueChange?.(this.queue.length);
        reject(this.refusal(this.expectedWaitMs(0, this.clock.now())));
        this.pump();
      }, maxWaitMs);
      this.queue.push(waiter);
      this.onQueueChange?.(this.queue.length);
      this.pump();
    });
  }

  /** Learns from (and corrects the local count with) Auth0's `x-ratelimit-*` response headers. */
  observe(headers: HeaderBag): void {
    const limit = Number(headerValue(headers, 'x-ratelimit-limit'));
    const remaining = Number(headerValue(headers, 'x-ratelimit-remaining'));
    const reset = Number(headerValue(headers, 'x-ratelimit-reset'));
    if (!(limit > 0) || !Number.isFinite(remaining) || remaining < 0) return;
    const now = this.clock.now();
    this.refill(now);
    if (!this.configured) {
      this.burst = limit;
      const windowSeconds = reset - now / 1000;
      const deficit = limit - remaining;
      if (deficit > 0 && windowSeconds > 0) {
        // `reset` is the refill time rounded up to a whole second, so the deficit refills in
        // more than `window − 1` and at most `window` seconds: each response bounds the rate from
        // below and (for windows over a second) from above. The tightest bounds seen so far are
        // kept, and calls are paced between them; a 429 (remaining 0) tightens both.
        this.lowerRate = Math.max(this.lowerRate, deficit / windowSeconds);
        if (windowSeconds > 1) this.upperRate = Math.min(this.upperRate, deficit / (windowSeconds - 1));
        // Bounds that cross (another client spent the same budget) say nothing of the rate: keep the safe one.
        if (this.upperRate < this.lowerRate) this.upperRate = Infinity;
        const estimate = Number.isFinite(this.upperRate)
          ? this.lowerRate + (this.upperRate - this.lowerRate) * UPPER_BOUND_SHARE
          : this.lowerRate;
        if (this.rate === null) {
          this.tokens = remaining;
          this.lastRefill = Math.max(now, this.lastRefill);
        }
        this.rate = estimate;
      }
    }
    if (this.rate !== null && now >= this.pausedUntil) {
      // Other replicas (and other apps) spend the same tenant budget: Auth0's count wins when lower.
      this.tokens = Math.min(this.tokens, remaining, this.capacity() ?? remaining);
    }
    this.pump();
  }

  /**
   * Auth0 answered 429 anyway: the bucket is empty now. Nothing is sent before `Retry-After`
   * (when Auth0 sent it), else before one token interval; then calls resume at the bucket's pace.
   */
  onRateLimited(retryAfterSeconds?: number): void {
    const now = this.clock.now();
    this.refill(now);
    const intervalMs = this.rate ? 1000 / this.rate : 1000;
    const pauseMs = retryAfterSeconds !== undefined ? retryAfterSeconds * 1000 : intervalMs;
    this.pausedUntil = Math.max(this.pausedUntil, now + pauseMs);
    if (this.rate !== null) {
      this.tokens = 0;
      this.lastRefill = now;
    }
    this.pump();
  }

  stats(): BudgetStats {
    const now = this.clock.now();
    return {
      queueLength: this.queue.length,
      inFlight: this.inFlight,
      tokens: this.rate === null ? null : this.tokensAt(now),
      ratePerSecond: this.rate,
      burst: this.burst,
    };
  }

  private refusal(expectedMs: number): RateLimitedError {
    const retryAfter = Math.max(1, Math.ceil(expectedMs / 1000));
    return new RateLimitedError(
      `The gateway's Auth0 rate-limit budget is exhausted; retry after ${retryAfter} s.`,
      { retryAfter },
    );
  }

  private tokensAt(time: number): number {
    if (this.rate === null) return Infinity;
    if (time <= this.lastRefill) return this.tokens;
    return Math.min(this.capacity() ?? Infinity, this.tokens + ((time - this.lastRefill) * this.rate) / 1000);
  }

  private refill(now: number): void {
    if (now <= this.lastRefill) return;
    this.tokens = this.tokensAt(now);
    this.lastRefill = now;
  }

  private canGrant(now: number): boolean {
    return (
      this.inFlight < this.maxConcurrency && now >= this.pausedUntil && this.tokensAt(now) >= 1 - EPSILON
    );
  }

  /** Milliseconds until the call at queue `position` (0 = next) could go, ignoring the concurrency cap. */
  private expectedWaitMs(position: number, now: number): number {
    const start = Math.max(now, this.pausedUntil);
    if (this.rate === null) return start - now;
    const deficit = position + 1 - this.tokensAt(start);
    return start - now + (deficit > EPSILON ? (deficit * 1000) / this.rate : 0);
  }

  private grant(): ReleaseBudget {
    if (this.rate !== null) this.tokens -= 1;
    this.inFlight += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight -= 1;
      this.pump();
    };
  }

  private pump(): void {
    const now = this.clock.now();
    this.refill(now);
    let changed = false;
    while (this.queue.length > 0 && this.canGrant(now)) {
      const waiter = this.queue.shift() as Waiter;
      waiter.cancelDeadline();
      waiter.resolve(this.grant());
      changed = true;
    }
    if (changed) this.onQueueChange?.(this.queue.length);
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    // Blocked by the concurrency cap: a release pumps again. Blocked by the bucket: wake at the next token.
    if (this.queue.length > 0 && this.inFlight < this.maxConcurrency) {
      const delayMs = Math.max(1, Math.ceil(this.expectedWaitMs(0, now)));
      this.cancelTimer = this.clock.setTimer(() => {
        this.cancelTimer = undefined;
        this.pump();
      }, delayMs);
    }
  }
}
