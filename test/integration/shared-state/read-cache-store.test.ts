// The read cache's Redis layer against a real Redis (DESIGN §11): invalidations Redis did not take
// are replayed, a half-open listener is noticed, tombstones cannot be mistaken for values, and an
// older user never replaces a newer one.
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { createKeySpace } from '../../../src/shared-state/key-space.js';
import { openRedis, standaloneTarget } from '../../../src/shared-state/redis-connection.js';
import { UserReadCache, type MissFetcher, type ReadOutcome } from '../../../src/accounts/user-cache.js';
import { createLogger } from '../../../src/observability/logger.js';
import { createRedisCacheStore } from '../../../src/shared-state/redis-cache-store.js';
import type { SharedCacheStore } from '../../../src/shared-state/shared-state.js';
import { deriveTokenKeys, fingerprintToken, sealValue } from '../../../src/shared-state/token-crypto.js';
import { waitFor } from '../../support/gateway-process.js';
import { startRedisServer, type RedisServer } from '../../support/redis-server.js';
import { startTcpProxy, type TcpProxy } from '../../support/tcp-proxy.js';

const SECRET = 'read-cache-store-secret';
const user = (key: string, name: string, updatedAt?: string) =>
  ({
    kind: 'user',
    user: { user_id: key.slice('user:'.length), name, ...(updatedAt ? { updated_at: updatedAt } : {}) },
  }) as const;

let redis: RedisServer;
let inspector: Redis;
let prefix: string;
let n = 0;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  inspector = new Redis(redis.url);
});
afterAll(async () => {
  inspector.disconnect();
  await redis.stop();
});
beforeEach(() => {
  prefix = `rcs${++n}:`;
});
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

/** One replica's read cache over its own connections to `url`, as the gateway builds it. */
function openReplica(url: string, options: { pingIntervalMs?: number } = {}) {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 500,
    retryStrategy: () => 100,
    disconnectTimeout: 200,
  });
  client.on('error', () => undefined);
  const seen = { resubscribed: 0, memoryMisses: 0 };
  let store: SharedCacheStore | undefined;
  const cache = new UserReadCache({
    ttlMs: 60_000,
    max: 100,
    createStore: (hooks) =>
      (store = createRedisCacheStore({
        name: 'tenant',
        secret: SECRET,
        onInvalidate: hooks.onInvalidate,
        onResubscribed: () => {
          seen.resubscribed++;
          hooks.onResubscribed();
        },
        client,
        openListener: () =>
          openRedis(standaloneTarget(url), { offlineQueue: true, retryStrategy: () => 100 }),
        keys: createKeySpace(prefix, 't'),
        logger: createLogger({ level: 'silent' }),
        pingIntervalMs: options.pingIntervalMs,
      })),
    onLookup: (layer, result) => {
      if (layer === 'memory' && result === 'miss') seen.memoryMisses++;
    },
  });
  cleanups.push(async () => {
    await cache.close();
    client.disconnect();
  });
  return { cache, store: store!, seen };
}

/** Answers every key with the user named in `names`, recording the keys asked and those asked fresh. */
function tenant() {
  const names = new Map<string, string>();
  const asked: string[] = [];
  const askedFresh: string[] = [];
  const fetch: MissFetcher = async (keys, { fresh }) => {
    asked.push(...keys);
    askedFresh.push(...fresh);
    return new Map<string, ReadOutcome>(keys.map((k) => [k, user(k, names.get(k) ?? k)]));
  };
  return { names, asked, askedFresh, fetch };
}

const nameOf = (outcomes: ReadOutcome[]) => {
  const [outcome] = outcomes;
  return !(outcome instanceof Error) && outcome.kind === 'user' ? outcome.user.name : undefined;
};

