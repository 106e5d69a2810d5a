import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { createLogger } from '../../../src/observability/logger.js';
import { MemoryBucket } from '../../../src/shared-state/memory.js';
import { createRedisSharedState } from '../../../src/shared-state/redis.js';
import type { SharedState, SharedToken } from '../../../src/shared-state/shared-state.js';
import { deriveTokenKeys, openToken } from '../../../src/shared-state/token-crypto.js';
import { waitFor } from '../../support/gateway-process.js';
import { freePort, startRedisServer, type RedisServer } from '../../support/redis-server.js';

function logSink() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      callback();
    },
  });
  return { lines, logger: createLogger({ level: 'info', destination }) };
}

describe('shared state in a real Redis (DESIGN §10)', () => {
  let redis: RedisServer;
  let inspector: Redis;
  const opened: SharedState[] = [];
  let prefix: string;
  let n = 0;

  beforeAll(async () => {
    redis = await startRedisServer();
    inspector = new Redis(redis.url);
  });
  afterAll(async () => {
    inspector.disconnect();
    await redis.stop();
  });
  beforeEach(() => {
    prefix = `test${++n}:`;
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
  });

  async function open(url = redis.url, logger = logSink().logger): Promise<SharedState> {
    const state = await createRedisSharedState({ target: url, keyPrefix: prefix, logger, tokenLockMs: 5000 });
    opened.push(state);
    return state;
  }

  it('takes tokens from one bucket atomically across replicas', async () => {
    const [a, b, c] = await Promise.all([open(), open(), open()]);
    const buckets = [a, b, c].map((s) => s.bucket('tenant'));
    await buckets[0].adjust({ limit: { ratePerSecond: 0.001, capacity: 7 } });

    const takes = await Promise.all(buckets.flatMap((bucket) => [bucket.take(2), bucket.take(2)]));

    expect(takes.reduce((sum, t) => sum + t.taken, 0)).toBe(7);
    expect(takes.every((t) => t.state.ratePerSecond === 0.001 && t.state.capacity === 7)).toBe(true);
    expect(await inspector.exists(`${prefix}{t}:auth0-budget:tenant`)).toBe(1);
  });

  it('starts a fresh bucket from the count Auth0 gave with its first limit, as the memory bucket does', async () => {
    const shared = (await open()).bucket('fresh');
    const memory = new MemoryBucket();
    const change = { limit: { ratePerSecond: 0.001, capacity: 9, initialTokens: 4 } };
    const [redisState, memoryState] = [await shared.adjust(change), memory.adjust(change)];
    expect(Math.floor(redisState.tokens)).toBe(4);
    expect(Math.floor(memoryState.tokens)).toBe(4);
    expect((await shared.take(9)).taken).toBe(4);
  });

  it('pauses the bucket for every replica after a 429, and keeps Auth0’s lower count', async () => {
    const [a, b] = await Promise.all([open(), open()]);
    await a.bucket('t').adjust({ limit: { ratePerSecond: 0.001, capacity: 10 } });
    const corrected = await b.bucket('t').adjust({ remaining: 3 });
    expect(Math.floor(corrected.tokens)).toBe(3);

    const paused = await a.bucket('t').adjust({ pauseMs: 60_000 });
    expect(paused.pausedForMs).toBeGreaterThan(59_000);
    const take = await b.bucket('t').take(1);
    expect(take.taken).toBe(0);
    expect(take.state.pausedForMs).toBeGreaterThan(59_000);
  });

  it('lets one replica fetch the service token while the others wait for it', async () => {
    const states = await Promise.all([open(), open(), open()]);
    const slots = states.map((s) => s.serviceTokenSlot({ name: 'client|aud', secret: 'the-secret' }));
    let fetches = 0;
    let finish!: (token: SharedToken) => void;
    const fetched = new Promise<SharedToken>((resolve) => (finish = resolve));
    const fetch = () => {
      fetches += 1;
      return fetched;
    };

    const results = Promise.all(slots.map((slot) => slot.fetchOnce(fetch)));
    // The others are polling by now or will find the token stored; let the holder finish.
    finish({ token: 'management-api-token-value', refreshAt: Date.now() + 60_000 });

    expect((await results).map((t) => t.token)).toEqual([
      'management-api-token-value',
      'management-api-token-value',
      'management-api-token-value',
    ]);
    expect(fetches).toBe(1);
    expect((await slots[2].read())?.token).toBe('management-api-token-value');
  });

  it('fetches under a lease that expires by itself and is gone once the token is stored', async () => {
    const slot = (await open()).serviceTokenSlot({ name: 'client|aud', secret: 'the-secret' });
    let finish!: (token: SharedToken) => void;
    const fetching = slot.fetchOnce(() => new Promise<SharedToken>((resolve) => (finish = resolve)));
    await waitFor(async () => finish !== undefined, 5000, 'the fetch started');

    const [lockKey] = await inspector.keys(`${prefix}{t}:service-token-lock:*`);
    expect(lockKey).toBeDefined();
    const ttlMs = await inspector.pttl(lockKey);
    expect(ttlMs).toBeGreaterThan(0);
    expect(ttlMs).toBeLessThanOrEqual(5000);

    finish({ token: 'fetched-token', refreshAt: Date.now() + 60_000 });
    expect((await fetching).token).toBe('fetched-token');
    expect(await inspector.exists(lockKey)).toBe(0);
  });

  it('stores the token sealed: the value does not contain it and another secret cannot open it', async () => {
    const state = await open();
    const slot = state.serviceTokenSlot({ name: 'client|aud', secret: 'secret-one' });
    await slot.fetchOnce(async () => ({
      token: 'eyJhbGciOiJSUzI1NiJ9.plain-token',
      refreshAt: Date.now() + 60_000,
    }));

    const keys = await inspector.keys(`${prefix}{t}:service-token:*`);
    expect(keys).toHaveLength(1);
    const stored = (await inspector.get(keys[0])) as string;
    expect(stored).not.toContain('plain-token');
    expect(stored).not.toContain(Buffer.from('plain-token').toString('base64'));
    expect(openToken(deriveTokenKeys('secret-one', 'client|aud'), stored, keys[0])?.token).toBe(
      'eyJhbGciOiJSUzI1NiJ9.plain-token',
    );
    expect(openToken(deriveTokenKeys('secret-two', 'client|aud'), stored, keys[0])).toBeNull();

    // A replica with another secret looks in another slot and finds nothing to read.
    const other = (await open()).serviceTokenSlot({ name: 'client|aud', secret: 'secret-two' });
    expect(await other.read()).toBeNull();
  });

  it('forgets the token for everyone when it failed, but not a newer one', async () => {
    const [a, b] = await Promise.all([open(), open()]);
    const slotA = a.serviceTokenSlot({ name: 'c', secret: 's' });
    const slotB = b.serviceTokenSlot({ name: 'c', secret: 's' });
    await slotA.fetchOnce(async () => ({ token: 'new-token', refreshAt: Date.now() + 60_000 }));

    await slotB.invalidate('old-token');
    expect((await slotA.read())?.token).toBe('new-token');
    await slotB.invalidate('new-token');
    expect(await slotA.read()).toBeNull();
  });

  it('counts caller attempts across replicas', async () => {
    const [a, b] = await Promise.all([open(), open()]);
    const limit = { name: 'link', count: 3, windowSeconds: 60 };
    const [la, lb] = [a.callerLimiter(limit), b.callerLimiter(limit)];
    const outcomes = [
      await la.consume('u1'),
      await lb.consume('u1'),
      await la.consume('u1'),
      await lb.consume('u1'),
    ];
    expect(outcomes.map((o) => o.allowed)).toEqual([true, true, true, false]);
    expect(outcomes[3]).toMatchObject({ allowed: false, retryAfterSeconds: expect.any(Number) });
    expect((await lb.consume('u2')).allowed).toBe(true);
  });

  it('gives each of N replicas 1/N of the rate and burst while Redis is down', async () => {
    // A Redis of its own: this test stops it.
    const own = await startRedisServer();
    try {
      const states = await Promise.all([open(own.url), open(own.url), open(own.url)]);
      const buckets = states.map((s) => s.bucket('tenant'));
      // Each replica is configured with the tenant's limit (AUTH0_RATE_LIMIT=30/9).
      for (const bucket of buckets) await bucket.adjust({ limit: { ratePerSecond: 30, capacity: 9 } });
      // Each replica counts the others at its heartbeat: wait until each has beaten with all three there.
      const ownInspector = new Redis(own.url);
      try {
        let allThereAt = Infinity;
        await waitFor(
          async () => {
            const beats = await ownInspector.zrange(`${prefix}{t}:replicas`, 0, -1, 'WITHSCORES');
            const scores = beats.filter((_, i) => i % 2 === 1).map(Number);
            if (scores.length === 3 && allThereAt === Infinity) allThereAt = Math.max(...scores);
            return scores.length === 3 && scores.every((score) => score > allThereAt);
          },
          10_000,
          'every replica counted three',
        );
      } finally {
        ownInspector.disconnect();
      }
      for (const bucket of buckets) await bucket.take(1);

      await own.stop();
      await waitFor(async () => states.every((s) => !s.isAvailable()), 10_000, 'replicas see Redis down');
      for (const bucket of buckets) {
        const { taken, state } = await bucket.take(100);
        expect(state).toMatchObject({ ratePerSecond: 10, capacity: 3 });
        expect(taken).toBeLessThanOrEqual(3);
      }
    } finally {
      await own.stop();
    }
  });

  it("tells a replica's read cache of another replica's invalidations, not of its own", async () => {
    const heard: Record<'a' | 'b', string[][]> = { a: [], b: [] };
    const [a, b] = await Promise.all([open(), open()]);
    const store = (state: SharedState, name: 'a' | 'b') =>
      state.userCacheStore({
        name: 'tenant',
        secret: 'cache-secret',
        onInvalidate: (keys) => heard[name].push(keys),
        onResubscribed: () => undefined,
      })!;
    const storeA = store(a, 'a');
    const storeB = store(b, 'b');
    await waitFor(async () => storeA.isAvailable() && storeB.isAvailable(), 5000, 'listeners subscribed');

    await storeA.invalidate(['user:auth0|one']);
    await storeB.invalidate(['user:auth0|two']);
    await waitFor(async () => heard.a.length + heard.b.length >= 2, 5000, 'invalidations heard');
    // Messages arrive in order on each connection: a third one proves the echoes were not just late.
    await storeB.invalidate(['user:auth0|three']);
    await waitFor(async () => heard.a.length >= 2, 5000, 'third invalidation heard');

    expect(heard.a).toEqual([['user:auth0|two'], ['user:auth0|three']]);
    expect(heard.b).toEqual([['user:auth0|one']]);
  });

  it('goes on in memory when Redis cannot be reached, with one warning', async () => {
    const port = await freePort();
    const { lines, logger } = logSink();
    const state = await open(`redis://127.0.0.1:${port}`, logger);

    expect(state.isAvailable()).toBe(false);
    const bucket = state.bucket('t');
    await bucket.adjust({ limit: { ratePerSecond: 1, capacity: 2 } });
    expect((await bucket.take(5)).taken).toBe(2);
    const slot = state.serviceTokenSlot({ name: 'c', secret: 's' });
    expect((await slot.fetchOnce(async () => ({ token: 'own', refreshAt: Date.now() + 1000 }))).token).toBe(
      'own',
    );
    expect(await slot.read()).toBeNull();
    const limiter = state.callerLimiter({ name: 'l', count: 1, windowSeconds: 60 });
    expect((await limiter.consume('u')).allowed).toBe(true);
    expect((await limiter.consume('u')).allowed).toBe(false);

    expect(lines.filter((l) => l.level === 40)).toHaveLength(1);
    expect(lines[0]).toMatchObject({ redis: 'unreachable' });
  });
});
