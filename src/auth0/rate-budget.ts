import type { RateLimitSetting } from '../config.js';
import { RateLimitedError } from '../errors.js';
import { MemoryBucket } from '../shared-state/memory.js';
import type {
  BucketChange,
  BucketSnapshot,
  MaybePromise,
  RateBucketStore,
} from '../shared-state/shared-state.js';
import { systemClock, type BudgetClock } from './budget-clock.js';
import { BudgetQueue, type ReleaseBudget } from './budget-queue.js';
import { CautiousStart } from './cautious-start.js';
import { HeaderlessAnswers } from './headerless-answers.js';
import { RateLearner } from './rate-learner.js';
import { headerValue, type HeaderBag } from './to-gateway-error.js';

export { systemClock, type BudgetClock } from './budget-clock.js';
export type { ReleaseBudget } from './budget-queue.js';

export interface UpstreamBudgetOptions {
  /** Configured bucket (AUTH0_RATE_LIMIT); `null`/absent: learned from `x-ratelimit-*` headers. */
  rateLimit?: RateLimitSetting | null;
  /** Most calls in flight to Auth0 at once (from this process); default 20. */
  maxConcurrency?: number;
  /** Most calls waiting; beyond that a call is refused at once. Default 1000. */
  maxQueueLength?: number;
  clock?: BudgetClock;
  /** Where the bucket's tokens are counted: shared by replicas or not. Default: memory on `clock`. */
  store?: RateBucketStore;
  /** Told the queue length whenever it changes (for a gauge). */
  onQueueChange?: (queueLength: number) => void;
  /** Where the one warning goes when Auth0's answers carry no rate-limit headers. */
  warn?: (message: string) => void;
}

export interface BudgetStats {
  queueLength: number;
  inFlight: number;
  /** Tokens in the bucket as last seen; `null` while no rate is known (no limit applied). */
  tokens: number | null;
  ratePerSecond: number | null;
  burst: number | null;
}

// Float drift must not leave a bucket at 0.9999999 tokens forever.
const EPSILON = 1e-9;

// A shared store that failed outright (it normally falls back by itself) is asked again after this.
const STORE_RETRY_MS = 100;

/** Runs `then` on a store's answer: at once for a memory store, after the round trip for Redis. */
function whenStored<T>(value: MaybePromise<T>, then: (result: T) => void, failed: () => void): void {
  if (value instanceof Promise) value.then(then, failed);
  else then(value);
}

// Longest delay between taking a token and the call's arrival at Auth0 that the bucket absorbs
// (a busy event loop, a new connection, a Redis round trip).
const ARRIVAL_SKEW_MS = 150;

/**
 * Tokens the bucket may hold: the burst less a reserve. Auth0 counts a call when it arrives, we
 * when we take its token; calls delayed on the way arrive bunched with later ones, and Auth0's
 * bucket then needs what its refill brought during the delay. The reserve (the refill of
 * ARRIVAL_SKEW_MS, at least one token, at most half the burst) absorbs that instead of earning
 * 429s. It costs part of the first burst only, never the sustained rate.
 */
function capacityOf(burst: number, ratePerSecond: number): number {
  const reserve = Math.min(
    Math.floor(burst / 2),
    Math.max(1, Math.ceil((ratePerSecond * ARRIVAL_SKEW_MS) / 1000)),
  );
  return burst - reserve;
}

/**
 * The tenant's Management API rate limit as this process spends it (DESIGN §8): a token bucket,
 * configured or learned from Auth0's headers, that calls wait on in FIFO order, plus a cap on
 * calls in flight. A call whose expected wait exceeds its `maxWaitMs` is refused at once with
 * RATE_LIMITED (reason TENANT_LIMIT) rather than queued.
 *
 * Every pacing rule lives here and in its parts: the FIFO queue and concurrency cap (BudgetQueue),
 * learning the rate from Auth0's headers (RateLearner), the cautious start (CautiousStart) and the
 * answers without headers (HeaderlessAnswers). The bucket's store only counts tokens atomically —
 * in memory, or in Redis so that replicas spend one bucket (DESIGN §10). This process asks the store for as
 * many tokens as it has waiting calls, one request at a time, and when it gets fewer, asks again
 * when the store's answer says the next token is due.
 *
 * Auth0's `x-ratelimit-reset` is whole epoch seconds (rounded up) for when the bucket is full
 * again. Waiting for it (as node-auth0 does after a 429) lets through only the burst each
 * second; pacing at the refill rate, which follows from limit, remaining and reset, keeps the
 * sustained rate instead.
 */
