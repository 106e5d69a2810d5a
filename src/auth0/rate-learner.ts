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
  private learnedRate: number | null = null;
  /** The learned rate this process last wrote to the shared store. */
  private publishedRate: number | null = null;
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
  observe(answer: RateLimitAnswer, sharedRate: number | null): number | null {
    const { limit, remaining, reset, sentAt, answeredAt } = answer;
    // Auth0 wrote the headers between the send and now: the window they describe was at most
    // the one measured from the send and at least the one measured from now.
    const longestWindow = reset - sentAt / 1000;
    const shortestWindow = reset - answeredAt / 1000;
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
      this.lowerRate = Math.max(this.lowerRate, this.countAnswer({ sentAt, answeredAt, remaining }));
      if (shortestWindow > 1) this.upperRate = Math.min(this.upperRate, deficit / (shortestWindow - 1));
      // Bounds that cross (another client spent the same budget) say nothing of the rate: keep the safe one.
      if (this.upperRate < this.lowerRate) this.upperRate = Infinity;
      const estimate = learnedEstimate(this.lowerRate, this.upperRate);
      if (estimate > 0) this.learnedRate = estimate;
    }
    if (this.learnedRate === null || !this.mayPublish(this.learnedRate, sharedRate)) return null;
    this.publishedRate = this.learnedRate;
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
   * times a second. Every replica's figure lies between sound bounds of the tenant's rate, a
   * tenth of the way up from the lower one (an overshoot while the upper bound is loose earns
   * deficits that tighten it, and that replica then lowers its figure), so the highest one is
   * kept: a replica writes a figure above the store's, or revises its own when it changed (the
   * store held what it last wrote at its last answer), never lowers another replica's. An
   * unchanged figure is not written again: this process's view of the store may predate another
   * replica's higher figure.
   */
  private mayPublish(rate: number, shared: number | null): boolean {
    if (shared === null || rate > shared) return true;
    const published = this.publishedRate;
    // Redis hands rates back through Lua's tostring (14 significant digits).
    return published !== null && rate !== published && Math.abs(shared - published) <= shared * 1e-9;
  }
}
