import { RateLimitedError } from '../../../src/errors.js';
import { UpstreamBudget, type ReleaseBudget } from '../../../src/auth0/rate-budget.js';
import { MemoryBucket } from '../../../src/shared-state/memory.js';
import { flush, ManualClock } from './manual-clock.js';

interface Tracked {
  state: 'pending' | 'granted' | 'refused';
  release?: ReleaseBudget;
  error?: unknown;
}

function track(promise: Promise<ReleaseBudget>): Tracked {
  const t: Tracked = { state: 'pending' };
  promise.then(
    (release) => Object.assign(t, { state: 'granted', release }),
    (error) => Object.assign(t, { state: 'refused', error }),
  );
  return t;
}

async function step(clock: ManualClock, ms: number): Promise<void> {
  clock.advance(ms);
  await flush();
}

describe('UpstreamBudget', () => {
  let clock: ManualClock;
  beforeEach(() => {
    clock = new ManualClock();
  });

  it('learned mode paces at 2/s, burst 2, before any rate-limit header, without waiting for an answer', async () => {
    const budget = new UpstreamBudget({ clock, maxConcurrency: 100 });
    const calls = Array.from({ length: 10 }, () => track(budget.acquire(60_000)));
    await flush();
    // Nothing has answered, nothing is released: the pace alone lets calls go.
    expect(calls.filter((c) => c.state === 'granted')).toHaveLength(2);
    await step(clock, 499);
    expect(calls.filter((c) => c.state === 'granted')).toHaveLength(2);
    await step(clock, 1);
    expect(calls.filter((c) => c.state === 'granted')).toHaveLength(3);
    // No call is refused for the cautious pace, however long the queue behind it.
    const late = track(budget.acquire(100));
    await flush();
    expect(late.state).toBe('pending');
    // The first headers end the cautious start: a full bucket teaches no rate, so no limit but the cap.
    budget.observe({
      'x-ratelimit-limit': '100',
      'x-ratelimit-remaining': '100',
      'x-ratelimit-reset': String(clock.now() / 1000),
    });
    await flush();
    expect([...calls, late].every((c) => c.state === 'granted')).toBe(true);
  });

  it('stops pacing, with one warning naming AUTH0_RATE_LIMIT, after ten answers without rate-limit headers', async () => {
    const warnings: string[] = [];
    const budget = new UpstreamBudget({ clock, maxConcurrency: 100, warn: (m) => warnings.push(m) });
    const calls = Array.from({ length: 20 }, () => track(budget.acquire(60_000)));
    await flush();
    for (let i = 0; i < 9; i++) budget.observe({});
    await flush();
    expect(calls.filter((c) => c.state === 'granted')).toHaveLength(2);
    expect(warnings).toEqual([]);
    budget.observe({});
    await flush();
    expect(calls.every((c) => c.state === 'granted')).toBe(true);
    for (let i = 0; i < 15; i++) budget.observe({});
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('AUTH0_RATE_LIMIT');
  });

  it('a configured budget sends its burst at once, with no probe', async () => {
    const budget = new UpstreamBudget({
      clock,
      maxConcurrency: 100,
      rateLimit: { perSecond: 50, burst: 20 },
    });
    const calls = Array.from({ length: 10 }, () => track(budget.acquire(1000)));
    await flush();
    expect(calls.every((c) => c.state === 'granted')).toBe(true);
  });

  it('caps calls in flight and lets the next one go on release', async () => {
    const budget = new UpstreamBudget({ clock, maxConcurrency: 2 });
    // Headers of a full bucket: past the cautious start, and no rate to pace at.
    budget.observe({ 'x-ratelimit-limit': '100', 'x-ratelimit-remaining': '100', 'x-ratelimit-reset': '0' });
    const [a, b, c] = [track(budget.acquire(1000)), track(budget.acquire(1000)), track(budget.acquire(1000))];
    await flush();
    expect([a.state, b.state, c.state]).toEqual(['granted', 'granted', 'pending']);
    expect(budget.stats().queueLength).toBe(1);
    a.release?.();
    a.release?.(); // idempotent
    await flush();
    expect(c.state).toBe('granted');
    expect(budget.stats().inFlight).toBe(2);
  });

  it('lets a configured burst pass (less one token held in reserve), then paces at the configured rate', async () => {
    const budget = new UpstreamBudget({ clock, rateLimit: { perSecond: 2, burst: 4 } });
    const burst = [track(budget.acquire(5000)), track(budget.acquire(5000)), track(budget.acquire(5000))];
    const next = track(budget.acquire(5000));
    await flush();
    expect(burst.map((c) => c.state)).toEqual(['granted', 'granted', 'granted']);
    expect(next.state).toBe('pending');
    await step(clock, 499);
    expect(next.state).toBe('pending');
    await step(clock, 1);
    expect(next.state).toBe('granted');
  });

  it('serves waiting calls in FIFO order', async () => {
    const budget = new UpstreamBudget({ clock, rateLimit: { perSecond: 1, burst: 1 } });
    const order: string[] = [];
    track(budget.acquire(10_000));
    for (const name of ['b', 'c', 'd']) void budget.acquire(10_000).then(() => order.push(name));
    await flush();
    expect(order).toEqual([]);
    await step(clock, 1000);
    expect(order).toEqual(['b']);
    await step(clock, 1000);
    await step(clock, 1000);
    expect(order).toEqual(['b', 'c', 'd']);
  });

  it('queues a call Auth0 answered 429 ahead of calls not yet sent, behind earlier such calls', async () => {
    const budget = new UpstreamBudget({ clock, rateLimit: { perSecond: 1, burst: 1 } });
    const order: string[] = [];
    track(budget.acquire(10_000));
    for (const name of ['b', 'c']) void budget.acquire(10_000).then(() => order.push(name));
    void budget.acquire(10_000, { retry: true }).then(() => order.push('retry 1'));
    void budget.acquire(10_000, { retry: true }).then(() => order.push('retry 2'));
    await flush();
    for (let i = 0; i < 4; i++) await step(clock, 1000);
    expect(order).toEqual(['retry 1', 'retry 2', 'b', 'c']);
  });

  it('expects a retried call to wait only for the retries ahead of it', async () => {
    const budget = new UpstreamBudget({ clock, rateLimit: { perSecond: 1, burst: 1 } });
    track(budget.acquire(60_000));
    const waiting = Array.from({ length: 5 }, () => track(budget.acquire(60_000)));
    await flush();
    // Behind five waiting calls a new one could not go within 2 s; a retry goes first and can.
    const fresh = track(budget.acquire(2000));
    const retried = track(budget.acquire(2000, { retry: true }));
    await flush();
    expect(fresh.state).toBe('refused');
    expect(retried.state).toBe('pending');
    await step(clock, 1000);
    expect(retried.state).toBe('granted');
    expect(waiting.every((c) => c.state === 'pending')).toBe(true);
  });

  it('refuses at once, with retryAfter, a call whose expected wait exceeds maxWaitMs', async () => {
    const budget = new UpstreamBudget({ clock, rateLimit: { perSecond: 1, burst: 1 } });
    const ok = [track(budget.acquire(2000)), track(budget.acquire(2000)), track(budget.acquire(2000))];
    const refused = track(budget.acquire(2000));
    await flush();
    expect(ok.map((c) => c.state)).toEqual(['granted', 'pending', 'pending']);
    expect(refused.state).toBe('refused');
    expect(refused.error).toBeInstanceOf(RateLimitedError);
    expect((refused.error as RateLimitedError).retryAfter).toBe(3);
    expect(budget.stats().queueLength).toBe(2);
  });

  it('refuses a waiting call when its wait outlasts maxWaitMs after all', async () => {
    const budget = new UpstreamBudget({ clock, maxConcurrency: 1 });
    const held = track(budget.acquire(0));
    const waiting = track(budget.acquire(500));
    await step(clock, 499);
    expect(waiting.state).toBe('pending');
    await step(clock, 1);
    expect(waiting.state).toBe('refused');
    expect((waiting.error as RateLimitedError).code).toBe('RATE_LIMITED');
    held.release?.();
    expect(budget.stats()).toMatchObject({ queueLength: 0, inFlight: 0 });
  });

  it('learns burst and rate from x-ratelimit headers', async () => {
    const budget = new UpstreamBudget({ clock });
    const reset = String(clock.now() / 1000 + 5);
    budget.observe({ 'x-ratelimit-limit': '10', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset });
    // More than 9 and at most 10 tokens refill in (4, 5] s, give or take 50 ms of clock
    // difference: the rate lies in (1.78, 2.53); calls go a tenth of the way up while the bounds
    // are that wide.
    expect(budget.stats()).toMatchObject({ burst: 10, tokens: 0 });
    expect(budget.stats().ratePerSecond).toBeCloseTo(1.857);
    const call = track(budget.acquire(10_000));
    await step(clock, 538);
    expect(call.state).toBe('pending');
    await step(clock, 1);
    expect(call.state).toBe('granted');
  });

  it('refines a learned rate as responses come', () => {
    const budget = new UpstreamBudget({ clock });
    const now = clock.now() / 1000;
    budget.observe({
      'x-ratelimit-limit': '10',
      'x-ratelimit-remaining': '8',
      'x-ratelimit-reset': String(now + 1),
    });
    const first = budget.stats().ratePerSecond as number;
    budget.observe({
      'x-ratelimit-limit': '10',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': String(now + 2),
    });
    const second = budget.stats().ratePerSecond as number;
    // First: more than 1 token in at most 1.05 s (a clock 50 ms off Auth0's is allowed for), a
    // lower bound only. Second: more than 9 and at most 10 tokens in (0.95, 2.05] s.
    expect(first).toBeCloseTo(0.981);
    expect(second).toBeGreaterThan(first);
    // Bounds (4.39, 10.53): a tenth of the way up while they are that wide.
    expect(second).toBeCloseTo(5.004);
  });

  it('learns from calls that find the bucket full: remaining = limit − 1 means exactly one token missing', () => {
    const budget = new UpstreamBudget({ clock });
    const now = clock.now() / 1000;
    // The one token this call took is back within 0.25 s, 0.3 s with the clock margin: at least
    // 3.33 per second, paced 3 % above.
    budget.observe({
      'x-ratelimit-limit': '10',
      'x-ratelimit-remaining': '9',
      'x-ratelimit-reset': String(now + 0.25),
    });
    expect(budget.stats().ratePerSecond).toBeCloseTo(3.433);
    // A window ending nearer the refill tightens it (0.1 s with the margin: 10 per second).
    budget.observe({
      'x-ratelimit-limit': '10',
      'x-ratelimit-remaining': '9',
      'x-ratelimit-reset': String(now + 0.05),
    });
    expect(budget.stats().ratePerSecond).toBeCloseTo(10.3);
    // A 429 (remaining 0) is no such proof: with a bucket of one, what is missing may be any part
    // of a token, refilled in (0.95, 2.05] s: a lower bound of 0, paced a tenth of the way to 1.05
    // per second.
    const refused = new UpstreamBudget({ clock });
    refused.observe({
      'x-ratelimit-limit': '1',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': String(now + 2),
    });
    expect(refused.stats().ratePerSecond).toBeCloseTo(0.105);
  });

  it('keeps the highest rate replicas sharing a bucket learned; a replica still revises its own', () => {
    const store = new MemoryBucket(() => clock.now());
    const a = new UpstreamBudget({ clock, store });
    const b = new UpstreamBudget({ clock, store });
    const now = clock.now() / 1000;
    const headers = (remaining: number, resetIn: number) => ({
      'x-ratelimit-limit': '10',
      'x-ratelimit-remaining': String(remaining),
      'x-ratelimit-reset': String(now + resetIn),
    });
    // A: more than 9 and at most 10 tokens in (0.95, 2.05] s (with the clock margin), paced a
    // tenth of the way up (5.004).
    a.observe(headers(0, 2));
    expect(a.stats().ratePerSecond).toBeCloseTo(5.004);
    // More than 9 and at most 10 tokens in (1.95, 3.05] s: A's upper bound falls to 5.13, and it
    // lowers the figure it wrote itself.
    a.observe(headers(0, 3));
    expect(a.stats().ratePerSecond).toBeCloseTo(4.522);
    // B saw more than 9 tokens refill within 1.05 s: its lower bound (8.57) is above the shared
    // figure, which goes up to 8.83 (3 % above).
    b.observe(headers(0, 1));
    expect(b.stats().ratePerSecond).toBeCloseTo(8.829);
    // A's own figure (still 4.522) does not take that back, though every response of A brings it.
    a.observe(headers(0, 3));
    expect(a.stats().ratePerSecond).toBeCloseTo(8.829);
    expect(b.stats().ratePerSecond).toBeCloseTo(8.829);
  });

  it('revises the shared figure down after a run of 429s, and the replica that wrote it does not write it back', () => {
    const store = new MemoryBucket(() => clock.now());
    const a = new UpstreamBudget({ clock, store });
    const b = new UpstreamBudget({ clock, store });
    const t = clock.now();
    // A learned about 26.8/s (more than 49 tokens within 2.05 s, a tenth of the way to the upper
    // bound); the tenant allows less.
    const drained = {
      'x-ratelimit-limit': '50',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': String(t / 1000 + 2),
    };
    a.observe(drained, t);
    const high = store.adjust({}).ratePerSecond as number;
    expect(high).toBeGreaterThan(26);
    b.observe({ ...drained, 'x-ratelimit-remaining': '40' }, t);
    // B's calls, paced at A's figure, meet 429 three times in a row: the shared figure falls.
    for (let i = 0; i < 3; i++) b.onRateLimited(undefined, t);
    const revised = store.adjust({}).ratePerSecond as number;
    expect(revised).toBeLessThanOrEqual(high * 0.8);
    // A's next answers bring the same evidence: the revision stays.
    for (let i = 0; i < 5; i++) a.observe(drained, t);
    expect(store.adjust({}).ratePerSecond).toBe(revised);
  });

  it('learns the rate from Auth0’s count climbing while calls go slower than the tenant allows', () => {
    const budget = new UpstreamBudget({ clock });
    const start = clock.now();
    // 10 calls a second against a tenant refilling 11: Auth0's count climbs by one a second. Each
    // answer alone bounds the rate only loosely (its deficit refills by a whole second Auth0
    // rounds up to).
    for (let k = 0; k <= 40; k++) {
      const now = clock.now();
      const remaining = 3 + Math.floor((now - start) / 1000);
      budget.observe(
        {
          'x-ratelimit-limit': '20',
          'x-ratelimit-remaining': String(remaining),
          'x-ratelimit-reset': String(Math.ceil(now / 1000 + (20 - remaining) / 11)),
        },
        now - 5,
      );
      clock.advance(100);
    }
    // Those bounds alone give 9.97 < rate ≤ 11.33 (paced at 10.27); the count climbing over 2.5 s
    // raises the lower one to 10.78 (paced at 11.06), and never past the tenant's 11.
    const rate = budget.stats().ratePerSecond as number;
    expect(rate).toBeGreaterThan(10.9);
    expect(rate).toBeLessThanOrEqual(11 * 1.03);
  });

  it('measures the window from the send, so a slow answer cannot raise the learned rate', () => {
    const reset = String(clock.now() / 1000 + 1);
    const headers = { 'x-ratelimit-limit': '10', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset };
    // Sent 0.5 s before the answer was read: Auth0 wrote the headers somewhere in that half second.
    const slow = new UpstreamBudget({ clock });
    slow.observe(headers, clock.now() - 500);
    // More than 9 tokens refill within at most 1.55 s (with the clock margin): at least 5.81/s,
    // paced 3 % above.
    expect(slow.stats().ratePerSecond).toBeCloseTo(5.981);
    // Read as if just sent, the same headers would claim 9 tokens within 1.05 s.
    const prompt = new UpstreamBudget({ clock });
    prompt.observe(headers);
    expect(prompt.stats().ratePerSecond).toBeCloseTo(8.829);
  });

  it('stays unlimited when headers give no rate (bucket full)', async () => {
    const budget = new UpstreamBudget({ clock });
    budget.observe({ 'x-ratelimit-limit': '10', 'x-ratelimit-remaining': '10', 'x-ratelimit-reset': '0' });
    expect(budget.stats()).toMatchObject({ burst: 10, ratePerSecond: null });
    const calls = Array.from({ length: 20 }, () => track(budget.acquire(0)));
    await flush();
    expect(calls.every((c) => c.state === 'granted')).toBe(true);
  });

  it("corrects a configured bucket's count with Auth0's remaining", async () => {
    const budget = new UpstreamBudget({ clock, rateLimit: { perSecond: 10, burst: 10 } });
    budget.observe({ 'x-ratelimit-limit': '10', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '0' });
    expect(budget.stats()).toMatchObject({ burst: 10, ratePerSecond: 10, tokens: 0 });
    const call = track(budget.acquire(1000));
    await flush();
    expect(call.state).toBe('pending');
    await step(clock, 100);
    expect(call.state).toBe('granted');
  });

  it('pauses after a 429 for Retry-After when sent', async () => {
    const budget = new UpstreamBudget({ clock, rateLimit: { perSecond: 10, burst: 10 } });
    budget.onRateLimited(3);
    const call = track(budget.acquire(10_000));
    await step(clock, 2999);
    expect(call.state).toBe('pending');
    await step(clock, 1);
    expect(call.state).toBe('granted');
  });

  it('pauses after a 429 for one token interval without Retry-After, not until the whole-second reset', async () => {
    const budget = new UpstreamBudget({ clock, rateLimit: { perSecond: 10, burst: 10 } });
    budget.onRateLimited();
    const first = track(budget.acquire(10_000));
    const second = track(budget.acquire(10_000));
    await step(clock, 99);
    expect(first.state).toBe('pending');
    await step(clock, 1);
    expect(first.state).toBe('granted');
    expect(second.state).toBe('pending');
    await step(clock, 100);
    expect(second.state).toBe('granted');
  });

  it('refuses at once when a 429 pause exceeds maxWaitMs', async () => {
    const budget = new UpstreamBudget({ clock });
    budget.onRateLimited(30);
    const call = track(budget.acquire(10_000));
    await flush();
    expect(call.state).toBe('refused');
    expect((call.error as RateLimitedError).retryAfter).toBe(30);
  });

  it('reports the queue length to its listener', async () => {
    const lengths: number[] = [];
    const budget = new UpstreamBudget({ clock, maxConcurrency: 1, onQueueChange: (n) => lengths.push(n) });
    const held = track(budget.acquire(1000));
    track(budget.acquire(1000));
    await flush();
    held.release?.();
    await flush();
    expect(lengths).toEqual([1, 0]);
  });
});
