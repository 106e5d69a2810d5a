/** How current this process's view of the shared figure is. */
export interface SharedFigure {
  /**
   * A write of this process's figure is still on its way to the store: a figure below it may be
   * the store's state before that write, not another replica's revision.
   */
  mayPredateOwnWrite?: boolean;
}

/** What one Auth0 answer's `x-ratelimit-*` headers said, and when this process sent and read it. */
export interface RateLimitAnswer {
  /** `x-ratelimit-limit`: the bucket's size (the burst). */
  limit: number;
  /** `x-ratelimit-remaining`: whole tokens left after this call (rounded down). */
  remaining: number;
  /** `x-ratelimit-reset`: epoch seconds, rounded up, when the bucket is full again (Auth0's clock). */
  reset: number;
  /** When the call was sent, in this process's clock (ms). */
  sentAt: number;
  /** When its answer was read, in this process's clock (ms). */
  answeredAt: number;
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

// Auth0's `reset` is on Auth0's clock, the send and answer times on this process's: the windows
// measured between them are widened (lower bound) or narrowed (upper bound) by this much, so a
// clock up to this far off Auth0's cannot make a bound unsound. Without it a clock 40 ms ahead and
// a 20 ms round trip turned a one-token deficit on a 16/s tenant into a "lower bound" of 23/s.
// It is kept small because one-token deficits are what teach the rate while calls go slower than
// it (a margin of 250 ms capped them at 4/s, and a cold start on a 20/s tenant then took up to
// twice the ideal time); a clock further off than this is caught by the 429s it earns
// (RATE_LIMITED_RUN).
const CLOCK_SKEW_MARGIN_SECONDS = 0.05;

// A run of this many 429s in a row (no call let through between them, each sent after the last
// lowering) says the figure paced at is too high whatever the bounds claim: the clock-based lower
// bound is then held under RUN_LOWERING × that figure. One run lowers once, so the 429s of calls
// already in flight at the old pace do not lower it again.
const RATE_LIMITED_RUN = 3;
const RUN_LOWERING = 0.8;

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

/**
 * Learns the tenant's refill rate from Auth0's `x-ratelimit-*` headers (DESIGN §8): bounds on the
 * rate from each answer and from Auth0's count across answers, a rate to pace at between them,
 * and whether that rate should replace the figure replicas share. No timers, no I/O: answers in,
 * figures out.
 */
export class RateLearner {
  /** Bounds on the tenant's refill rate (tokens per second). */
  private lowerRate = 0;
  private upperRate = Infinity;
  /**
   * Most the per-answer lower bound (it compares Auth0's clock with ours) may claim: lowered by a
   * run of 429s, or by another replica's downward revision. The counted bound is not held by it.
   */
  private clockBoundCap = Infinity;
  private learnedRate: number | null = null;
  /** The learned rate this process last wrote to the shared store. */
  private publishedRate: number | null = null;
  /** Lowered by a run of 429s (or another replica's revision) since this process last wrote. */
  private lowered = false;
  /** 429s in a row, of calls sent at or after `loweredAt`. */
  private rateLimitedInARow = 0;
  private loweredAt = -Infinity;
  /** The last answers that carried Auth0's count, oldest first. */
  private readonly counted: CountedAnswer[] = [];
  private countedBoundAt = -Infinity;

  /** The rate to pace at; `null` until an answer showed a deficit. */
  get rate(): number | null {
    return this.learnedRate;
  }

  get bounds(): { lower: number; upper: number } {
    return { lower: this.lowerRate, upper: this.upperRate };
  }

