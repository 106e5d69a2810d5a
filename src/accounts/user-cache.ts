import { LRUCache } from 'lru-cache';
import type { WireUser } from '../auth0/wire.js';
import { performance } from 'node:perf_hooks';
import type {
  CacheReplacement,
  SharedCacheOptions,
  SharedCacheStore,
  StoredCacheEntry,
} from '../shared-state/shared-state.js';

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

/**
 * Reads the keys the cache could not answer. `fresh`: keys Redis reports as invalidated lately, to
 * be read with `GET /users/{id}` (immediately consistent), never from a search, whose index may
 * not show the change yet. Keys answered besides those asked are not cached.
 */
export type MissFetcher = (
  keys: string[],
  hints: { fresh: ReadonlySet<string> },
) => Promise<Map<string, ReadOutcome>>;

export const userKey = (id: string) => `user:${id}`;
export const emailKey = (email: string) => `email:${email}`;

// Without Redis, or while it is unreachable, other replicas' changes cannot be heard: a local
// entry is then trusted this long at most.
const LOCAL_ONLY_MAX_MS = 5_000;
// How long an id that is neither a user nor a linked identity is remembered.
const NEGATIVE_TTL_MS = 5_000;
// How long an invalidation is remembered against reads that started before it.
const INVALIDATION_MEMORY_MS = 120_000;
// How long a linked secondary's primary, known from the link itself, is kept: long enough for
// Auth0's search index to catch up (seconds), short because a later unlink's invalidation may
// have overtaken the link's.
const ALIAS_FROM_CHANGE_MS = 10_000;
// How often invalidations Redis did not take are offered to it again.
const REPLAY_RETRY_MS = 500;

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
  /** `performance.now()` when kept. */
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
  /**
   * Keys of the local lists of ids (an email's users), so an invalidation looks at those alone:
   * a pass over every local entry cost each link time in proportion to the cache's size.
   */
  private readonly listKeys = new Set<string>();
  private readonly inFlight = new Map<string, Promise<ReadOutcome>>();
  /** Key → the sequence number of its last invalidation, so reads that started before it are not stored. */
  private readonly invalidated: LRUCache<string, number>;
  private sequence = 0;
  /** Loads begun before this sequence may predate invalidations the listener missed: not kept. */
  private resubscribedAt = 0;
  /** Reads of Auth0 or Redis (`load`) not finished yet. */
  private loadsUnderWay = 0;
  /** Invalidations Redis did not take: replayed before this process serves from Redis again. */
  private readonly pending = new Set<string>();
  private replaying?: Promise<boolean>;
  private replayTimer?: NodeJS.Timeout;
  private readonly store?: SharedCacheStore;
  private readonly onLookup: NonNullable<UserReadCacheOptions['onLookup']>;

  constructor(options: UserReadCacheOptions) {
    this.ttlMs = options.ttlMs;
    this.local = new LRUCache<string, LocalEntry>({
      max: options.max,
      ttl: options.ttlMs,
      dispose: (entry, key) => {
        if (entry.value.kind === 'ids') this.listKeys.delete(key);
      },
    });
    this.invalidated = new LRUCache<string, number>({ max: options.max, ttl: INVALIDATION_MEMORY_MS });
    this.onLookup = options.onLookup ?? (() => undefined);
    this.store = options.createStore?.({
      onInvalidate: (keys) => this.forget(keys),
      // Invalidations sent while the listener was away are lost: nothing local is trusted, nor
      // what a read begun before now brings; and what this process could not share is shared now.
      onResubscribed: () => {
        this.resubscribedAt = ++this.sequence;
        this.local.clear();
        this.listKeys.clear();
        void this.replayPending();
      },
    });
  }

  /**
   * The cached read of each key; the misses (after memory, then Redis) go to `fetch` in one call,
   * and keys another request is already reading wait for that read instead.
   */
  async getMany(keys: readonly string[], fetch: MissFetcher): Promise<ReadOutcome[]> {
    const now = performance.now();
    const trustLocal = this.shared();
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
   * Drops the users `ids`, and the email lists that name them or that `known.emails` points to,
   * from this process and, through Redis, from every replica, before it resolves; stores
   * `known.aliases` (linked secondary id → primary id, as the change itself told them). Resolves
   * `false` when Redis did not take it: it is then kept and replayed before this process reads
   * Redis again (other replicas keep their copies until then). Never throws.
   */
  async invalidateUsers(
    ids: readonly string[],
    known: { aliases?: ReadonlyMap<string, string>; emails?: readonly string[] } = {},
  ): Promise<boolean> {
    const keys = new Set<string>();
    const emails = new Set<string>(known.emails ?? []);
    for (const id of ids) {
      const key = userKey(id);
      keys.add(key);
      const cached = this.local.peek(key)?.value;
      if (cached?.kind === 'user' && typeof cached.user.email === 'string') emails.add(cached.user.email);
    }
    for (const email of emails) if (email !== '') keys.add(emailKey(email.toLowerCase()));
    // This process's own lists that name one of the users (Redis finds other replicas' lists).
    const userKeys = new Set(ids.map(userKey));
    for (const key of this.listKeys) {
      const entry = this.local.peek(key);
      if (entry?.value.kind !== 'ids') this.listKeys.delete(key);
      else if (entry.value.ids.some((id) => userKeys.has(userKey(id)))) keys.add(key);
    }
    const list = [...keys];
    this.forget(list);
    const replacements: CacheReplacement[] = [];
    for (const [secondaryId, primaryId] of known.aliases ?? []) {
      const value: CachedRead = { kind: 'alias', primaryId };
      const ttlMs = Math.min(this.ttlMs, ALIAS_FROM_CHANGE_MS);
      replacements.push({ key: userKey(secondaryId), value: { v: value, exp: Date.now() + ttlMs }, ttlMs });
    }
    if (!this.store) {
      for (const r of replacements)
        this.keepLocally(r.key, (r.value as StoredEntry).v, r.ttlMs, this.sequence);
      return true;
    }
    await this.replayPending();
    const taken = this.pending.size === 0 && (await this.store.invalidate(list, replacements));
    if (!taken) {
      // The aliases are not kept: by the time this is replayed they may be out of date.
      for (const key of list) this.pending.add(key);
      this.retryReplaySoon();
      return false;
    }
    for (const r of replacements) this.keepLocally(r.key, (r.value as StoredEntry).v, r.ttlMs, this.sequence);
    return true;
  }

  async close(): Promise<void> {
    clearTimeout(this.replayTimer);
    this.replayTimer = undefined;
    await this.store?.close();
  }

  /** Redis shares values and invalidations now, and holds every invalidation this process made. */
  private shared(): boolean {
    return (this.store?.isAvailable() ?? false) && this.pending.size === 0;
  }

  /**
   * Sends the invalidations Redis did not take; resolves whether none is left. One replay at a
   * time; while some are left, tried again every {@link REPLAY_RETRY_MS}, so other replicas hear
   * them soon after Redis is back even when this process reads nothing.
   */
  private replayPending(): Promise<boolean> {
    if (this.pending.size === 0) return Promise.resolve(true);
    const replay = async () => {
      const keys = [...this.pending];
      if (!this.store?.isAvailable() || !(await this.store.invalidate(keys))) return false;
      for (const key of keys) this.pending.delete(key);
      return this.pending.size === 0;
    };
    // `finally` runs after this assignment even when `replay` settles at once.
    this.replaying ??= replay().finally(() => {
      this.replaying = undefined;
      this.retryReplaySoon();
    });
    return this.replaying;
  }

  private retryReplaySoon(): void {
    if (this.pending.size === 0 || this.replayTimer) return;
    this.replayTimer = setTimeout(() => {
      this.replayTimer = undefined;
      void this.replayPending();
    }, REPLAY_RETRY_MS);
    this.replayTimer.unref();
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
    const startedAt = performance.now();
    this.loadsUnderWay++;
    const flight = (async () => {
      try {
        const outcomes = new Map<string, ReadOutcome>();
        // What Redis held for each key when this read began; no Redis fill without it.
        const seen = new Map<string, StoredCacheEntry>();
        const fresh = new Set<string>();
        let remaining = keys;
        // Invalidations Redis did not take go first: until they are in, Redis may hold what they drop.
        if (this.pending.size > 0) await this.replayPending();
        const store = this.shared() ? this.store : undefined;
        if (store) {
          const stored = await store.getMany(keys);
          const nowMs = Date.now();
          remaining = [];
          keys.forEach((key, i) => {
            const entry = fromStore(stored[i].value, nowMs);
            if (!entry) {
              this.onLookup('redis', 'miss');
              seen.set(key, stored[i].tombstone === undefined ? {} : { tombstone: stored[i].tombstone });
              if (stored[i].tombstone !== undefined) fresh.add(key);
              remaining.push(key);
              return;
            }
            this.onLookup('redis', 'hit');
            outcomes.set(key, entry.v);
            // `exp` was set by another replica's clock: never kept here longer than the TTL.
            this.keepLocally(key, entry.v, Math.min(entry.exp - nowMs, this.ttlMs), startedSequence);
          });
        }
        if (remaining.length === 0) return outcomes;
        let fetched: Map<string, ReadOutcome>;
        try {
          fetched = await fetch(remaining, { fresh });
        } catch (error) {
          for (const key of remaining) outcomes.set(key, error as Error);
          return outcomes;
        }
        const fills: Promise<void>[] = [];
        for (const key of remaining) {
          const outcome = fetched.get(key) ?? new Error(`read cache: no answer for ${key}`);
          outcomes.set(key, outcome);
          if (outcome instanceof Error) continue;
          const fill = this.remember(key, outcome, startedSequence, startedAt, seen.get(key));
          if (fill) fills.push(fill);
        }
        // The answer waits for its Redis fills (which never reject): a read through another replica
        // right after this one is then served from Redis, not from Auth0 again.
        await Promise.all(fills);
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
    if (!this.mayKeep(key, value, startedSequence)) return undefined;
    // A key invalidated lately was read with a GET, but an id that is no user then was looked up
    // by a search, which may not show the change yet: the tombstone stays, and this process keeps
    // the answer briefly.
    if (seen?.tombstone !== undefined && (value.kind === 'alias' || value.kind === 'none')) {
      this.keepLocally(key, value, Math.min(ttlMs, NEGATIVE_TTL_MS), startedSequence);
      return undefined;
    }
    const dependsOn = value.kind === 'ids' ? value.ids.map(userKey) : undefined;
    if (!seen || !this.store) {
      this.keepLocally(key, value, ttlMs, startedSequence);
      return undefined;
    }
    // An email's list comes from a search: Redis refuses it while one of its users changed lately
    // (the index may not show that change yet). It is kept here only if Redis kept it.
    if (!dependsOn) this.keepLocally(key, value, ttlMs, startedSequence);
    const stored: StoredEntry = { v: value, exp: Date.now() + ttlMs };
    return this.store
      .fill(key, stored, { ttlMs, seen, readStartedAt: startedAt, version: versionOf(value), dependsOn })
      .then((kept) => {
        if (kept && dependsOn) this.keepLocally(key, value, ttlMs, startedSequence);
      });
  }

  /** Neither the key nor (for an email's list) one of its users was invalidated since the read began. */
  private mayKeep(key: string, value: CachedRead, startedSequence: number): boolean {
    if (startedSequence < this.resubscribedAt) return false;
    const dependencies = value.kind === 'ids' ? value.ids.map(userKey) : [];
    return [key, ...dependencies].every((k) => (this.invalidated.get(k) ?? -1) <= startedSequence);
  }

  private keepLocally(key: string, value: CachedRead, ttlMs: number, startedSequence: number): boolean {
    if (!this.mayKeep(key, value, startedSequence)) return false;
    // An older copy of a user never replaces a newer one.
    const held = this.local.peek(key)?.value;
    const heldVersion = held ? versionOf(held) : undefined;
    const version = versionOf(value);
    if (heldVersion !== undefined && version !== undefined && version < heldVersion) return false;
    const ttl = Math.floor(this.shared() ? ttlMs : Math.min(ttlMs, LOCAL_ONLY_MAX_MS));
    if (ttl <= 0) return false;
    this.local.set(key, { value, storedAt: performance.now() }, { ttl });
    if (value.kind === 'ids') this.listKeys.add(key);
    return true;
  }
}

/** Auth0's `updated_at` of a user, ms since the epoch; undefined for anything else. */
function versionOf(value: CachedRead): number | undefined {
  if (value.kind !== 'user' || typeof value.user.updated_at !== 'string') return undefined;
  const ms = Date.parse(value.user.updated_at);
  return Number.isNaN(ms) ? undefined : ms;
}