export class UpstreamBudget {
  private readonly clock: BudgetClock;
  private readonly store: RateBucketStore;
  private readonly configured: boolean;
  private readonly queue: BudgetQueue;
  private readonly learner = new RateLearner();
  /** Learned mode's pace before any rate-limit header, on this process's clock. */
  private readonly cautiousStart: CautiousStart;
  private readonly headerless: HeaderlessAnswers;
  private burst: number | null;
  /** The store's last answer, and this process's time when it came. */
  private storeState: BucketSnapshot;
  private storeStateAt: number;
  /** Tokens taken from the store for calls that gave up while the take was in flight. */
  private prepaid = 0;
  private taking = false;
  /** Writes of a rate to the store not answered yet (the store's last answer may predate them). */
  private limitWritesInFlight = 0;
  /** Some answer carried x-ratelimit-* headers: the cautious start is over. */
  private headersSeen = false;
  private cancelTimer?: () => void;

  constructor(options: UpstreamBudgetOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.store = options.store ?? new MemoryBucket(() => this.clock.now());
    this.queue = new BudgetQueue({
      clock: this.clock,
      maxConcurrency: options.maxConcurrency ?? 20,
      maxQueueLength: options.maxQueueLength ?? 1000,
      onQueueChange: options.onQueueChange,
      // A take in flight may still grant it; the answer settles expired waiters.
      onDeadline: () => {
        if (!this.taking) this.refuseExpired();
      },
      onRelease: () => this.pump(),
    });
    this.headerless = new HeaderlessAnswers(options.warn ?? (() => undefined));
    this.configured = Boolean(options.rateLimit);
    this.cautiousStart = new CautiousStart(this.clock);
    this.burst = options.rateLimit?.burst ?? null;
    this.storeState = { tokens: 0, ratePerSecond: null, capacity: null, pausedForMs: 0 };
    this.storeStateAt = this.clock.now();
    if (options.rateLimit) {
      const { perSecond, burst } = options.rateLimit;
      this.adjust({ limit: { ratePerSecond: perSecond, capacity: capacityOf(burst, perSecond) } });
    }
  }

  /**
   * Waits (FIFO) until the bucket and the concurrency cap allow one call, then resolves with its
   * release. Rejects with RateLimitedError at once when the expected wait exceeds `maxWaitMs` or the
   * queue is full, and when the wait turns out longer than `maxWaitMs` after all. A `retry` (a call
   * Auth0 answered 429) queues behind earlier retries only, ahead of calls not yet sent: it was in
   * line before them, and at the back it could meet 429 after 429 while newer calls pass.
   */
  acquire(maxWaitMs: number, options: { retry?: boolean } = {}): Promise<ReleaseBudget> {
    const retry = options.retry === true;
    const position = this.queue.positionFor(retry);
    const expectedMs = this.expectedWaitMs(position, this.clock.now());
    if (expectedMs > maxWaitMs || this.queue.isFull) {
      return Promise.reject(this.refusal(expectedMs));
    }
    const granted = this.queue.enqueue(position, maxWaitMs, retry);
    this.pump();
    this.queue.report();
    return granted;
  }

  /**
   * Learns from (and corrects the bucket's count with) Auth0's `x-ratelimit-*` response headers;
   * `sentAt` is when the call that brought them was sent (default: now).
   */
  observe(headers: HeaderBag, sentAt?: number): void {
    const limit = Number(headerValue(headers, 'x-ratelimit-limit'));
    const remaining = Number(headerValue(headers, 'x-ratelimit-remaining'));
    const reset = Number(headerValue(headers, 'x-ratelimit-reset'));
    if (!(limit > 0) || !Number.isFinite(remaining) || remaining < 0) {
      if (!this.configured && this.headerless.missing()) this.pump();
      return;
    }
    this.headerless.present();
    this.headersSeen = true;
    // Other replicas (and other apps) spend the same tenant budget: Auth0's count wins when lower.
    const change: BucketChange = { remaining };
    if (!this.configured) {
      this.burst = limit;
      const now = this.clock.now();
      const answer = { limit, remaining, reset, sentAt: sentAt ?? now, answeredAt: now };
      const rate = this.learner.observe(answer, this.storeState.ratePerSecond, {
        mayPredateOwnWrite: this.limitWritesInFlight > 0,
      });
      if (rate !== null) {
        change.limit = { ratePerSecond: rate, capacity: capacityOf(limit, rate), initialTokens: remaining };
      }
    }
    this.adjust(change);
  }

  /**
   * Auth0 answered 429 anyway: the bucket is empty now. Nothing is sent before `Retry-After`
   * (when Auth0 sent it), else before one token interval; then calls resume at the bucket's pace.
   * In learned mode a run of them lowers the learned rate, here and in the shared store
   * (RateLearner.rateLimited); `sentAt` is when the refused call was sent (default: now).
   */
  onRateLimited(retryAfterSeconds?: number, sentAt?: number): void {
    const rate = this.storeState.ratePerSecond;
    const intervalMs = rate ? 1000 / rate : 1000;
    const change: BucketChange = {
      pauseMs: retryAfterSeconds !== undefined ? retryAfterSeconds * 1000 : intervalMs,
    };
    if (!this.configured && this.burst !== null) {
      const now = this.clock.now();
      const lowered = this.learner.rateLimited(sentAt ?? now, now, rate);
      if (lowered !== null)
        change.limit = { ratePerSecond: lowered, capacity: capacityOf(this.burst, lowered) };
    }
    this.adjust(change);
  }

