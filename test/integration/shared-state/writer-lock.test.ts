import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { createLogger } from '../../../src/observability/logger.js';
import { createMemorySharedState } from '../../../src/shared-state/memory.js';
import { createRedisSharedState } from '../../../src/shared-state/redis.js';
import type { SharedState } from '../../../src/shared-state/shared-state.js';
import { startRedisServer, type RedisServer } from '../../support/redis-server.js';

const quietLogger = createLogger({
  level: 'silent',
  destination: new Writable({ write: (_chunk, _encoding, callback) => callback() }),
});

describe('writer locks (one writer per primary)', () => {
  describe('in process memory', () => {
    const locks = createMemorySharedState().writerLock('primary');

    it('lets the next caller in when the holder releases, in arrival order', async () => {
      const order: string[] = [];
      const first = await locks.acquire('auth0|a', 1000);
      const second = locks.acquire('auth0|a', 1000).then((release) => (order.push('second'), release));
      const third = locks.acquire('auth0|a', 1000).then((release) => (order.push('third'), release));
      order.push('first done');
      await first!();
      await (await second)!();
      await (await third)!();
      expect(order).toEqual(['first done', 'second', 'third']);
    });

    it('answers null after the wait while another holds the key; other keys are free', async () => {
      const held = await locks.acquire('auth0|b', 1000);
      expect(await locks.acquire('auth0|b', 20)).toBeNull();
      const other = await locks.acquire('auth0|c', 0);
      expect(other).not.toBeNull();
      await other!();
      await held!();
      // Releasing twice does nothing; the key is free again.
      await held!();
      const again = await locks.acquire('auth0|b', 0);
      expect(again).not.toBeNull();
      await again!();
    });
  });

  describe('in a real Redis, across replicas', () => {
    let redis: RedisServer;
    let inspector: Redis;
    const opened: SharedState[] = [];
    let prefix: string;
    let n = 0;

    beforeAll(async () => {
      redis = await startRedisServer();
      inspector = new Redis(redis.url, { disconnectTimeout: 100 });
    });
    afterAll(async () => {
      await inspector.quit().catch(() => inspector.disconnect());
      await redis.stop();
    });
    beforeEach(() => {
      prefix = `lock${++n}:`;
    });
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
    });

    async function open(writerLockTtlMs = 3000): Promise<SharedState> {
      const state = await createRedisSharedState({
        target: redis.url,
        keyPrefix: prefix,
        logger: quietLogger,
        tokenLockMs: 5000,
        writerLockTtlMs,
      });
      opened.push(state);
      return state;
    }

    it('holds a key for one replica at a time, with an owner token and an expiry', async () => {
      const [a, b] = await Promise.all([open(), open()]);
      const key = `${prefix}t:writer-lock:primary:{auth0|x}`;
      const release = await a.writerLock('primary').acquire('auth0|x', 1000);
      expect(release).not.toBeNull();
      expect(await inspector.get(key)).toMatch(/^[0-9a-f-]{36}$/);
      const ttl = await inspector.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(3000);

      expect(await b.writerLock('primary').acquire('auth0|x', 50)).toBeNull();
      const waiting = b.writerLock('primary').acquire('auth0|x', 5000);
      await release!();
      const next = await waiting;
      expect(next).not.toBeNull();
      await next!();
      expect(await inspector.exists(key)).toBe(0);
    });

    it('never deletes a lock another replica holds now (compare-and-delete)', async () => {
      const a = await open();
      const key = `${prefix}t:writer-lock:primary:{auth0|y}`;
      const release = await a.writerLock('primary').acquire('auth0|y', 1000);
      // The lock expired and another owner took it meanwhile.
      await inspector.set(key, 'someone-else', 'PX', 5000);
      await release!();
      expect(await inspector.get(key)).toBe('someone-else');
    });

    it('releases the locks it still holds when it closes (drain)', async () => {
      const a = await open();
      await a.writerLock('primary').acquire('auth0|z', 1000);
      expect(await inspector.exists(`${prefix}t:writer-lock:primary:{auth0|z}`)).toBe(1);
      await a.close();
      expect(await inspector.keys(`${prefix}*writer-lock*`)).toEqual([]);
    });

    const aborted = (signal: AbortSignal) =>
      new Promise<unknown>((resolve) => signal.addEventListener('abort', () => resolve(signal.reason)));

    it('renews a held lock past its expiry, and its signal stays quiet', async () => {
      const a = await open(300);
      const key = `${prefix}t:writer-lock:primary:{auth0|r}`;
      const lock = await a.writerLock('primary').acquire('auth0|r', 1000);
      // Watch the expiry being pushed back three times by the renewal timer.
      let renewals = 0;
      let last = await inspector.pttl(key);
      while (renewals < 3) {
        const ttl = await inspector.pttl(key);
        expect(ttl).toBeGreaterThan(0);
        if (ttl > last) renewals++;
        last = ttl;
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(lock!.signal.aborted).toBe(false);
      await lock!();
      expect(await inspector.exists(key)).toBe(0);
    });

    it("aborts the holder's signal when another owner has taken the key (review M1)", async () => {
      const a = await open(300);
      const lock = await a.writerLock('primary').acquire('auth0|t', 1000);
      expect(lock!.signal.aborted).toBe(false);
      await inspector.set(`${prefix}t:writer-lock:primary:{auth0|t}`, 'someone-else', 'PX', 5000);
      await aborted(lock!.signal);
      await lock!();
      expect(await inspector.get(`${prefix}t:writer-lock:primary:{auth0|t}`)).toBe('someone-else');
    });

    it('fences a holder whose lock vanished in a failover: its confirm() before a write answers false once another took it', async () => {
      const [a, b] = await Promise.all([open(15_000), open(15_000)]);
      const key = `${prefix}t:writer-lock:primary:{auth0|f}`;
      const fence = `${prefix}t:writer-fence:primary:{auth0|f}`;
      const first = await a.writerLock('primary').acquire('auth0|f', 1000);
      expect(await first!.confirm()).toBe(true);
      const token = Number(await inspector.get(fence));
      expect(token).toBeGreaterThan(0);
      // What a promoted replica that never received the lock looks like: the key is gone, and the
      // renewal timer (every 5 s here) has not noticed yet, so the signal is still quiet.
      await inspector.del(key);
      const second = await b.writerLock('primary').acquire('auth0|f', 1000);
      expect(second).not.toBeNull();
      expect(Number(await inspector.get(fence))).toBe(token + 1);
      expect(first!.signal.aborted).toBe(false);
      // The old holder's check before its next write (one script: owner and newest token).
      expect(await first!.confirm()).toBe(false);
      expect(first!.signal.aborted).toBe(true);
      expect(await second!.confirm()).toBe(true);
      await first!();
      // The old holder's release leaves the new holder's lock alone.
      expect(await inspector.exists(key)).toBe(1);
      await second!();
    });

    it('fences a holder whose key is back under its name but with a newer token taken since', async () => {
      const a = await open(15_000);
      const fence = `${prefix}t:writer-fence:primary:{auth0|g}`;
      const lock = await a.writerLock('primary').acquire('auth0|g', 1000);
      await inspector.incr(fence);
      expect(await lock!.confirm()).toBe(false);
      await lock!();
    });

    it("aborts the holder's signal when renewals stop being confirmed (Redis gone)", async () => {
      const a = await open(300);
      const lock = await a.writerLock('primary').acquire('auth0|u', 1000);
      await redis.stop();
      try {
        await aborted(lock!.signal);
        await lock!();
      } finally {
        await redis.start();
      }
    });

    it('goes on with the in-process lock while Redis is unreachable', async () => {
      const a = await open();
      await redis.stop();
      try {
        const release = await a.writerLock('primary').acquire('auth0|w', 100);
        expect(release).not.toBeNull();
        expect(await a.writerLock('primary').acquire('auth0|w', 20)).toBeNull();
        await release!();
      } finally {
        await redis.start();
      }
    });
  });
});
