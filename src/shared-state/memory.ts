import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type {
  BucketChange,
  BucketSnapshot,
  CallerLimiter,
  RateBucketStore,
  ServiceTokenSlot,
  SharedState,
  WriterLock,
} from './shared-state.js';
import { createMemoryLinkRecords } from './link-records.js';
import { createMemoryUndoRecords } from './undo-records.js';
import { createMemoryPendingChecks } from './pending-checks.js';
import { createMemoryWriterLock } from './writer-lock.js';

// Float drift must not leave a bucket at 0.9999999 tokens forever.
const EPSILON = 1e-9;

/**
 * A token bucket in process memory. The Redis bucket (`BUCKET_SCRIPT` in redis-scripts.ts) does the
 * same arithmetic on the server: keep the two in step.
 */
export class MemoryBucket implements RateBucketStore {
  private tokens = 0;
  private lastRefill: number;
  private rate: number | null = null;
  private capacity: number | null = null;
  private pausedUntil = 0;

  constructor(private readonly now: () => number = Date.now) {
    this.lastRefill = now();
  }

  take(count: number): { taken: number; state: BucketSnapshot } {
    const now = this.refill();
    let taken = 0;
    if (now < this.pausedUntil) taken = 0;
    else if (this.rate === null) taken = count;
    else {
      taken = Math.max(0, Math.min(count, Math.floor(this.tokens + EPSILON)));
      this.tokens -= taken;
    }
    return { taken, state: this.snapshot(now) };
  }

  adjust(change: BucketChange): BucketSnapshot {
    let now = this.refill();
    if (change.limit) {
      const { ratePerSecond, capacity, initialTokens } = change.limit;
      if (this.rate === null) {
        this.tokens = initialTokens ?? capacity;
        this.lastRefill = Math.max(now, this.lastRefill);
      }
      this.rate = ratePerSecond;
      this.capacity = capacity;
      this.tokens = Math.min(this.tokens, capacity);
    }
    if (change.pauseMs !== undefined) {
      this.pausedUntil = Math.max(this.pausedUntil, now + change.pauseMs);
      if (this.rate !== null) {
        this.tokens = 0;
        this.lastRefill = now;
      }
    }
    if (change.remaining !== undefined && this.rate !== null && now >= this.pausedUntil) {
      this.tokens = Math.min(this.tokens, change.remaining, this.capacity ?? change.remaining);
    }
    now = this.now();
    return this.snapshot(now);
  }

  private refill(): number {
    const now = this.now();
    if (this.rate !== null && now > this.lastRefill) {
      this.tokens = Math.min(
        this.capacity ?? Infinity,
        this.tokens + ((now - this.lastRefill) * this.rate) / 1000,
      );
      this.lastRefill = now;
    }
    return now;
  }

  private snapshot(now: number): BucketSnapshot {
    return {
      tokens: this.tokens,
      ratePerSecond: this.rate,
      capacity: this.capacity,
      pausedForMs: Math.max(0, this.pausedUntil - now),
    };
  }
}

/** Nothing to share within one process: every fetch goes through; the provider caches. */
export const processTokenSlot: ServiceTokenSlot = {
  read: () => null,
  fetchOnce: (fetch) => fetch(),
  invalidate: async () => undefined,
};

/** rate-limiter-flexible's answer → ours (its rejections carry a RateLimiterRes, errors an Error). */
export async function consumeWith(
  limiter: { consume(key: string): Promise<RateLimiterRes> },
  key: string,
): ReturnType<CallerLimiter['consume']> {
  try {
    await limiter.consume(key);
    return { allowed: true };
  } catch (rejection) {
    if (rejection instanceof RateLimiterRes) {
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)) };
    }
    throw rejection;
  }
}

export function createMemoryCallerLimiter(options: {
  name: string;
  count: number;
  windowSeconds: number;
}): RateLimiterMemory {
  return new RateLimiterMemory({
    keyPrefix: options.name,
    points: options.count,
    duration: options.windowSeconds,
  });
}

/** Everything in this process's memory: REDIS_URL unset. */
export function createMemorySharedState(options: { now?: () => number } = {}): SharedState {
  const buckets = new Map<string, MemoryBucket>();
  const writerLocks = new Map<string, WriterLock>();
  return {
    kind: 'memory',
    isAvailable: () => true,
    bucket(name) {
      let bucket = buckets.get(name);
      if (!bucket) buckets.set(name, (bucket = new MemoryBucket(options.now)));
      return bucket;
    },
    serviceTokenSlot: () => processTokenSlot,
    callerLimiter(limit) {
      const limiter = createMemoryCallerLimiter(limit);
      return { consume: (key) => consumeWith(limiter, key) };
    },
    writerLock(name) {
      let lock = writerLocks.get(name);
      if (!lock) writerLocks.set(name, (lock = createMemoryWriterLock()));
      return lock;
    },
    userCacheStore: () => undefined,
    apqCache: () => undefined,
    linkRecords: (records) => createMemoryLinkRecords(records),
    undoRecords: () => createMemoryUndoRecords(),
    pendingChecks: () => createMemoryPendingChecks(),
    close: async () => undefined,
  };
}
