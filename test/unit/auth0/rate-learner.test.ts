import { RateLearner, type RateLimitAnswer } from '../../../src/auth0/rate-learner.js';

/**
 * Auth0's bucket as Auth0 keeps it, on Auth0's own clock: `perSecond` refill, `limit` burst,
 * `reset` the epoch second (rounded up) when it is full again. Answers one call handled at
 * `auth0Ms` (Auth0's clock).
 */
class Auth0Bucket {
  private tokens: number;
  private at = 0;

  constructor(
    private readonly perSecond: number,
    private readonly limit: number,
  ) {
    this.tokens = limit;
  }

  handle(auth0Ms: number): { remaining: number; reset: number; letThrough: boolean } {
    this.tokens = Math.min(this.limit, this.tokens + ((auth0Ms - this.at) * this.perSecond) / 1000);
    this.at = auth0Ms;
    const letThrough = this.tokens >= 1;
    if (letThrough) this.tokens -= 1;
    const secondsToFull = (this.limit - this.tokens) / this.perSecond;
    return {
      remaining: Math.floor(this.tokens),
      reset: Math.ceil(auth0Ms / 1000 + secondsToFull),
      letThrough,
    };
  }
}

const LIMIT = 50;
const PER_SECOND = 16;

/**
 * One call through a process whose clock is `aheadMs` ahead of Auth0's, with `roundTripMs` split
 * evenly each way: what the learner is told about it.
 */
function answerFor(bucket: Auth0Bucket, sentAt: number, aheadMs: number, roundTripMs: number) {
  const handled = bucket.handle(sentAt - aheadMs + roundTripMs / 2);
  const answer: RateLimitAnswer = {
    limit: LIMIT,
    remaining: handled.remaining,
    reset: handled.reset,
    sentAt,
    answeredAt: sentAt + roundTripMs,
  };
  return { answer, letThrough: handled.letThrough };
}

describe('RateLearner', () => {
  it('never learns more than a 16/s tenant allows from a clock 40 ms ahead of Auth0’s (20 ms round trip)', () => {
    const learner = new RateLearner();
    const bucket = new Auth0Bucket(PER_SECOND, LIMIT);
    // Calls slower than the tenant's rate find its bucket full: one-token deficits, whose refill
    // (62.5 ms) ends at every phase of the second as the sends drift by 7 ms a call.
    let sentAt = 1_700_000_000_000;
    let highestLower = 0;
    let highestRate = 0;
    for (let i = 0; i < 400; i++) {
      const { answer } = answerFor(bucket, sentAt, 40, 20);
      learner.observe(answer, null);
      highestLower = Math.max(highestLower, learner.bounds.lower);
      highestRate = Math.max(highestRate, learner.rate ?? 0);
      sentAt += 107;
    }
    // Measured from this process's clock, the shortest window was 0.0625 + 0.01 − 0.04 s: a "lower
    // bound" of about 30/s without the clock margin.
    expect(highestLower).toBeLessThanOrEqual(PER_SECOND);
    expect(highestRate).toBeLessThanOrEqual(PER_SECOND * 1.03);
    // It still learns something from those answers.
    expect(learner.rate).toBeGreaterThan(5);
  });

  it('lowers the figure it paces at after three 429s in a row, and counts the 429s of calls sent before that only once', () => {
    const learner = new RateLearner();
    const t = 1_700_000_000_000;
    // A figure of about 23/s learned somehow (a clock further off than the margin).
    learner.observe({ limit: 50, remaining: 0, reset: t / 1000 + 2, sentAt: t, answeredAt: t }, null);
    const learned = learner.rate as number;
    expect(learned).toBeGreaterThan(20);
    // Two 429s change nothing; the third writes a figure under 0.8 × the one paced at.
    expect(learner.rateLimited(t + 100, t + 110, learned)).toBeNull();
    expect(learner.rateLimited(t + 101, t + 111, learned)).toBeNull();
    const lowered = learner.rateLimited(t + 102, t + 112, learned) as number;
    expect(lowered).toBeLessThanOrEqual(learned * 0.8);
    expect(learner.rate).toBe(lowered);
    // Calls sent before the lowering, at the old pace, meet 429s too: no second lowering.
    for (let i = 0; i < 3; i++) expect(learner.rateLimited(t + 105, t + 120 + i, lowered)).toBeNull();
    // The same clock-based evidence comes again: the lower bound stays under the lowering, and
    // calls go at most 3 % above it.
    learner.observe(
      { limit: 50, remaining: 0, reset: (t + 200) / 1000 + 2, sentAt: t + 200, answeredAt: t + 200 },
      lowered,
    );
    expect(learner.bounds.lower).toBeLessThanOrEqual(learned * 0.8);
    expect(learner.rate).toBeLessThanOrEqual(learned * 0.8 * 1.03);
  });

  it('a call let through between 429s breaks the run', () => {
    const learner = new RateLearner();
    const t = 1_700_000_000_000;
    learner.observe({ limit: 50, remaining: 0, reset: t / 1000 + 2, sentAt: t, answeredAt: t }, null);
    const learned = learner.rate as number;
    learner.rateLimited(t + 100, t + 110, learned);
    learner.rateLimited(t + 101, t + 111, learned);
    learner.observe(
      { limit: 50, remaining: 3, reset: t / 1000 + 3, sentAt: t + 102, answeredAt: t + 112 },
      learned,
    );
    expect(learner.rateLimited(t + 103, t + 113, learned)).toBeNull();
  });

  it('a learner with nothing learned itself still revises the shared figure down after a run of 429s', () => {
    const learner = new RateLearner();
    const t = 1_700_000_000_000;
    learner.rateLimited(t, t + 10, 20);
    learner.rateLimited(t + 1, t + 11, 20);
    expect(learner.rateLimited(t + 2, t + 12, 20)).toBe(16);
  });

  it('adopts another replica’s downward revision instead of writing its own figure back', () => {
    const learner = new RateLearner();
    const t = 1_700_000_000_000;
    const answer = (at: number): RateLimitAnswer => ({
      limit: 50,
      remaining: 0,
      reset: at / 1000 + 2,
      sentAt: at,
      answeredAt: at,
    });
    const written = learner.observe(answer(t), null) as number;
    expect(written).toBeGreaterThan(20);
    // Another replica met a run of 429s at that figure and wrote 15.
    expect(learner.observe(answer(t + 100), 15)).toBeNull();
    expect(learner.bounds.lower).toBeLessThanOrEqual(15);
    // However often the same evidence comes.
    for (let i = 2; i < 10; i++) expect(learner.observe(answer(t + i * 100), 15)).toBeNull();
    // A write of its own still on its way: the store's older figure is no revision.
    const fresh = new RateLearner();
    fresh.observe(answer(t), null);
    fresh.observe(answer(t + 100), 15, { mayPredateOwnWrite: true });
    expect(fresh.rate).toBeGreaterThan(20);
  });
});
