import type { LRUCache } from 'lru-cache';
import { UserReadCache, type MissFetcher, type ReadOutcome } from '../../../src/accounts/user-cache.js';
import type { SharedCacheStore } from '../../../src/shared-state/shared-state.js';

const user = (id: string, name = id) => ({ kind: 'user', user: { user_id: id, name } }) as const;

/** A fetcher whose answers the test releases, counting what it was asked. */
function controlledFetcher() {
  const asked: string[][] = [];
  const pending: (() => void)[] = [];
  const names = new Map<string, string>();
  const fetch: MissFetcher = (keys) => {
    asked.push(keys);
    return new Promise((resolve) => {
      pending.push(() =>
        resolve(new Map<string, ReadOutcome>(keys.map((k) => [k, user(k, names.get(k) ?? k)]))),
      );
    });
  };
  return { fetch, asked, names, release: () => pending.splice(0).forEach((go) => go()) };
}

describe('UserReadCache (one process, no Redis)', () => {
  it('shares one read among concurrent requests for one key', async () => {
    const cache = new UserReadCache({ ttlMs: 30_000, max: 100 });
    const f = controlledFetcher();
    const reads = [cache.getMany(['user:a'], f.fetch), cache.getMany(['user:a', 'user:b'], f.fetch)];
    f.release();
    await Promise.resolve();
    f.release();
    const [first, second] = await Promise.all(reads);
    expect(f.asked).toEqual([['user:a'], ['user:b']]);
    expect(first).toEqual([user('user:a')]);
    expect(second).toEqual([user('user:a'), user('user:b')]);
    // Then served from memory.
    expect(await cache.getMany(['user:a', 'user:b'], f.fetch)).toHaveLength(2);
    expect(f.asked).toHaveLength(2);
  });

  it('keeps at most USER_CACHE_MAX entries in memory, dropping the least recently used', async () => {
    const cache = new UserReadCache({ ttlMs: 30_000, max: 2 });
    const f = controlledFetcher();
    const read = async (key: string) => {
      const result = cache.getMany([key], f.fetch);
      f.release();
      return result;
    };
    await read('user:a');
    await read('user:b');
    await read('user:a'); // a is now the most recently used
    await read('user:c'); // evicts b
    expect(f.asked).toEqual([['user:a'], ['user:b'], ['user:c']]);
    await read('user:a');
    await read('user:b');
    expect(f.asked).toEqual([['user:a'], ['user:b'], ['user:c'], ['user:b']]);
  });

  it('does not keep what a read brought when the key was invalidated while it was under way', async () => {
    const cache = new UserReadCache({ ttlMs: 30_000, max: 100 });
    const f = controlledFetcher();
    const stale = cache.getMany(['user:a'], f.fetch);
    await cache.invalidateUsers(['a']);
    f.names.set('user:a', 'old');
    f.release();
    expect(await stale).toEqual([user('user:a', 'old')]);
    f.names.set('user:a', 'new');
    const fresh = cache.getMany(['user:a'], f.fetch);
    f.release();
    expect(await fresh).toEqual([user('user:a', 'new')]);
    expect(f.asked).toHaveLength(2);
  });

  it('does not keep a user a read brought besides those asked when it was invalidated meanwhile', async () => {
    const cache = new UserReadCache({ ttlMs: 30_000, max: 100 });
    let releaseAlias: () => void = () => undefined;
    // Asked for a linked-away secondary, the read also answers its primary (an alias's target).
    const aliasFetch: MissFetcher = (keys) =>
      new Promise((resolve) => {
        releaseAlias = () =>
          resolve(
            new Map<string, ReadOutcome>([
              [keys[0], { kind: 'alias', primaryId: 'p' }],
              ['user:p', user('user:p', 'old')],
            ]),
          );
      });
    const read = cache.getMany(['user:s'], aliasFetch);
    await cache.invalidateUsers(['p']);
    releaseAlias();
    await read;
    const f = controlledFetcher();
    f.names.set('user:p', 'new');
    const fresh = cache.getMany(['user:p'], f.fetch);
    f.release();
    expect(await fresh).toEqual([user('user:p', 'new')]);
    expect(f.asked).toEqual([['user:p']]);
  });

  it('drops invalidated users when no read is under way, and reads them again', async () => {
    const cache = new UserReadCache({ ttlMs: 30_000, max: 100 });
    const f = controlledFetcher();
    const first = cache.getMany(['user:a'], f.fetch);
    f.release();
    await first;
    await cache.invalidateUsers(['a']);
    f.names.set('user:a', 'new');
    const again = cache.getMany(['user:a'], f.fetch);
    f.release();
    expect(await again).toEqual([user('user:a', 'new')]);
    // Kept this time: the invalidation is not held against reads that start after it.
    expect(await cache.getMany(['user:a'], f.fetch)).toEqual([user('user:a', 'new')]);
    expect(f.asked).toHaveLength(2);
  });

  it('does not cache errors', async () => {
    const cache = new UserReadCache({ ttlMs: 30_000, max: 100 });
    let calls = 0;
    const failing: MissFetcher = async (keys) => {
      calls += 1;
      return new Map(keys.map((k) => [k, new Error('down')]));
    };
    expect((await cache.getMany(['user:a'], failing))[0]).toBeInstanceOf(Error);
    expect((await cache.getMany(['user:a'], failing))[0]).toBeInstanceOf(Error);
    expect(calls).toBe(2);
  });
});

/** Lets pending promise callbacks run (the stub store answers within a few microtasks). */
async function settle() {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

describe('UserReadCache over a shared layer (a stub store)', () => {
  /** A store that is always available, holds `held` and takes every fill and invalidation. */
  function stubStore(held: Map<string, unknown> = new Map()) {
    let hooks: Parameters<NonNullable<ConstructorParameters<typeof UserReadCache>[0]['createStore']>>[0];
    const store: SharedCacheStore = {
      isAvailable: () => true,
      getMany: async (keys) => keys.map((key) => (held.has(key) ? { value: held.get(key) } : {})),
      fill: async () => true,
      invalidate: async () => true,
      close: async () => undefined,
    };
    return {
      createStore: (given: typeof hooks) => {
        hooks = given;
        return store;
      },
      resubscribe: () => hooks.onResubscribed(),
    };
  }

  it('does not keep what a read begun before a resubscribe brings', async () => {
    const stub = stubStore();
    const cache = new UserReadCache({ ttlMs: 30_000, max: 100, createStore: stub.createStore });
    const f = controlledFetcher();
    const read = cache.getMany(['user:a'], f.fetch);
    // The Redis lookup comes first; the Auth0 read starts after it.
    await settle();
    expect(f.asked).toHaveLength(1);
    stub.resubscribe();
    f.release();
    await read;

    const again = cache.getMany(['user:a'], f.fetch);
    await settle();
    f.release();
    await again;
    expect(f.asked).toEqual([['user:a'], ['user:a']]);
  });

  it("keeps a Redis hit no longer than the TTL, whatever expiry another replica's clock wrote", async () => {
    const stub = stubStore(new Map([['user:a', { v: user('user:a'), exp: Date.now() + 3_600_000 }]]));
    const cache = new UserReadCache({ ttlMs: 1_000, max: 100, createStore: stub.createStore });
    const f = controlledFetcher();
    expect(await cache.getMany(['user:a'], f.fetch)).toEqual([user('user:a')]);
    const local = (cache as unknown as { local: LRUCache<string, object> }).local;
    expect(local.getRemainingTTL('user:a')).toBeGreaterThan(0);
    expect(local.getRemainingTTL('user:a')).toBeLessThanOrEqual(1_000);
  });
});