  /**
   * Learns from one answer. Returns the rate to write to the shared store (whose figure is
   * `sharedRate`), or `null` to leave the store's figure as it is.
   */
  observe(answer: RateLimitAnswer, sharedRate: number | null, shared: SharedFigure = {}): number | null {
    const { limit, remaining, reset, sentAt, answeredAt } = answer;
    if (remaining >= 1) this.rateLimitedInARow = 0;
    if (!shared.mayPredateOwnWrite) this.adoptRevision(sharedRate);
    // Auth0 wrote the headers between the send and now: the window they describe was at most
    // the one measured from the send and at least the one measured from now, each give or take
    // the clocks' difference.
    const longestWindow = reset - sentAt / 1000 + CLOCK_SKEW_MARGIN_SECONDS;
    const shortestWindow = reset - answeredAt / 1000 - CLOCK_SKEW_MARGIN_SECONDS;
    const deficit = limit - remaining;
    if (deficit > 0 && longestWindow > 0) {
      // `reset` is the refill time rounded up to a whole second, so the deficit refills in
      // more than `window − 1` and at most `window` seconds: each response bounds the rate from
      // below and (for windows over a second) from above. `remaining` is rounded down, so the
      // true deficit lies in (deficit − 1, deficit]. A call Auth0 let through (remaining ≥ 1: a
      // refused one leaves less than a token) took a token from a bucket holding at most `limit`,
      // so at least one is missing: at remaining = limit − 1 the deficit is exactly one. Calls
      // paced below the tenant's rate find its bucket full and only ever see that deficit of
      // one; counted as zero, they taught nothing. Counted as one, each bounds the rate from below
      // by 1 / window (at most 1 / CLOCK_SKEW_MARGIN_SECONDS); the counted bound, which needs no
      // clock of Auth0's, teaches the rest. The tightest bounds seen so far are kept, and calls
      // are paced between them; a 429 (remaining 0) tightens both.
      const leastDeficit = remaining >= 1 ? Math.max(1, deficit - 1) : deficit - 1;
      const clockBound = Math.min(leastDeficit / longestWindow, this.clockBoundCap);
      this.lowerRate = Math.max(this.lowerRate, clockBound);
      this.lowerRate = Math.max(this.lowerRate, this.countAnswer({ sentAt, answeredAt, remaining }));
      if (shortestWindow > 1) this.upperRate = Math.min(this.upperRate, deficit / (shortestWindow - 1));
      // Bounds that cross say nothing of the rate: keep the one that makes calls wait for the
      // counted evidence (a run of 429s still lowers the lower one).
      if (this.upperRate < this.lowerRate) this.upperRate = Infinity;
      this.estimate();
    }
    return this.publication(sharedRate);
  }

  /**
   * Auth0 answered 429, at `now`, to a call sent at `sentAt` while calls were paced at `pacedRate`
   * (the shared figure). Three in a row, sent after the last lowering, hold the clock-based lower
   * bound under 0.8 × `pacedRate`. Returns the rate to write to the store (a downward revision),
   * or `null`.
   */
  rateLimited(sentAt: number, now: number, pacedRate: number | null): number | null {
    if (sentAt < this.loweredAt) return null;
    this.rateLimitedInARow += 1;
    const paced = pacedRate ?? this.learnedRate;
    if (this.rateLimitedInARow < RATE_LIMITED_RUN || paced === null) return null;
    this.rateLimitedInARow = 0;
    this.loweredAt = now;
    // The tenant refused calls paced at `paced` again and again: its rate is below that.
    this.upperRate = Math.min(this.upperRate, paced);
    this.lower(paced * RUN_LOWERING);
    return this.publication(pacedRate);
  }

  /** Holds the clock-based lower bound (and the lower bound now) under `rate`. */
  private lower(rate: number): void {
    this.clockBoundCap = Math.min(this.clockBoundCap, rate);
    this.lowerRate = Math.min(this.lowerRate, rate);
    // A replica that learned no lower bound itself yet still paces just below the figure that failed.
    this.learnedRate =
      this.lowerRate > 0 ? Math.min(learnedEstimate(this.lowerRate, this.upperRate), rate) : rate;
    this.lowered = true;
  }

  /**
   * Another replica revised the shared figure below what this process last wrote (after its own
   * run of 429s): this process takes it as its own, rather than write its old figure back.
   */
  private adoptRevision(shared: number | null): void {
    const published = this.publishedRate;
    if (shared === null || published === null || shared >= published * (1 - 1e-9)) return;
    this.lower(shared);
    // Nothing to write back: the store holds the revision, and it is not this process's to revise.
    this.lowered = false;
    this.publishedRate = null;
  }

  private estimate(): void {
    const estimate = learnedEstimate(this.lowerRate, this.upperRate);
    if (estimate > 0) this.learnedRate = estimate;
  }

  /** The figure to write to the store, if any; remembers it as written. */
  private publication(shared: number | null): number | null {
    if (this.learnedRate === null || !this.mayPublish(this.learnedRate, shared)) return null;
    this.publishedRate = this.learnedRate;
    this.lowered = false;
    return this.learnedRate;
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
   * times a second. Every replica's figure lies between sound bounds of the tenant's rate, at most
   * 3 % above the lower one, so the highest one is kept: a replica raises the store's figure when
   * its lower bound is above it, or revises its own when it changed (the store held what it last
   * wrote at its last answer). It lowers another replica's figure only after a run of 429s at it
   * (`lowered`), and a replica that sees its figure so revised adopts the revision (adoptRevision):
   * its lower bound then has to climb above the revision before it raises the figure again, so
   * it cannot write its old figure back, nor creep 3 % above the revision at each answer. An
   * unchanged figure is not written again: this process's view of the store may predate another
   * replica's higher figure.
   */
  private mayPublish(rate: number, shared: number | null): boolean {
    if (shared === null || this.lowered || (rate > shared && this.lowerRate > shared)) return true;
    const published = this.publishedRate;
    // Redis hands rates back through Lua's tostring (14 significant digits).
    return published !== null && rate !== published && Math.abs(shared - published) <= shared * 1e-9;
  }
}
