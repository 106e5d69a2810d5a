import type { KeyValueCache } from '@apollo/utils.keyvaluecache';
import type { LinkRecordStore } from './link-records.js';
import type { UndoRecordStore } from './undo-records.js';
import type { PendingCheckStore } from './pending-checks.js';

export type { LinkRecord, LinkRecordStore, RecordedOperation } from './link-records.js';
export type { PendingCheck, PendingCheckStore } from './pending-checks.js';

// The seam between the gateway and whatever its replicas share (DESIGN §10): process memory when
// no Redis is configured, Redis (standalone, cluster or Sentinel) when one is. Callers never learn
// which, nor any Redis command.

/** A value that a memory store answers at once and a Redis store after a round trip. */
export type MaybePromise<T> = T | Promise<T>;

/** A token bucket's state as one answer saw it. */
export interface BucketSnapshot {
  /** Tokens left (fractional); meaningless while `ratePerSecond` is `null`. */
  tokens: number;
  /** Refill rate; `null` while no limit is known (every take succeeds). */
  ratePerSecond: number | null;
  /** Most tokens the bucket holds; `null` with `ratePerSecond`. */
  capacity: number | null;
  /** Milliseconds before the bucket grants again after a 429 (0 when not paused). */
  pausedForMs: number;
}

/** A change to a bucket; the parts present are applied in this order. */
export interface BucketChange {
  /** Configured or learned limit. */
  limit?: {
    ratePerSecond: number;
    capacity: number;
    /** Tokens to start with when the bucket had no limit yet; default `capacity`. */
    initialTokens?: number;
  };
  /** Grant nothing for this long and empty the bucket (Auth0 answered 429). */
  pauseMs?: number;
  /** Auth0's own count: the bucket keeps the lower of its count and this (not while paused). */
  remaining?: number;
}

/**
 * A token bucket that takes tokens atomically. It only counts: when to try, how long to wait and
 * what to learn is the caller's business (src/auth0/rate-budget.ts).
 */
export interface RateBucketStore {
  /** Takes up to `count` tokens (all of them while no limit is known, none while paused). */
  take(count: number): MaybePromise<{ taken: number; state: BucketSnapshot }>;
  adjust(change: BucketChange): MaybePromise<BucketSnapshot>;
}

export interface SharedToken {
  token: string;
  /** When to stop handing it out, in ms since the epoch. */
  refreshAt: number;
}

/**
 * Where the service token is kept for every replica. A memory slot keeps nothing (the token
 * provider's own cache is the process's copy) and lets every fetch through.
 */
export interface ServiceTokenSlot {
  /**
   * The stored token, when there is one this process can read and it is not due for refresh.
   * A slot that stores nothing answers `null` at once.
   */
  read(): Promise<SharedToken | null> | null;
  /**
   * Runs `fetch` in at most one replica at a time: the others wait for the token it stores and
   * return that instead. Falls back to calling `fetch` itself when coordination is impossible.
   */
  fetchOnce(fetch: () => Promise<SharedToken>): Promise<SharedToken>;
  /** Auth0 refused `token` (401): forget it for everyone, unless a newer one is stored already. */
  invalidate(token: string): Promise<void>;
}

/** Per-caller attempt limits (CALLER_RATE_LIMIT). */
export interface CallerLimiter {
  /** Counts one attempt of `key`; `retryAfterSeconds` when it is over the limit. */
  consume(key: string): Promise<{ allowed: true } | { allowed: false; retryAfterSeconds: number }>;
}

/** Gives a writer lock back; calling it more than once does nothing. Never rejects. */
export type ReleaseWriterLock = () => Promise<void>;

/**
 * A writer lock this caller holds: calling it gives the lock back. `signal` is aborted once the
 * lock may have been lost (its Redis lease lapsed: renewals failed or found another owner): the
 * holder must then make no further write as the key's only writer (review M1). `confirm()` asks
 * Redis itself, in one script, whether the lock is still this holder's with the newest fencing
 * token (a failover that lost the lock, a later holder): the check a writer makes before a write.
 * It resolves `!signal.aborted` when Redis does not answer, and never rejects.
 */
export type HeldWriterLock = ReleaseWriterLock & {
  readonly signal: AbortSignal;
  confirm(): Promise<boolean>;
};

/**
 * One writer at a time per key (a primary user id), across replicas when they share Redis
 * (DESIGN §8). Never throws: when Redis does not answer, the lock holds within this process only.
 */
