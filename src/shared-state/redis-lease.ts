import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { RedisClient } from './redis-connection.js';
import { waitForReplica } from './redis-connection.js';
import {
  ACQUIRE_FENCED_LOCK_SCRIPT,
  CHECK_FENCED_LOCK_SCRIPT,
  RELEASE_LOCK_SCRIPT,
  RENEW_LOCK_SCRIPT,
} from './redis-scripts.js';

// One lease for every lock the service takes in Redis (the writer lock of a primary, the outbox's
// delivery lease, the service-token fetch): `SET key owner NX PX ttl`, renewed on its own timer and
// given back only by its owner (compare-and-pexpire, compare-and-delete).
//
// A lease knows when it may have lost the key: a renewal that finds another owner, or no renewal
// confirmed for two thirds of the TTL (Redis unreachable, a failover, a stalled event loop). From
// then on `signal` is aborted and the holder must not write as the key's owner any more. Durations
// are measured with the monotonic clock, never the wall clock (an NTP step moves neither).

export interface RedisLeaseOptions {
  /** Expiry of the key in Redis; a holder that dies frees it after at most this long. */
  ttlMs: number;
  /** How often the lease is renewed; default a third of `ttlMs`. */
  renewEveryMs?: number;
  /**
   * A fencing counter (same hash tag as the key): the lease takes the next token with the key,
   * its renewals and `confirm()` check that no later holder took one, and it is granted only once
   * a replica has it where the master has replicas (WAIT), so that a failover keeps it.
   */
  fence?: { key: string; replicaWaitMs: number };
}

// A fencing counter outlives any lease on its key by far: a counter that expired and started
// again could hand a later holder an old holder's token.
const FENCE_TTL_MS = 7 * 24 * 60 * 60 * 1000;

/** How long past its last confirmed renewal a lease still counts as held: its key may expire after. */
const HELD_FRACTION = 2 / 3;

/** How often a release that Redis did not take is tried again, in the background. */
const RELEASE_RETRY_MS = 500;

/**
 * Gives the key back once Redis answers, by compare-and-delete with `owner`: a SET NX that timed
 * out (it may have been applied) or a release that failed would otherwise leave the key held by
 * nobody alive until it expires. Stops after `ttlMs`, when the key has expired anyway.
 */
function releaseWhenRedisAnswers(client: RedisClient, key: string, owner: string, ttlMs: number): void {
  const until = performance.now() + ttlMs;
  const attempt = () => {
    if (performance.now() > until) return;
    RELEASE_LOCK_SCRIPT.run(client, [key], [owner]).catch(() => {
      setTimeout(attempt, RELEASE_RETRY_MS).unref();
    });
  };
  attempt();
}

/** A fenced lease that the master took but no replica acknowledged in time: it was given back. */
export class LeaseNotReplicatedError extends Error {
  constructor(key: string) {
    super(`lease ${key}: no replica acknowledged it in time`);
    this.name = 'LeaseNotReplicatedError';
  }
}

/** A key held in Redis by this process, until released or lost. */
export class RedisLease {
  private readonly controller = new AbortController();
  private readonly renewal: NodeJS.Timeout;
  /** When the last renewal that Redis confirmed was sent (monotonic ms). */
  private confirmedAt: number;
  private renewing = false;
  private released: Promise<void> | undefined;

  private constructor(
    private readonly client: RedisClient,
    readonly key: string,
    private readonly owner: string,
    private readonly options: RedisLeaseOptions,
    takenAt: number,
    /** The fencing token taken with the key (`fence` leases). */
    readonly token?: string,
  ) {
    this.confirmedAt = takenAt;
    this.renewal = setInterval(() => this.renew(), options.renewEveryMs ?? options.ttlMs / 3);
    this.renewal.unref();
  }

