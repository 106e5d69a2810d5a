import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RELEASE_LOCK_SCRIPT, RENEW_LOCK_SCRIPT } from './redis-scripts.js';
import type { ReleaseWriterLock, WriterLock } from './shared-state.js';

// One writer per primary (DESIGN §8): a lock per key, in this process and, with Redis, across
// replicas. One Redis is not a quorum, so the lock orders writers; the read-back after an unclear
// answer is what guarantees the answer.

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

/** Writer locks of one process without Redis. */
export function createMemoryWriterLock(): WriterLock {
  const local = new InProcessWriterLock();
  return {
    async acquire(key, waitMs) {
      const release = await local.acquire(key, waitMs);
      return release && (async () => release());
    },
    releaseAll: async () => undefined,
  };
}

export interface RedisWriterLockOptions {
  /** The Redis key of the lock on `key`. */
  redisKey: (key: string) => string;
  isAvailable: () => boolean;
  /**
   * Expiry of a held lock; renewed every third of it while the holder lives, so it outlasts any
   * operation, yet a replica that dies frees its primaries after at most this long.
   */
  ttlMs: number;
}

// How often a waiting replica tries the lock again: short at first, then every 50 ms.
const FIRST_POLL_MS = 5;
const MAX_POLL_MS = 50;

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Writer locks shared by replicas: `SET key owner NX PX ttl`, renewed and released only by their
 * owner (compare-and-pexpire, compare-and-delete). The in-process lock is taken first, so callers
 * of one replica queue in memory and only one of them polls Redis. While Redis does not answer,
 * the in-process lock alone orders this replica's writers (DESIGN §10: no request fails for Redis).
 */
export function createRedisWriterLock(client: Redis, options: RedisWriterLockOptions): WriterLock {
  const local = new InProcessWriterLock();
  const held = new Map<string, { owner: string; release: ReleaseWriterLock }>();

  async function takeShared(redisKey: string, owner: string, deadline: number): Promise<boolean | null> {
    let pollMs = FIRST_POLL_MS;
    for (;;) {
      if (!options.isAvailable()) return null;
      try {
        if ((await client.set(redisKey, owner, 'PX', options.ttlMs, 'NX')) === 'OK') return true;
      } catch {
        return null;
      }
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await pause(Math.min(pollMs, left));
      pollMs = Math.min(pollMs * 2, MAX_POLL_MS);
    }
  }

  return {
    async acquire(key, waitMs) {
      const deadline = Date.now() + waitMs;
      const releaseLocal = await local.acquire(key, waitMs);
      if (!releaseLocal) return null;
      const redisKey = options.redisKey(key);
      const owner = randomUUID();
      const shared = await takeShared(redisKey, owner, deadline);
      if (shared === false) {
        releaseLocal();
        return null;
      }
      let renewal: NodeJS.Timeout | undefined;
      if (shared) {
        renewal = setInterval(() => {
          if (options.isAvailable()) {
            RENEW_LOCK_SCRIPT.run(client, [redisKey], [owner, options.ttlMs]).catch(() => undefined);
          }
        }, options.ttlMs / 3);
        renewal.unref();
      }
      let done: Promise<void> | undefined;
      const release: ReleaseWriterLock = () =>
        (done ??= (async () => {
          clearInterval(renewal);
          if (held.get(redisKey)?.owner === owner) held.delete(redisKey);
          try {
            if (shared && options.isAvailable()) {
              await RELEASE_LOCK_SCRIPT.run(client, [redisKey], [owner]).catch(() => undefined);
            }
          } finally {
            releaseLocal();
          }
        })());
      if (shared) held.set(redisKey, { owner, release });
      return release;
    },
    async releaseAll() {
      await Promise.all([...held.values()].map(({ release }) => release()));
    },
  };
}
