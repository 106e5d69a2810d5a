import { performance } from 'node:perf_hooks';
import type { RedisClient } from './redis-connection.js';
import { LeaseNotReplicatedError, RedisLease } from './redis-lease.js';
import type { HeldWriterLock, WriterLock } from './shared-state.js';

// One writer per primary (DESIGN §8): a lock per key, in this process and, with Redis, across
// replicas. One Redis is not a quorum: a failover can lose a lease. The holder therefore checks
// its lock's `signal` before each write, and the merge re-reads the primary just before its PATCH.

/**
 * Keyed locks in this process: the first caller of a key holds it, later ones queue in order and
 * give up after their wait.
 */
export class InProcessWriterLock {
  // A key is held while it has an entry; the array holds the callers waiting for it.
  private readonly waiting = new Map<string, (() => void)[]>();

  acquire(key: string, waitMs: number): Promise<(() => void) | null> {
    const queue = this.waiting.get(key);
    if (!queue) {
      this.waiting.set(key, []);
      return Promise.resolve(this.releaser(key));
    }
    return new Promise((resolve) => {
      const turn = () => {
        clearTimeout(timer);
        resolve(this.releaser(key));
      };
      const timer = setTimeout(() => {
        const index = queue.indexOf(turn);
        if (index >= 0) queue.splice(index, 1);
        resolve(null);
      }, waitMs);
      queue.push(turn);
    });
  }

  private releaser(key: string): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.get(key)?.shift();
      if (next) next();
      else this.waiting.delete(key);
    };
  }
}

/** A signal that is never aborted: a lock held within this process alone cannot be lost. */
const NEVER_LOST = new AbortController().signal;

/** `signal` is read through on every access, so a lease's age is checked when the holder asks. */
function heldLock(
  release: () => Promise<void>,
  signal: () => AbortSignal,
  confirm: () => Promise<boolean> = async () => !signal().aborted,
): HeldWriterLock {
  const lock = Object.defineProperty(release, 'signal', { get: signal, enumerable: true });
  return Object.assign(lock, { confirm }) as HeldWriterLock;
}

/** Writer locks of one process without Redis. */
export function createMemoryWriterLock(): WriterLock {
  const local = new InProcessWriterLock();
  return {
    async acquire(key, waitMs) {
      const release = await local.acquire(key, waitMs);
      return (
        release &&
        heldLock(
          async () => release(),
          () => NEVER_LOST,
        )
      );
    },
    releaseAll: async () => undefined,
  };
}

export interface RedisWriterLockOptions {
  /** The Redis key of the lock on `key`. */
  redisKey: (key: string) => string;
  /** The Redis key of its fencing counter (the lock's hash tag); none: an unfenced lock. */
  fenceKey?: (key: string) => string;
  /** Longest a lock waits for a replica's acknowledgement (WAIT) before it is tried again; default 250. */
  replicaWaitMs?: number;
  isAvailable: () => boolean;
  /** How long Redis has not answered (0 while it does; Infinity when it never did). */
  outageMs?: () => number;
  /**
   * Expiry of a held lock, renewed every third of it while the holder lives (RedisLease): a
   * replica that dies frees its primaries after at most this long, and a holder whose renewals
   * stop being confirmed sees its lock's `signal` aborted before the key can expire.
   */
  ttlMs: number;
}

// How often a waiting replica tries the lock again: short at first, then every 50 ms.
const FIRST_POLL_MS = 5;
const MAX_POLL_MS = 50;

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * How long an outage may be a failover in progress. A writer that finds Redis silent for less than
 * this waits for it (within its own wait): a replica promoted in a few seconds keeps one writer per
 * primary, where writers going on alone at once would overwrite each other's merges. A longer
 * outage is Redis down: writers go on under this process's lock alone, at once (DESIGN §10).
 */
export const FAILOVER_GRACE_MS = 30_000;

/**
 * Writer locks shared by replicas: one RedisLease per held key. The in-process lock is taken
 * first, so callers of one replica queue in memory and only one of them polls Redis. While Redis
 * does not answer, the in-process lock alone orders this replica's writers (DESIGN §10: no request
 * fails for Redis).
 */
export function createRedisWriterLock(client: RedisClient, options: RedisWriterLockOptions): WriterLock {
  const local = new InProcessWriterLock();
  const held = new Set<HeldWriterLock>();

  /**
   * The lease; `null` when Redis does not answer (at once in a long outage, at `deadline` in a
   * short one); `false` when others held it until `deadline`.
   */
  async function takeShared(key: string, deadline: number): Promise<RedisLease | false | null> {
    let pollMs = FIRST_POLL_MS;
    // A command that failed while the client looked connected (a cluster's dead master) starts an
    // outage of this lock's own.
    let failingSince: number | undefined;
    const outageMs = () =>
      Math.max(options.outageMs?.() ?? 0, failingSince === undefined ? 0 : performance.now() - failingSince);
    const redisKey = options.redisKey(key);
    const fence = options.fenceKey
      ? { key: options.fenceKey(key), replicaWaitMs: options.replicaWaitMs ?? 250 }
      : undefined;
    for (;;) {
      let answered = false;
      if (options.isAvailable()) {
        try {
          const lease = await RedisLease.tryAcquire(client, redisKey, { ttlMs: options.ttlMs, fence });
          if (lease) return lease;
          answered = true;
        } catch (error) {
          // Taken but not replicated in time: given back, tried again like a held lock.
          answered = error instanceof LeaseNotReplicatedError;
        }
      }
      if (answered) failingSince = undefined;
      else {
        failingSince ??= performance.now();
        if (outageMs() >= FAILOVER_GRACE_MS) return null;
      }
      const left = deadline - performance.now();
      if (left <= 0) return answered ? false : null;
      await pause(Math.min(pollMs, left));
      pollMs = Math.min(pollMs * 2, MAX_POLL_MS);
    }
  }

  return {
    async acquire(key, waitMs) {
      const deadline = performance.now() + waitMs;
      const releaseLocal = await local.acquire(key, waitMs);
      if (!releaseLocal) return null;
      const lease = await takeShared(key, deadline);
      if (lease === false) {
        releaseLocal();
        return null;
      }
      let done: Promise<void> | undefined;
      const lock: HeldWriterLock = heldLock(
        () =>
          (done ??= (async () => {
            held.delete(lock);
            try {
              await lease?.release();
            } finally {
              releaseLocal();
            }
          })()),
        () => (lease ? lease.signal : NEVER_LOST),
        async () => (lease ? lease.confirm() : true),
      );
      if (lease) held.add(lock);
      return lock;
    },
    async releaseAll() {
      await Promise.all([...held].map((release) => release()));
    },
  };
}
