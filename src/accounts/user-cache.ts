import { LRUCache } from 'lru-cache';
import type { WireUser } from '../auth0/wire.js';
import type { SharedCacheOptions, SharedCacheStore, StoredCacheEntry } from '../shared-state/shared-state.js';

/** What one cache key holds (DESIGN §11). */
export type CachedRead =
  /** A user as Auth0 answered it (provider tokens already removed by the wire parser). */
  | { kind: 'user'; user: WireUser }
  /** The id is a secondary identity of `primaryId` now (Auth0 answers 404 for it). */
  | { kind: 'alias'; primaryId: string }
  /** Neither a user nor a linked identity. */
  | { kind: 'none' }
  /** The users Auth0 lists for one email (linkCandidates), by id. */
  | { kind: 'ids'; ids: string[] };

/** A read's outcome per key: what the cache holds, or why Auth0 could not say (not cached). */
export type ReadOutcome = CachedRead | Error;

/** Reads the keys the cache could not answer; may answer more keys than asked (they are cached too). */
export type MissFetcher = (keys: string[]) => Promise<Map<string, ReadOutcome>>;

export const userKey = (id: string) => `user:${id}`;
export const emailKey = (email: string) => `email:${email}`;

// Without Redis, or while it is unreachable, other replicas' changes cannot be heard: a local
// entry is then trusted this long at most.
const LOCAL_ONLY_MAX_MS = 5_000;
// How long an id that is neither a user nor a linked identity is remembered.
const NEGATIVE_TTL_MS = 5_000;
// How long an invalidation is remembered against reads that started before it.
const INVALIDATION_MEMORY_MS = 120_000;

export interface UserReadCacheOptions {
  /** USER_CACHE_TTL_MS: how long a read may be served (> 0). */
  ttlMs: number;
  /** USER_CACHE_MAX: entries kept in this process. */
  max: number;
  /** The shared layer (Redis), given the hooks that keep this process's layer in step with it. */
  createStore?: (
    hooks: Pick<SharedCacheOptions, 'onInvalidate' | 'onResubscribed'>,
  ) => SharedCacheStore | undefined;
  /** Told every lookup: which layer answered, or missed. */
  onLookup?: (layer: 'memory' | 'redis', result: 'hit' | 'miss') => void;
}

interface LocalEntry {
  value: CachedRead;
  storedAt: number;
}

interface StoredEntry {
  v: CachedRead;
  /** When it stops being served, ms since the epoch. */
  exp: number;
}

function isCachedRead(value: unknown): value is CachedRead {
  if (!value || typeof value !== 'object') return false;
  const read = value as Record<string, unknown>;
  switch (read.kind) {
    case 'user':
      return !!read.user && typeof (read.user as WireUser).user_id === 'string';
    case 'alias':
      return typeof read.primaryId === 'string';
    case 'none':
      return true;
    case 'ids':
      return Array.isArray(read.ids) && read.ids.every((id) => typeof id === 'string');
    default:
      return false;
  }
}

function fromStore(value: unknown, now: number): StoredEntry | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const entry = value as Partial<StoredEntry>;
  if (typeof entry.exp !== 'number' || entry.exp <= now || !isCachedRead(entry.v)) return undefined;
  return entry as StoredEntry;
}

/**
 * The read cache of one process (DESIGN §11): an LRU in memory in front of Redis when there is
 * one, one Auth0 read per key however many requests ask at once, and invalidations that reach
 * every replica before a mutation answers. Never used for authorization or policy reads, the
 * merge's reads or read-backs: those call Auth0 directly.
 */
export class UserReadCache {
  private readonly ttlMs: number;
  private readonly local: LRUCache<string, LocalEntry>;
  private readonly inFlight = new Map<string, Promise<ReadOutcome>>();
  /** Key → the sequence number of its last invalidation, so reads that started before it are not stored. */
  private readonly invalidated: LRUCache<string, number>;
  private sequence = 0;
  /** Reads of Auth0 or Redis (`load`) not finished yet. */
  private loadsUnderWay = 0;
  private readonly store?: SharedCacheStore;
  private readonly onLookup: NonNullable<UserReadCacheOptions['onLookup']>;

  constructor(options: UserReadCacheOptions) {
    this.ttlMs = options.ttlMs;
    this.local = new LRUCache<string, LocalEntry>({ max: options.max, ttl: options.ttlMs });
    this.invalidated = new LRUCache<string, number>({ max: options.max, ttl: INVALIDATION_MEMORY_MS });
    this.onLookup = options.onLookup ?? (() => undefined);
    this.store = options.createStore?.({
      onInvalidate: (keys) => this.forget(keys),
      // Invalidations sent while the listener was away are lost: nothing local is trusted.
      onResubscribed: () => this.local.clear(),
    });
  }

  /**
   * The cached read of each key; the misses (after memory, then Redis) go to `fetch` in one call,
   * and keys another request is already reading wait for that read instead.
   */
  async getMany(keys: readonly string[], fetch: MissFetcher): Promise<ReadOutcome[]> {
    const now = Date.now();
    const trustLocal = this.store?.isAvailable() ?? false;
    const results: ReadOutcome[] = new Array<ReadOutcome>(keys.length);
    const waits: Promise<void>[] = [];
    const missing = new Map<string, number[]>();
    keys.forEach((key, i) => {
      const entry = this.local.get(key);
      if (entry && (trustLocal || now - entry.storedAt <= LOCAL_ONLY_MAX_MS)) {
        this.onLookup('memory', 'hit');
        results[i] = entry.value;
        return;
      }
      const flight = this.inFlight.get(key);
      if (flight) {
        // Another request's read of this key is on its way: the same answer, no second call.
        this.onLookup('memory', 'hit');
        waits.push(flight.then((outcome) => void (results[i] = outcome)));
        return;
      }
      const seen = missing.get(key);
      if (seen) seen.push(i);
      else {
        this.onLookup('memory', 'miss');
        missing.set(key, [i]);
      }
    });
    if (missing.size > 0) {
      waits.push(
        this.load([...missing.keys()], fetch).then((outcomes) => {
          for (const [key, indices] of missing) for (const i of indices) results[i] = outcomes.get(key)!;
        }),
      );
    }
    await Promise.all(waits);
    return results;
  }