  /**
   * Takes `key` when nobody holds it: the lease, or `null` when another owner holds it. Rejects when
   * Redis does not answer; a SET that may still have been applied is then given back in the
   * background, so no key is left behind.
   */
  static async tryAcquire(
    client: RedisClient,
    key: string,
    options: RedisLeaseOptions,
  ): Promise<RedisLease | null> {
    const owner = randomUUID();
    const sentAt = performance.now();
    const { fence } = options;
    let answer: string | null;
    try {
      answer = fence
        ? String(
            await ACQUIRE_FENCED_LOCK_SCRIPT.run(
              client,
              [key, fence.key],
              [owner, options.ttlMs, FENCE_TTL_MS],
            ),
          )
        : await client.set(key, owner, 'PX', options.ttlMs, 'NX');
    } catch (error) {
      releaseWhenRedisAnswers(client, key, owner, options.ttlMs);
      throw error;
    }
    if (!fence) return answer === 'OK' ? new RedisLease(client, key, owner, options, sentAt) : null;
    if (answer === '0') return null;
    // Asynchronous replication: a lock that only the master has is gone if it dies now, and the
    // promoted replica would grant it again. Granted only once a replica has it (where there is
    // one); a replica too slow to say so within the wait costs this attempt, not the lock's promise.
    if ((await waitForReplica(client, key, fence.replicaWaitMs)) === 'not-acknowledged') {
      await RELEASE_LOCK_SCRIPT.run(client, [key], [owner]).catch(() =>
        releaseWhenRedisAnswers(client, key, owner, options.ttlMs),
      );
      throw new LeaseNotReplicatedError(key);
    }
    return new RedisLease(client, key, owner, options, sentAt, answer ?? undefined);
  }

  /**
   * Asks Redis whether this lease still holds its key with the newest fencing token (one script):
   * what a writer checks before each write. Without a fence, or while Redis does not answer, the
   * lease's own view (`!lost`).
   */
  async confirm(): Promise<boolean> {
    if (this.lost) return false;
    if (!this.options.fence || this.token === undefined) return true;
    try {
      const held = await CHECK_FENCED_LOCK_SCRIPT.run(
        this.client,
        [this.key, this.options.fence.key],
        [this.owner, this.token, ''],
      );
      if (Number(held) === 1) return !this.lost;
      this.lose();
      return false;
    } catch {
      return !this.lost;
    }
  }

  /** Aborted once the lease may be lost: from then on its holder must not act as the key's owner. */
  get signal(): AbortSignal {
    this.checkAge();
    return this.controller.signal;
  }

  /** The lease may be lost (see `signal`). */
  get lost(): boolean {
    return this.signal.aborted;
  }

  /** Gives the key back (compare-and-delete); once only, never rejects. */
  release(): Promise<void> {
    return (this.released ??= (async () => {
      clearInterval(this.renewal);
      this.lose();
      try {
        await RELEASE_LOCK_SCRIPT.run(this.client, [this.key], [this.owner]);
      } catch {
        releaseWhenRedisAnswers(this.client, this.key, this.owner, this.options.ttlMs);
      }
    })());
  }

  private checkAge(): void {
    if (performance.now() - this.confirmedAt > this.options.ttlMs * HELD_FRACTION) this.lose();
  }

  private lose(): void {
    if (!this.controller.signal.aborted) this.controller.abort(new Error(`lease ${this.key} lost`));
  }

  private renew(): void {
    this.checkAge();
    if (this.renewing || this.controller.signal.aborted) {
      if (this.controller.signal.aborted) clearInterval(this.renewal);
      return;
    }
    this.renewing = true;
    const sentAt = performance.now();
    const fence = this.options.fence;
    (fence && this.token !== undefined
      ? CHECK_FENCED_LOCK_SCRIPT.run(
          this.client,
          [this.key, fence.key],
          [this.owner, this.token, this.options.ttlMs],
        )
      : RENEW_LOCK_SCRIPT.run(this.client, [this.key], [this.owner, this.options.ttlMs])
    )
      .then(
        (renewed) => {
          // 0: the key expired or another owner holds it now.
          if (Number(renewed) === 1) this.confirmedAt = sentAt;
          else this.lose();
        },
        () => this.checkAge(),
      )
      .finally(() => {
        this.renewing = false;
      });
  }
}
