import { MemoryBucket } from '../shared-state/memory.js';
import type { BudgetClock } from './budget-clock.js';

// Auth0's smallest published limit (free plan: 2/s, burst 2): the pace in learned mode before
// any x-ratelimit-* header has come, so calls go out without waiting for a first answer.
const CAUTIOUS_START = { perSecond: 2, burst: 2 };

/**
 * Learned mode's pace before Auth0 has said anything of the tenant's bucket (DESIGN §8 "a slow call
 * never holds the others"). With nothing known, a first wave of callers would all go at once and
 * every call beyond the burst would come back 429 (three replicas starting together met 20–48 of
 * them, and a link that meets three fails). Waiting for a first answer instead lets one slow call
 * hold every other (and refuse them once AUTH0_MAX_WAIT_MS is spent). So calls go at Auth0's
 * smallest published pace, counted on this process's clock, until headers (or another replica's
 * figures in the shared store) size the bucket; its owner decides when that is.
 */
export class CautiousStart {
  private readonly bucket: MemoryBucket;

  constructor(clock: BudgetClock) {
    this.bucket = new MemoryBucket(() => clock.now());
    this.bucket.adjust({
      limit: { ratePerSecond: CAUTIOUS_START.perSecond, capacity: CAUTIOUS_START.burst },
    });
  }

  /** Takes up to `wanted` calls' worth; when none is left, says how long until the next one (ms). */
  take(wanted: number): { taken: number; nextInMs: number } {
    const { taken, state } = this.bucket.take(wanted);
    return { taken, nextInMs: taken === 0 ? ((1 - state.tokens) * 1000) / CAUTIOUS_START.perSecond : 0 };
  }
}
