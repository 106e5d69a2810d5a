import { Redis } from 'ioredis';
import { RedisLease } from '../../../src/shared-state/redis-lease.js';
import { waitFor } from '../../support/gateway-process.js';
import { startRedisServer, type RedisServer } from '../../support/redis-server.js';

// The lease's own promises that the writer-lock tests do not reach (review L9): a SET that timed
// out may still be applied by Redis, and must not leave a key that nobody alive holds.
describe('RedisLease (a real Redis)', () => {
  let redis: RedisServer;
  let inspector: Redis;

  beforeAll(async () => {
    redis = await startRedisServer();
    inspector = new Redis(redis.url, { disconnectTimeout: 100 });
  });
  afterAll(async () => {
    await inspector.quit().catch(() => inspector.disconnect());
    await redis.stop();
  });

  it('gives back a key whose SET timed out but was applied, once Redis answers (no orphan lock)', async () => {
    const client = new Redis(redis.url, { commandTimeout: 100, maxRetriesPerRequest: 0 });
    try {
      // Writes wait 600 ms at the server: the SET times out at the client, then Redis applies it.
      await inspector.client('PAUSE', 600, 'WRITE');
      await expect(RedisLease.tryAcquire(client, 'lease:orphan', { ttlMs: 60_000 })).rejects.toThrow();
      // A write of the test's own, sent after the lease's SET, returns once the pause is over and
      // that SET has been applied.
      await inspector.set('lease:probe', '1');
      // The lease's compare-and-delete follows it. Its TTL (60 s) is far off: only the release can
      // remove the key.
      await waitFor(async () => (await inspector.exists('lease:orphan')) === 0, 5000, 'orphan released');
    } finally {
      client.disconnect();
    }
  });

  it('is null while another owner holds the key, and takes it once that one is gone', async () => {
    const client = new Redis(redis.url);
    try {
      await inspector.set('lease:held', 'someone-else', 'PX', 60_000);
      expect(await RedisLease.tryAcquire(client, 'lease:held', { ttlMs: 5000 })).toBeNull();
      await inspector.del('lease:held');
      const lease = await RedisLease.tryAcquire(client, 'lease:held', { ttlMs: 5000 });
      expect(lease?.lost).toBe(false);
      await lease!.release();
      expect(lease!.lost).toBe(true);
      expect(await inspector.exists('lease:held')).toBe(0);
    } finally {
      client.disconnect();
    }
  });
});