export interface WriterLock {
  /** The key's lock once it is this caller's; `null` when others held it for all of `waitMs`. */
  acquire(key: string, waitMs: number): Promise<HeldWriterLock | null>;
  /** Releases every lock this process still holds (drain: the requests holding them were cut). */
  releaseAll(): Promise<void>;
}

/**
 * The read cache's shared layer (DESIGN §11): values by key, sealed in Redis, and invalidations
 * that every replica hears. Keys and values are the cache's business; the store only keeps them.
 */
export interface SharedCacheStore {
  /** Values and invalidations are shared right now (Redis answers and the listener is subscribed). */
  isAvailable(): boolean;
  /**
   * What Redis holds for each key: its `value` (absent when there is none, it is unreadable or
   * Redis did not answer), or the `tombstone` a recent invalidation left.
   */
  getMany(keys: string[]): Promise<StoredCacheEntry[]>;
  /**
   * Stores `value` if the key still holds what the read saw (nothing, or `tombstone`): never over
   * another replica's value or a newer invalidation, nor for a read that took too long. Resolves
   * whether it was stored. Never throws.
   */
  fill(key: string, value: unknown, fill: CacheFill): Promise<boolean>;
  /**
   * Removes `keys` (and the values filled depending on them) from Redis, stores `replacements`,
   * and tells every replica's listener, before it resolves. Resolves `false` when Redis did not
   * take it: the caller keeps it and tries again.
   */
  invalidate(keys: string[], replacements?: CacheReplacement[]): Promise<boolean>;
  close(): Promise<void>;
}

/** How one read's answer is stored in the shared layer. */
export interface CacheFill {
  ttlMs: number;
  /** What the key held when the read began. */
  seen: StoredCacheEntry;
  /** When the read began, `performance.now()` (a monotonic clock: a wall-clock step cannot let a slow read through). */
  readStartedAt: number;
  /** Auth0's `updated_at` of the value, ms: not stored over a tombstone that replaced a newer one. */
  version?: number;
  /**
   * Keys this value is derived from (an email's list: its users): not stored while one of them was
   * invalidated lately, and invalidated whenever one of them is.
   */
  dependsOn?: string[];
}

/** A value an invalidation stores instead of a tombstone, because the change itself tells it. */
export interface CacheReplacement {
  key: string;
  value: unknown;
  ttlMs: number;
}

/** One key of the read cache's shared layer as a read found it. */
export interface StoredCacheEntry {
  value?: unknown;
  tombstone?: string;
}

export interface SharedCacheOptions {
  /** Names the cache (tenant and client); with `secret` it keys the sealing and the key names. */
  name: string;
  secret: string;
  /**
   * Another replica invalidated these keys. Not called for this store's own invalidations: the
   * cache dropped those keys itself before it published them.
   */
  onInvalidate(keys: string[]): void;
  /** The listener was cut off and is back: invalidations may have been missed meanwhile. */
  onResubscribed(): void;
}

export interface SharedState {
  readonly kind: 'memory' | 'redis';
  /** Redis reachable now; always true in memory. */
  isAvailable(): boolean;
  /** The bucket called `name` (one per tenant). */
  bucket(name: string): RateBucketStore;
  /** The service token of one client; `secret` keys its encryption (HKDF). */
  serviceTokenSlot(options: { name: string; secret: string }): ServiceTokenSlot;
  callerLimiter(options: { name: string; count: number; windowSeconds: number }): CallerLimiter;
  /** The writer locks called `name` (one set per tenant). */
  writerLock(name: string): WriterLock;
  /** The read cache's shared layer; `undefined` in memory (each process keeps its own). */
  userCacheStore(options: SharedCacheOptions): SharedCacheStore | undefined;
  /** Apollo's automatic persisted queries cache; `undefined`: Apollo's own in-memory one. */
  apqCache(): KeyValueCache<string> | undefined;
  /** The records of applied links and unlinks (DESIGN §12, §15), each kept `ttlMs`. */
  linkRecords(options: { ttlMs: number }): LinkRecordStore;
  /** The undo records of DESIGN §15; `name` and `secret` key their sealing in Redis. */
  undoRecords(options: { name: string; secret: string }): UndoRecordStore;
  /** The reconciliation's pending checks (DESIGN §8). */
  pendingChecks(): PendingCheckStore;
  close(): Promise<void>;
}