  /**
   * Drops the users `ids` (and the email lists they were seen in) from this process and, through
   * Redis, from every replica, before it resolves. Never throws: without Redis other replicas
   * keep their copies at most 5 s.
   */
  async invalidateUsers(ids: readonly string[]): Promise<void> {
    const keys = new Set<string>();
    for (const id of ids) {
      const key = userKey(id);
      keys.add(key);
      const cached = this.local.peek(key)?.value;
      const email = cached?.kind === 'user' ? cached.user.email : undefined;
      if (typeof email === 'string' && email !== '') {
        keys.add(emailKey(email));
        keys.add(emailKey(email.toLowerCase()));
      }
    }
    const list = [...keys];
    this.forget(list);
    await this.store?.invalidate(list);
  }

  async close(): Promise<void> {
    await this.store?.close();
  }

  private forget(keys: readonly string[]): void {
    const sequence = ++this.sequence;
    // Only a read already under way can have started before this invalidation: with none, there is
    // nothing to remember (a later read starts at this sequence or after it).
    const reading = this.loadsUnderWay > 0;
    for (const key of keys) {
      if (reading) this.invalidated.set(key, sequence);
      this.local.delete(key);
      this.inFlight.delete(key);
    }
  }

  private load(keys: string[], fetch: MissFetcher): Promise<Map<string, ReadOutcome>> {
    const startedSequence = this.sequence;
    const startedAt = Date.now();
    this.loadsUnderWay++;
    const flight = (async () => {
      try {
        const outcomes = new Map<string, ReadOutcome>();
        // What Redis held for each key when this read began; no Redis fill without it.
        const seen = new Map<string, StoredCacheEntry>();
        let remaining = keys;
        const store = this.store?.isAvailable() ? this.store : undefined;
        const shared = store !== undefined;
        if (store) {
          const stored = await store.getMany(keys);
          const now = Date.now();
          remaining = [];
          keys.forEach((key, i) => {
            const entry = fromStore(stored[i].value, now);
            if (!entry) {
              this.onLookup('redis', 'miss');
              seen.set(key, stored[i].tombstone === undefined ? {} : { tombstone: stored[i].tombstone });
              remaining.push(key);
              return;
            }
            this.onLookup('redis', 'hit');
            outcomes.set(key, entry.v);
            this.keepLocally(key, entry.v, entry.exp - now, startedSequence);
          });
        }
        if (remaining.length === 0) return outcomes;
        let fetched: Map<string, ReadOutcome>;
        try {
          fetched = await fetch(remaining);
        } catch (error) {
          for (const key of remaining) outcomes.set(key, error as Error);
          return outcomes;
        }
        const fills: Promise<void>[] = [];
        for (const [key, outcome] of fetched) {
          if (outcome instanceof Error) continue;
          // Keys the fetch answered besides those asked (an alias's primary) were not looked up:
          // they go to Redis only where it holds nothing.
          const found = seen.get(key) ?? (shared && !keys.includes(key) ? {} : undefined);
          const fill = this.remember(key, outcome, startedSequence, startedAt, found);
          if (fill) fills.push(fill);
        }
        // The answer waits for its Redis fills (which never reject): a read through another replica
        // right after this one is then served from Redis, not from Auth0 again.
        await Promise.all(fills);
        for (const key of remaining) {
          outcomes.set(key, fetched.get(key) ?? new Error(`read cache: no answer for ${key}`));
        }
        return outcomes;
      } finally {
        this.loadsUnderWay--;
      }
    })();
    for (const key of keys) {
      const outcome = flight.then((outcomes) => outcomes.get(key)!);
      this.inFlight.set(key, outcome);
      void outcome.finally(() => {
        if (this.inFlight.get(key) === outcome) this.inFlight.delete(key);
      });
    }
    return flight;
  }

  private ttlOf(value: CachedRead): number {
    return value.kind === 'none' ? Math.min(NEGATIVE_TTL_MS, this.ttlMs) : this.ttlMs;
  }

  /**
   * Keeps what Auth0 answered, here and in Redis (when the read looked there first: `seen`), unless
   * the key was invalidated since the read began. Resolves once the Redis fill is done, if any.
   */
  private remember(
    key: string,
    value: CachedRead,
    startedSequence: number,
    startedAt: number,
    seen: StoredCacheEntry | undefined,
  ): Promise<void> | undefined {
    const ttlMs = this.ttlOf(value);
    if (!this.keepLocally(key, value, ttlMs, startedSequence) || !seen) return undefined;
    const stored: StoredEntry = { v: value, exp: Date.now() + ttlMs };
    return this.store?.fill(key, stored, ttlMs, seen, startedAt);
  }

  private keepLocally(key: string, value: CachedRead, ttlMs: number, startedSequence: number): boolean {
    if ((this.invalidated.get(key) ?? -1) > startedSequence) return false;
    const shared = this.store?.isAvailable() ?? false;
    const ttl = Math.floor(shared ? ttlMs : Math.min(ttlMs, LOCAL_ONLY_MAX_MS));
    if (ttl <= 0) return false;
    this.local.set(key, { value, storedAt: Date.now() }, { ttl });
    return true;
  }
}
