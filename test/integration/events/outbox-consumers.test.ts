// The outbox group's clean-up (review M6) against a real redis-server: a consumer is deleted only
// when it holds nothing and has been idle for the threshold (never a replica that read moments ago,
// such as the previous lease holder), checked and deleted in one script, so no read can slip its
// entries into a PEL between the check and the delete.
import { Redis } from 'ioredis';
import { FORGET_CONSUMERS_IDLE_MS, forgetIdleConsumers } from '../../../src/events/outbox-consumers.js';
import { waitFor } from '../../support/gateway-process.js';
import { startRedisServer, type RedisServer } from '../../support/redis-server.js';

const STREAM = 'consumers-test:outbox';
const GROUP = 'webhook-delivery';
const IDLE_MS = 1000;

describe('forgetIdleConsumers (redis-server)', () => {
  let redis: RedisServer;
  let client: Redis;
  let blocked: Redis;

  beforeAll(async () => {
    redis = await startRedisServer();
    client = new Redis(redis.url);
    blocked = new Redis(redis.url);
  });
  afterAll(async () => {
    client?.disconnect();
    blocked?.disconnect();
    await redis?.stop();
  });

  const consumers = async () =>
    ((await client.xinfo('CONSUMERS', STREAM, GROUP)) as string[][]).map((flat) => {
      const info: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) info[flat[i]] = String(flat[i + 1]);
      return { name: info.name, pending: Number(info.pending), idle: Number(info.idle) };
    });
  const readAs = (connection: Redis, name: string, block?: number) =>
    connection.xreadgroup(
      'GROUP',
      GROUP,
      name,
      'COUNT',
      10,
      ...((block === undefined ? [] : ['BLOCK', block]) as ['BLOCK', number]),
      'STREAMS',
      STREAM,
      '>',
    );

  it('deletes a consumer idle past the threshold with nothing pending, and no other', async () => {
    await client.xgroup('CREATE', STREAM, GROUP, '$', 'MKSTREAM');
    const readAndSettle = async (name: string) => {
      const id = await client.xadd(STREAM, '*', 'webhookId', `msg_${name}`);
      await readAs(client, name);
      await client.xack(STREAM, GROUP, id!);
    };
    // `gone` read and settled long ago; `holder` read an entry it has not settled.
    await readAndSettle('gone');
    await client.xadd(STREAM, '*', 'webhookId', 'msg_holder');
    await readAs(client, 'holder');
    await readAndSettle('self');
    await waitFor(
      async () => (await consumers()).every((c) => c.idle >= IDLE_MS),
      5000,
      'every consumer idle past the threshold',
    );
    // The previous lease holder: it read a moment ago and holds nothing now, as `gone` once did.
    await readAndSettle('previous-holder');

    const forgotten = await forgetIdleConsumers(client, STREAM, GROUP, { self: 'self', idleMs: IDLE_MS });

    expect(forgotten).toEqual([{ name: 'gone', droppedEntries: 0 }]);
    expect((await consumers()).map((c) => c.name).sort()).toEqual(['holder', 'previous-holder', 'self']);
  });

  it('lets a deleted consumer that reads again take its entries into the group (nothing dropped)', async () => {
    // A read of `gone` sent after its deletion: Redis creates the consumer again with the entry.
    const reading = readAs(blocked, 'gone', 5000);
    const id = await client.xadd(STREAM, '*', 'webhookId', 'msg_late');
    expect(JSON.stringify(await reading)).toContain(id);
    const pending = (await client.xpending(STREAM, GROUP, '-', '+', 10)) as [string, string][];
    expect(pending.map(([entry, name]) => [entry, name])).toContainEqual([id, 'gone']);
  });

  it('waits ten minutes of idleness by default', () => {
    expect(FORGET_CONSUMERS_IDLE_MS).toBe(600_000);
  });
});
