import type { RedisClient } from './redis-connection.js';
import { MemoryBucket } from './memory.js';
import { BUCKET_SCRIPT } from './redis-scripts.js';
import type { BucketChange, BucketSnapshot, RateBucketStore } from './shared-state.js';

// A bucket no replica touched for a day is forgotten (learned limits go stale).
const BUCKET_TTL_MS = 24 * 60 * 60 * 1000;

const optional = (value: number | undefined) => (value === undefined ? '' : value);

/**
 * One tenant bucket in Redis, with a memory bucket that takes over while Redis does not answer.
 * The memory bucket holds this replica's share of the limit (1/replicas of the rate and burst).
 */
export class RedisBucket implements RateBucketStore {
  private readonly local = new MemoryBucket();
  private limit?: NonNullable<BucketChange['limit']>;
  private localShare = 1;
  /** The last take went to Redis. */
  private shared = false;

  constructor(
    private readonly client: RedisClient,
    private readonly key: string,
    private readonly isAvailable: () => boolean,
    private readonly replicas: () => number,
  ) {}

  take(
    count: number,
  ): { taken: number; state: BucketSnapshot } | Promise<{ taken: number; state: BucketSnapshot }> {
    const alone = () => {
      this.shareLocally();
      if (this.shared) {
        // The shared bucket was being spent down to its last token: start alone from empty, at
        // this replica's pace, rather than with a burst that meets an empty tenant bucket.
        this.shared = false;
        this.local.adjust({ pauseMs: 0 });
      }
      return this.local.take(count);
    };
    if (!this.isAvailable()) return alone();
    return this.run(['take', count]).then((reply) => {
      this.shared = true;
      return { taken: Number(reply[0]), state: toSnapshot(reply) };
    }, alone);
  }

  adjust(change: BucketChange): BucketSnapshot | Promise<BucketSnapshot> {
    if (change.limit) this.limit = { ...change.limit };
    this.shareLocally();
    // The memory bucket learns too, so it is ready when Redis goes away.
    const local = this.local.adjust({ ...change, limit: this.localLimit(change.limit) });
    if (!this.isAvailable()) return local;
    const { limit, pauseMs, remaining } = change;
    return this.run([
      'adjust',
      0,
      optional(limit?.ratePerSecond),
      optional(limit?.capacity),
      optional(limit?.initialTokens),
      optional(pauseMs),
      optional(remaining),
    ]).then(toSnapshot, () => local);
  }

  private localLimit(limit = this.limit): BucketChange['limit'] {
    if (!limit) return undefined;
    const share = this.localShare;
    const capacity = Math.max(1, Math.floor(limit.capacity / share));
    return {
      ratePerSecond: limit.ratePerSecond / share,
      capacity,
      initialTokens: limit.initialTokens === undefined ? undefined : Math.min(limit.initialTokens, capacity),
    };
  }

  /** Gives the memory bucket this replica's share when the number of replicas changed. */
  private shareLocally(): void {
    const replicas = this.replicas();
    if (replicas === this.localShare) return;
    this.localShare = replicas;
    const limit = this.localLimit();
    if (limit) this.local.adjust({ limit });
  }

  private async run(args: (string | number)[]): Promise<string[]> {
    const [op, count, ...rest] = args;
    const seed = this.limit;
    const reply = await BUCKET_SCRIPT.run(
      this.client,
      [this.key],
      [op, count, optional(seed?.ratePerSecond), optional(seed?.capacity), BUCKET_TTL_MS, ...padAdjust(rest)],
    );
    return (reply as (string | number)[]).map(String);
  }
}

/** The adjust arguments, or five empty ones for a take. */
function padAdjust(rest: (string | number)[]): (string | number)[] {
  return rest.length > 0 ? rest : ['', '', '', '', ''];
}

function toSnapshot(reply: string[]): BucketSnapshot {
  const rate = reply[2] === '' ? null : Number(reply[2]);
  return {
    tokens: Number(reply[1]),
    ratePerSecond: rate,
    capacity: rate === null ? null : Number(reply[3]),
    pausedForMs: Number(reply[4]),
  };
}
