import { Redis } from 'ioredis';
import {
  createRedisUndoRecords,
  UndoRecordUnavailableError,
} from '../../../src/shared-state/undo-records.js';
import { startRedisServer, type RedisServer } from '../../support/redis-server.js';

// The undo records' store while Redis is away (DESIGN §10: nothing fails for Redis alone): a
// record Redis did not take stays undoable from this process, and an unanswered read is not
// mistaken for "no such link".
describe('undo records in Redis, and while Redis is away', () => {
  let redis: RedisServer;
  let client: Redis;
  const store = () =>
    createRedisUndoRecords(client, {
      key: (...parts) => `undo-test:${parts.join(':')}`,
      name: 't',
      secret: 's'.repeat(32),
    });
  const record = (n: number) => ({ expiresAt: Date.now() + 60_000, n });

  beforeAll(async () => {
    redis = await startRedisServer();
    client = new Redis(redis.url, {
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      commandTimeout: 500,
    });
    client.on('error', () => undefined);
    await new Promise((resolve) => client.once('ready', resolve));
  });
  afterAll(async () => {
    client.disconnect();
    await redis.stop();
  });

  it('stores sealed in Redis with an expiry, and reads it back from another store', async () => {
    await store().put('msg_a', record(1));
    const [key] = await client.keys('undo-test:undo-record:*');
    expect(await client.pttl(key)).toBeGreaterThan(0);
    expect(await client.get(key)).not.toContain('"n"');
    expect(await store().get('msg_a')).toMatchObject({ n: 1 });
  });

  it('keeps a record Redis did not take in this process, and says a read Redis did not answer is unavailable', async () => {
    const kept = store();
    await redis.stop();
    try {
      await kept.put('msg_b', record(2));
      expect(await kept.get('msg_b')).toMatchObject({ n: 2 });
      await expect(kept.get('msg_c')).rejects.toBeInstanceOf(UndoRecordUnavailableError);
    } finally {
      await redis.start();
    }
  });
});
