import type { RateLimitSetting } from '../config.js';
import { RateLimitedError } from '../errors.js';
import { MemoryBucket } from '../shared-state/memory.js';
import type {
  BucketChange,
  BucketSnapshot,
  MaybePromise,
  RateBucketStore,
} from '../shared-state/shared-state.js';
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

/** Gives the slot back; calling it more than once does nothing. */
export type ReleaseBudget = () => void;

export interface BudgetStats {
  queueLength: number;
  inFlight: number;
  /** Tokens in the bucket as last seen; `null` while no rate is known (no limit applied). */
  tokens: number | null;
  ratePerSecond: number | null;
  burst: number | null;
}

interface Waiter {
  resolve(release: ReleaseBudget): void;
  reject(error: Error): void;
  cancelDeadline(): void;
  /** Its deadline passed while a take was in flight: refused unless that take grants it. */
  expired: boolean;
  /** Auth0 answered this call 429: it waits ahead of calls that have not been sent yet. */
  retry: boolean;
}

// Where between the learned bounds calls are paced (learnedEstimate). Each bound is off by up to
// one token per window the other way (Auth0 rounds `remaining` down and `reset` up), so the lower
// one sat about a tenth under a 20/s tenant's rate, and calls paced near it only ever saw small
// deficits that taught nothing more: 200 links took 1.06–1.33× the ideal time. Now the counted
// lower bound (countedLowerBound) climbs to within a few percent of the rate while calls go
// slower than it, and calls go halfway between the bounds, but never more than 3 % above the
// lower one, which is sound: every replica's figure stays within 1.03× the tenant's rate even
// while its upper bound is loose (the shared bucket keeps the highest figure: paced simply
// halfway, three replicas once met 106 × 429; allowed 1.1×, one replica met 29). An overshoot
// that small costs little: every answer's `remaining` caps the bucket's count (observe), so a
// call goes at most the overshoot × one round trip early. While the bounds are wide, calls go a
// tenth of the way up from the lower one.
const CAUTIOUS_SHARE = 0.1;
const MAX_OVER_LOWER_BOUND = 1.03;

// The counted lower bound (countedLowerBound): answers kept, how far apart the pairs it compares
// are, and how often it is worked out (it walks the kept answers).
const KEPT_ANSWERS = 256;
const PAIR_SPANS_MS = [1000, 2500, 5000, 10_000];
const COUNTED_BOUND_EVERY_MS = 100;

/** An answer that carried Auth0's count, as this process saw it. */
interface CountedAnswer {
  sentAt: number;
  answeredAt: number;
  remaining: number;
}

/**
 * A sound lower bound on the tenant's rate from two answers, A and a later B. Between Auth0's
 * handling of them its bucket went from less than `remaining_A + 1` tokens to at least
 * `remaining_B` while letting through at least the calls of ours surely handled in between (sent
 * after A came back, back before B was sent, B itself, each leaving a token or more: a 429 leaves
 * none), so it refilled at least `remaining_B − remaining_A − 1 + n` tokens in at most
 * `answered_B − sent_A`. A full bucket wasting refill, and other clients' calls that are not
 * counted, only lower the figure. This is what teaches the rate while calls go slower than it:
 * Auth0's count then climbs, which the per-answer bounds cannot see.
 */
function countedLowerBound(answers: readonly CountedAnswer[], b: CountedAnswer): number {
  let best = 0;
  for (const span of PAIR_SPANS_MS) {
    let a: CountedAnswer | undefined;
    for (const answer of answers) {
      if (answer.answeredAt > b.answeredAt - span) break;
      a = answer;
    }
    if (!a) continue;
    let handled = b.remaining >= 1 && b.sentAt >= a.answeredAt ? 1 : 0;
    for (const c of answers) {
      if (c !== b && c.remaining >= 1 && c.sentAt >= a.answeredAt && c.answeredAt <= b.sentAt) handled += 1;
    }
    const refilled = b.remaining - a.remaining - 1 + handled;
    const seconds = (b.answeredAt - a.sentAt) / 1000;
    if (refilled > 0 && seconds > 0) best = Math.max(best, refilled / seconds);
  }
  return best;
}

/** The rate to pace at, given sound bounds on the tenant's rate (`upper` may be Infinity). */
function learnedEstimate(lower: number, upper: number): number {
  if (!Number.isFinite(upper)) return lower * MAX_OVER_LOWER_BOUND;
  const cautious = lower + (upper - lower) * CAUTIOUS_SHARE;
  const centred = Math.min((lower + upper) / 2, lower * MAX_OVER_LOWER_BOUND);
  return Math.max(cautious, centred);
}