describe('the read cache in Redis', () => {
  let proxy: TcpProxy;

  beforeEach(async () => {
    proxy = await startTcpProxy(redis.port);
    cleanups.push(() => proxy.close());
  });

  it('replays an invalidation Redis did not take once it answers again, so other replicas drop the user', async () => {
    const t = tenant();
    // A reaches Redis through a link the test can cut; B reaches it directly.
    const a = openReplica(`redis://127.0.0.1:${proxy.port}`);
    const b = openReplica(redis.url);
    await waitFor(
      async () => a.store.isAvailable() && b.store.isAvailable(),
      5000,
      'both replicas connected',
    );
    t.names.set('user:x', 'old');
    expect(nameOf(await b.cache.getMany(['user:x'], t.fetch))).toBe('old');
    expect(nameOf(await a.cache.getMany(['user:x'], t.fetch))).toBe('old');
    expect(t.asked).toEqual(['user:x']);

    proxy.cut();
    await waitFor(async () => !a.store.isAvailable(), 5000, 'A cut off from Redis');
    expect(await a.cache.invalidateUsers(['x'])).toBe(false);
    t.names.set('user:x', 'new');
    // B still reaches Redis and has heard nothing: it serves its copy.
    expect(nameOf(await b.cache.getMany(['user:x'], t.fetch))).toBe('old');

    proxy.restore();
    // Once A is back it replays the invalidation: B drops its copy and reads the user again, with a
    // GET (the key is tombstoned in Redis).
    await waitFor(
      async () => nameOf(await b.cache.getMany(['user:x'], t.fetch)) === 'new',
      5000,
      'B sees the change A could not share',
    );
    expect(t.askedFresh).toEqual(['user:x']);
  });

  it('takes a listener that misses a PONG for a lost one: it reconnects, subscribes again and drops its memory layer', async () => {
    const t = tenant();
    const c = openReplica(redis.url, { pingIntervalMs: 200 });
    await waitFor(async () => c.store.isAvailable(), 5000, 'connected');
    await c.cache.getMany(['user:y'], t.fetch);
    await c.cache.getMany(['user:y'], t.fetch);
    expect(c.seen.memoryMisses).toBe(1);

    // Redis stops answering every connection for 1.5 s, as a half-open one would: no FIN, no error.
    await inspector.call('CLIENT', 'PAUSE', '1500', 'ALL');
    await waitFor(async () => !c.store.isAvailable(), 1500, 'the missed PONG noticed');
    await waitFor(async () => c.seen.resubscribed === 1 && c.store.isAvailable(), 5000, 'subscribed again');
    await c.cache.getMany(['user:y'], t.fetch);
    expect(c.seen.memoryMisses).toBe(2);
  });

  it('reads a sealed value that starts with "-" as a value, not a tombstone', async () => {
    const c = openReplica(redis.url);
    await waitFor(async () => c.store.isAvailable(), 5000, 'connected');
    const keys = deriveTokenKeys(SECRET, 'user-cache|tenant');
    const name = `${prefix}t:user-cache:${keys.slotId}:{${fingerprintToken(keys, 'user:auth0|dash')}}`;
    const entry = { v: user('user:auth0|dash', 'dash'), exp: Date.now() + 60_000 };
    let sealed = sealValue(keys, entry, name);
    // One sealed value in 64 starts with "-" (the first 6 bits of its random IV).
    while (!sealed.startsWith('-')) sealed = sealValue(keys, entry, name);
    await inspector.set(name, sealed, 'PX', 60_000);

    const [stored] = await c.store.getMany(['user:auth0|dash']);
    expect(stored).toEqual({ value: entry });
  });

  it('never stores a user older than the one an invalidation replaced', async () => {
    const c = openReplica(redis.url);
    await waitFor(async () => c.store.isAvailable(), 5000, 'connected');
    const newer = Date.parse('2026-12-06T10:00:00.000Z');
    const older = newer - 60_000;
    const fill = (seen: object, version: number) =>
      c.store.fill(
        'user:auth0|v',
        { v: user('user:auth0|v', String(version)), exp: Date.now() + 60_000 },
        { ttlMs: 60_000, seen, readStartedAt: performance.now(), version },
      );
    expect(await fill({}, newer)).toBe(true);
    expect(await c.store.invalidate(['user:auth0|v'])).toBe(true);
    const [tombstoned] = await c.store.getMany(['user:auth0|v']);
    expect(tombstoned.tombstone).toMatch(/^!/);

    // A search's copy from before that version is refused; a read at least as new lands.
    expect(await fill(tombstoned, older)).toBe(false);
    expect(await fill(tombstoned, newer)).toBe(true);
  });
});