  stats(): BudgetStats {
    const { ratePerSecond } = this.storeState;
    return {
      queueLength: this.queue.length,
      inFlight: this.queue.inFlight,
      tokens: ratePerSecond === null ? null : this.tokensAt(this.clock.now()),
      ratePerSecond,
      burst: this.burst,
    };
  }

  private adjust(change: BucketChange): void {
    const writesLimit = change.limit !== undefined;
    if (writesLimit) this.limitWritesInFlight += 1;
    const answered = () => {
      if (writesLimit) this.limitWritesInFlight -= 1;
    };
    whenStored(
      this.store.adjust(change),
      (state) => {
        answered();
        this.see(state);
        this.pump();
      },
      () => {
        answered();
        this.pump();
      },
    );
  }

  private see(state: BucketSnapshot): void {
    this.storeState = state;
    this.storeStateAt = this.clock.now();
  }

  private refusal(expectedMs: number): RateLimitedError {
    const retryAfter = Math.max(1, Math.ceil(expectedMs / 1000));
    return new RateLimitedError(
      `The gateway's Auth0 rate-limit budget is exhausted; retry after ${retryAfter} s.`,
      { retryAfter, reason: 'TENANT_LIMIT' },
    );
  }

  /** Tokens the bucket holds at `time` as far as the last answer tells (other replicas may spend some first). */
  private tokensAt(time: number): number {
    const { tokens, ratePerSecond, capacity } = this.storeState;
    if (ratePerSecond === null) return Infinity;
    const elapsed = Math.max(0, time - this.storeStateAt);
    return Math.min(capacity ?? Infinity, tokens + (elapsed * ratePerSecond) / 1000);
  }

  /**
   * Milliseconds until the call at queue `position` (0 = next) could go, ignoring the concurrency
   * cap, at the bucket's pace. Before any answer sized the bucket (the cautious start), only a
   * pause counts: DESIGN §8 refuses TENANT_LIMIT for the configured or learned budget, never
   * because the first answers have not come back yet (they size the bucket within one round trip).
   */
  private expectedWaitMs(position: number, now: number): number {
    const start = Math.max(now, this.storeStateAt + this.storeState.pausedForMs);
    const rate = this.storeState.ratePerSecond;
    if (rate === null) {
      return start - now;
    }
    const deficit = position + 1 - this.prepaid - this.tokensAt(start);
    return start - now + (deficit > EPSILON ? (deficit * 1000) / rate : 0);
  }

  private refuseExpired(): void {
    if (this.queue.refuseExpired(() => this.refusal(this.expectedWaitMs(0, this.clock.now())))) {
      this.pump();
    }
  }

  /** Before any answer sized the bucket (in learned mode), calls go at the cautious start's pace. */
  private isCautious(): boolean {
    return (
      !this.configured &&
      !this.headersSeen &&
      !this.headerless.unpaced &&
      this.storeState.ratePerSecond === null
    );
  }

  /** Asks the store for tokens for the waiting calls (one request at a time, FIFO). */
  private pump(): void {
    if (this.taking) return;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    while (this.prepaid > 0 && this.queue.grantable > 0) {
      this.prepaid -= 1;
      this.queue.grantNext();
    }
    let wanted = this.queue.grantable;
    if (wanted <= 0) {
      this.queue.report();
      return;
    }
    if (this.isCautious()) {
      const { taken, nextInMs } = this.cautiousStart.take(wanted);
      if (taken === 0) {
        this.wakeIn(nextInMs);
        return;
      }
      wanted = taken;
    }
    this.taking = true;
    whenStored(
      this.store.take(wanted),
      ({ taken, state }) => {
        this.taking = false;
        this.see(state);
        let granted = 0;
        while (granted < taken && this.queue.grantable > 0) {
          this.queue.grantNext();
          granted += 1;
        }
        // Unlimited takes cost nothing; counted ones are kept for the next call.
        if (state.ratePerSecond !== null) this.prepaid += taken - granted;
        this.queue.report();
        this.refuseExpired();
        if (this.taking || this.queue.grantable <= 0) return;
        // Everything asked for came: there may be more. Else wake when the next token is due (a
        // release pumps again when the concurrency cap is what blocks).
        if (taken === wanted) this.pump();
        else this.wakeIn(this.expectedWaitMs(0, this.clock.now()));
      },
      () => {
        this.taking = false;
        this.refuseExpired();
        this.wakeIn(STORE_RETRY_MS);
      },
    );
  }

  private wakeIn(delayMs: number): void {
    this.cancelTimer?.();
    this.cancelTimer = this.clock.setTimer(
      () => {
        this.cancelTimer = undefined;
        this.pump();
      },
      Math.max(1, Math.ceil(delayMs)),
    );
  }
}