// Float drift must not leave a bucket at 0.9999999 tokens forever.
const EPSILON = 1e-9;

// Auth0's smallest published limit (free plan: 2/s, burst 2): the pace in learned mode before
// any x-ratelimit-* header has come, so calls go out without waiting for a first answer.
const CAUTIOUS_START = { perSecond: 2, burst: 2 };

// Auth0 sends x-ratelimit-* on every Management API answer: this many in a row without them
// means something strips them, and pacing at the cautious start would be slow for nothing.
const HEADERLESS_ANSWERS_BEFORE_UNPACED = 10;

// A shared store that failed outright (it normally falls back by itself) is asked again after this.
const STORE_RETRY_MS = 100;

/** Runs `then` on a store's answer: at once for a memory store, after the round trip for Redis. */
function settle<T>(value: MaybePromise<T>, then: (result: T) => void, failed: () => void): void {
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
 * Every pacing rule lives here; the bucket's store only counts tokens atomically — in memory, or
 * in Redis so that replicas spend one bucket (DESIGN §10). This process asks the store for as
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
  private readonly maxConcurrency: number;
  private readonly maxQueueLength: number;
  private readonly configured: boolean;
  private readonly onQueueChange?: (queueLength: number) => void;
  private burst: number | null;
  /** The store's last answer, and this process's time when it came. */
  private seen: BucketSnapshot;
  private seenAt: number;
  /** Tokens taken from the store for calls that gave up while the take was in flight. */
  private prepaid = 0;
  private taking = false;
  /** Bounds on the tenant's refill rate learned from headers (tokens per second). */
  private lowerRate = 0;
  private upperRate = Infinity;
  private learnedRate: number | null = null;
  /** The learned rate this process last wrote to the store. */
  private publishedRate: number | null = null;
  private inFlight = 0;
  /** Learned mode's pace before any rate-limit header (CAUTIOUS_START), on this process's clock. */
  private readonly cautious: MemoryBucket;
  /** Some answer carried x-ratelimit-* headers: the cautious start is over. */
  private headersSeen = false;
  /** Answers in a row without rate-limit headers. */
  private headerless = 0;
  /** Ten answers in a row had no rate-limit headers: no pacing until one has them. */
  private unpaced = false;
  private readonly warn: (message: string) => void;
  /** The last answers that carried Auth0's count, oldest first (learned mode). */
  private readonly counted: CountedAnswer[] = [];
  private countedBoundAt = -Infinity;
  private readonly queue: Waiter[] = [];
  private cancelTimer?: () => void;
  private reportedQueueLength = 0;

  constructor(options: UpstreamBudgetOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.store = options.store ?? new MemoryBucket(() => this.clock.now());
    this.maxConcurrency = options.maxConcurrency ?? 20;
    this.maxQueueLength = options.maxQueueLength ?? 1000;
    this.onQueueChange = options.onQueueChange;
    this.warn = options.warn ?? (() => undefined);
    this.configured = Boolean(options.rateLimit);
    this.cautious = new MemoryBucket(() => this.clock.now());
    this.cautious.adjust({
      limit: { ratePerSecond: CAUTIOUS_START.perSecond, capacity: CAUTIOUS_START.burst },
    });
    this.burst = options.rateLimit?.burst ?? null;
    this.seen = { tokens: 0, ratePerSecond: null, capacity: null, pausedForMs: 0 };
    this.seenAt = this.clock.now();
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
    const position = retry ? this.queue.filter((w) => w.retry).length : this.queue.length;
    const expectedMs = this.expectedWaitMs(position, this.clock.now());
    if (expectedMs > maxWaitMs || this.queue.length >= this.maxQueueLength) {
      return Promise.reject(this.refusal(expectedMs));
    }
    return new Promise<ReleaseBudget>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, cancelDeadline: () => undefined, expired: false, retry };
      waiter.cancelDeadline = this.clock.setTimer(() => {
        waiter.expired = true;
        // A take in flight may still grant it; the answer settles expired waiters.
        if (!this.taking) this.refuseExpired();
      }, maxWaitMs);
      this.queue.splice(position, 0, waiter);
      this.pump();
      this.reportQueue();
    });
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
      this.headerless += 1;
      if (!this.configured && !this.unpaced && this.headerless >= HEADERLESS_ANSWERS_BEFORE_UNPACED) {
        this.unpaced = true;
        this.warn(
          `Auth0's last ${this.headerless} answers carried no x-ratelimit-* headers (a proxy may strip them): ` +
            'calls are no longer paced, only retried after a 429, until the headers come back. ' +
            "Set AUTH0_RATE_LIMIT to the tenant's limit to pace them.",
        );
        this.pump();
      }
      return;
    }
    this.headerless = 0;
    this.unpaced = false;
    this.headersSeen = true;
    // Other replicas (and other apps) spend the same tenant budget: Auth0's count wins when lower.
    const change: BucketChange = { remaining };
    if (!this.configured) {
      this.burst = limit;
      const now = this.clock.now();
      // Auth0 wrote the headers between the send and now: the window they describe was at most
      // the one measured from the send and at least the one measured from now.
      const longestWindow = reset - (sentAt ?? now) / 1000;
      const shortestWindow = reset - now / 1000;
      const deficit = limit - remaining;
      if (deficit > 0 && longestWindow > 0) {
        // `reset` is the refill time rounded up to a whole second, so the deficit refills in
        // more than `window − 1` and at most `window` seconds: each response bounds the rate from
        // below and (for windows over a second) from above. `remaining` is rounded down, so the
        // true deficit lies in (deficit − 1, deficit]. A call Auth0 let through (remaining ≥ 1: a
        // refused one leaves less than a token) took a token from a bucket holding at most `limit`,
        // so at least one is missing: at remaining = limit − 1 the deficit is exactly one. Calls
        // paced below the tenant's rate find its bucket full and only ever see that deficit of
        // one; counted as zero, they taught nothing, and the pace stayed at whatever the first
        // burst had taught (14 to 17/s on a 20/s tenant, varying from run to run). Counted as one,
        // each bounds the rate from below by 1 / window, and a window that ends just after the
        // refill brings that bound close to the true rate. The tightest bounds seen so far are
        // kept, and calls are paced between them; a 429 (remaining 0) tightens both.
        const leastDeficit = remaining >= 1 ? Math.max(1, deficit - 1) : deficit - 1;
        this.lowerRate = Math.max(this.lowerRate, leastDeficit / longestWindow);
        this.lowerRate = Math.max(
          this.lowerRate,
          this.countAnswer({ sentAt: sentAt ?? now, answeredAt: now, remaining }),
        );
        if (shortestWindow > 1) this.upperRate = Math.min(this.upperRate, deficit / (shortestWindow - 1));
        // Bounds that cross (another client spent the same budget) say nothing of the rate: keep the safe one.
        if (this.upperRate < this.lowerRate) this.upperRate = Infinity;
        const estimate = learnedEstimate(this.lowerRate, this.upperRate);
        if (estimate > 0) this.learnedRate = estimate;
      }
      if (this.learnedRate !== null && this.mayPublish(this.learnedRate)) {
        this.publishedRate = this.learnedRate;
        change.limit = {
          ratePerSecond: this.learnedRate,
          capacity: capacityOf(limit, this.learnedRate),
          initialTokens: remaining,
        };
      }
    }
    this.adjust(change);
  }

  /** Keeps `answer` and, at most every COUNTED_BOUND_EVERY_MS, works out the counted lower bound. */
  private countAnswer(answer: CountedAnswer): number {
    this.counted.push(answer);
    if (this.counted.length > KEPT_ANSWERS) this.counted.shift();
    if (answer.answeredAt - this.countedBoundAt < COUNTED_BOUND_EVERY_MS) return 0;
    this.countedBoundAt = answer.answeredAt;
    return countedLowerBound(this.counted, answer);
  }

  /**
   * Whether this process's learned `rate` may replace the store's. Replicas sharing a bucket each
   * learn from their own responses, and one that saw only small deficits keeps a far lower bound
   * than another (one replica at 8/s against 16/s for the others, on a tenant allowing 20/s): were
   * every response to write its own figure, the shared rate would flip to the lowest of them many
   * times a second. Every replica's figure lies between sound bounds of the tenant's rate, a
   * tenth of the way up from the lower one (an overshoot while the upper bound is loose earns
   * deficits that tighten it, and that replica then lowers its figure), so the highest one is
   * kept: a replica writes a figure above the store's, or revises its own when it changed (the
   * store held what it last wrote at its last answer), never lowers another replica's. An
   * unchanged figure is not written again: this process's view of the store may predate another
   * replica's higher figure.
   */
  private mayPublish(rate: number): boolean {
    const shared = this.seen.ratePerSecond;
    if (shared === null || rate > shared) return true;
    const published = this.publishedRate;
    // Redis hands rates back through Lua's tostring (14 significant digits).
    return published !== null && rate !== published && Math.abs(shared - published) <= shared * 1e-9;
  }

  /**
   * Auth0 answered 429 anyway: the bucket is empty now. Nothing is sent before `Retry-After`
   * (when Auth0 sent it), else before one token interval; then calls resume at the bucket's pace.
   */
  onRateLimited(retryAfterSeconds?: number): void {
    const rate = this.seen.ratePerSecond;
    const intervalMs = rate ? 1000 / rate : 1000;
    this.adjust({ pauseMs: retryAfterSeconds !== undefined ? retryAfterSeconds * 1000 : intervalMs });
  }

  stats(): BudgetStats {
    const { ratePerSecond } = this.seen;
    return {
      queueLength: this.queue.length,
      inFlight: this.inFlight,
      tokens: ratePerSecond === null ? null : this.tokensAt(this.clock.now()),
      ratePerSecond,
      burst: this.burst,
    };
  }

  private adjust(change: BucketChange): void {
    settle(
      this.store.adjust(change),
      (state) => {
        this.see(state);
        this.pump();
      },
      () => this.pump(),
    );
  }

  private see(state: BucketSnapshot): void {
    this.seen = state;
    this.seenAt = this.clock.now();
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
    const { tokens, ratePerSecond, capacity } = this.seen;
    if (ratePerSecond === null) return Infinity;
    const elapsed = Math.max(0, time - this.seenAt);
    return Math.min(capacity ?? Infinity, tokens + (elapsed * ratePerSecond) / 1000);
  }

  /** Milliseconds until the call at queue `position` (0 = next) could go, ignoring the concurrency cap. */
  private expectedWaitMs(position: number, now: number): number {
    const start = Math.max(now, this.seenAt + this.seen.pausedForMs);
    const rate = this.seen.ratePerSecond;
    if (rate === null) return start - now;
    const deficit = position + 1 - this.prepaid - this.tokensAt(start);
    return start - now + (deficit > EPSILON ? (deficit * 1000) / rate : 0);
  }

  private grantNext(): void {
    const waiter = this.queue.shift() as Waiter;
    waiter.cancelDeadline();
    this.inFlight += 1;
    let released = false;
    waiter.resolve(() => {
      if (released) return;
      released = true;
      this.inFlight -= 1;
      this.pump();
    });
  }

  private refuseExpired(): void {
    const expired = this.queue.filter((w) => w.expired);
    if (expired.length === 0) return;
    for (const waiter of expired) this.queue.splice(this.queue.indexOf(waiter), 1);
    this.reportQueue();
    const refusal = this.refusal(this.expectedWaitMs(0, this.clock.now()));
    for (const waiter of expired) waiter.reject(refusal);
    this.pump();
  }

  /**
   * In learned mode nothing is known of the tenant's bucket until an answer carries x-ratelimit-*
   * headers: a first wave of callers would all go at once and every call beyond the burst would
   * come back 429 (three replicas starting together met 20–48 of them, and a link that meets
   * three fails). Waiting for a first answer instead lets one slow call hold every other (and
   * refuse them once AUTH0_MAX_WAIT_MS is spent). So calls go at Auth0's smallest published
   * pace until headers (or another replica's figures in the shared store) size the bucket.
   */
  private isCautious(): boolean {
    return !this.configured && !this.headersSeen && !this.unpaced && this.seen.ratePerSecond === null;
  }

  /** Asks the store for tokens for the waiting calls (one request at a time, FIFO). */
  private pump(): void {
    if (this.taking) return;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    while (this.prepaid > 0 && this.queue.length > 0 && this.inFlight < this.maxConcurrency) {
      this.prepaid -= 1;
      this.grantNext();
    }
    let wanted = Math.min(this.queue.length, this.maxConcurrency - this.inFlight);
    if (wanted <= 0) {
      this.reportQueue();
      return;
    }
    if (this.isCautious()) {
      const { taken, state } = this.cautious.take(wanted);
      if (taken === 0) {
        this.wakeIn(((1 - state.tokens) * 1000) / CAUTIOUS_START.perSecond);
        return;
      }
      wanted = taken;
    }
    this.taking = true;
    settle(
      this.store.take(wanted),
      ({ taken, state }) => {
        this.taking = false;
        this.see(state);
        let granted = 0;
        while (granted < taken && this.queue.length > 0 && this.inFlight < this.maxConcurrency) {
          this.grantNext();
          granted += 1;
        }
        // Unlimited takes cost nothing; counted ones are kept for the next call.
        if (state.ratePerSecond !== null) this.prepaid += taken - granted;
        this.reportQueue();
        this.refuseExpired();
        if (this.taking || this.queue.length === 0 || this.inFlight >= this.maxConcurrency) return;
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

  private reportQueue(): void {
    if (this.queue.length === this.reportedQueueLength) return;
    this.reportedQueueLength = this.queue.length;
    this.onQueueChange?.(this.queue.length);
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
