// The sentinel helper's own promises: ioredis finds the master through the sentinels with the ACL
// user the data nodes require, and a master killed with SIGKILL is replaced by its replica.
import { Redis } from 'ioredis';
import { redisCommand } from '../../support/redis-cluster.js';
import { startRedisSentinel, type RedisSentinelSet } from '../../support/redis-sentinel.js';

describe('startRedisSentinel (test/support/redis-sentinel.ts)', () => {
  const auth = { username: 'gateway', password: 'sentinel-self-test-password' };
  let set: RedisSentinelSet;
  let client: Redis;
  let clientErrors = 0;

  beforeAll(async () => {
    const began = Date.now();
    set = await startRedisSentinel({ masterName: 'self-test', auth });
    console.log(`redis sentinel: master, replica and 3 sentinels up in ${Date.now() - began} ms`);
    client = new Redis({ sentinels: [...set.sentinels], name: 'self-test', ...auth });
    // Connection errors while the master is dead and not yet replaced are expected: counted.
    client.on('error', () => clientErrors++);
  }, 20_000);
  afterAll(async () => {
    client?.disconnect();
    await set?.stop();
  });

  it('names the first data node master, watched by three sentinels', async () => {
    expect(set.sentinels).toHaveLength(3);
    expect(set.sentinelList).toBe(set.sentinels.map(({ port }) => `127.0.0.1:${port}`).join(','));
    expect(await set.master()).toEqual({ host: '127.0.0.1', port: set.dataPorts[0] });
  });

  it('requires the credentials on the data nodes', async () => {
    await expect(redisCommand(set.dataPorts[0], ['PING'])).rejects.toThrow(/NOAUTH/);
    await expect(redisCommand(set.dataPorts[0], ['PING'], auth)).resolves.toBe('PONG');
  });

  it('serves ioredis through the sentinels, and promotes the replica of a killed master', async () => {
    await client.set('self-test:key', 'kept');
    // The write reached the replica before the kill: WAIT is what the outbox does too.
    await expect(client.call('WAIT', '1', '1000')).resolves.toBe(1);
    const killed = await set.killMaster();
    expect(killed).toBe(set.dataPorts[0]);
    const { newMasterPort, waitedMs } = await set.waitForFailover();
    console.log(
      `redis sentinel: master ${killed} killed, replica ${newMasterPort} promoted in ${waitedMs} ms`,
    );
    expect(newMasterPort).toBe(set.dataPorts[1]);
    expect(await set.master()).toEqual({ host: '127.0.0.1', port: newMasterPort });
    expect(await client.get('self-test:key')).toBe('kept');
    await client.set('self-test:key', 'written after the failover');
    expect(await redisCommand(newMasterPort, ['GET', 'self-test:key'], auth)).toBe(
      'written after the failover',
    );
  });
});
