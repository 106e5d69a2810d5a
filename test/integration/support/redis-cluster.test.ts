// The cluster helper's own promises: a working 3×2 cluster ioredis can use, keys spread over the
// masters, and a master killed with SIGKILL replaced by its replica with the data it had.
import { readdirSync, readFileSync } from 'node:fs';
import { Cluster } from 'ioredis';
import { startRedisCluster, type RedisCluster } from '../../support/redis-cluster.js';

/** Pids of the redis-server processes this jest worker has running (from /proc). */
function childRedisServers(): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        // stat: "pid (comm) state ppid …"
        const [, comm, rest] = /^\d+ \((.*)\) (.*)$/s.exec(readFileSync(`/proc/${pid}/stat`, 'utf8')) ?? [];
        return comm === 'redis-server' && Number(rest?.split(' ')[1]) === process.pid;
      } catch {
        return false; // exited meanwhile
      }
    })
    .map(Number)
    .sort((a, b) => a - b);
}

describe('startRedisCluster (test/support/redis-cluster.ts)', () => {
  let cluster: RedisCluster;
  let client: Cluster;

  beforeAll(async () => {
    const began = Date.now();
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 1000 });
    console.log(`redis cluster: 6 nodes up in ${Date.now() - began} ms`);
    client = new Cluster([...cluster.startupNodes], { clusterRetryStrategy: () => 100 });
  }, 20_000);
  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  it('makes 3 masters with one replica each, all sharing the 16384 slots', async () => {
    expect(cluster.nodes).toHaveLength(6);
    expect(cluster.nodes.filter((node) => node.role === 'master')).toHaveLength(3);
    expect(cluster.seedUrls).toEqual(cluster.nodes.map((node) => `redis://127.0.0.1:${node.port}`));
    const masters = new Set(cluster.nodes.filter((node) => node.role === 'master').map((node) => node.port));
    expect(
      new Set([await cluster.masterOf(0), await cluster.masterOf(8000), await cluster.masterOf(16383)]),
    ).toEqual(masters);
  });

  it('serves reads and writes through ioredis, keys on the master masterOf names', async () => {
    const keys = Array.from({ length: 30 }, (_, i) => `self-test:${i}`);
    for (const key of keys) await client.set(key, `value of ${key}`);
    expect(await Promise.all(keys.map((key) => client.get(key)))).toEqual(
      keys.map((key) => `value of ${key}`),
    );
    const owners = new Set(await Promise.all(keys.map((key) => cluster.masterOf(key))));
    expect(owners.size).toBe(3);
    // Hash tags: keys sharing `{tag}` share a slot, hence a master.
    expect(await cluster.slotOf('a{tenant}')).toBe(await cluster.slotOf('b{tenant}'));
    expect(await cluster.masterOf('a{tenant}')).toBe(await cluster.masterOf('{tenant}:z'));
  });

  it('promotes the replica of a killed master, which still has the data', async () => {
    const key = 'failover{self-test}';
    await client.set(key, 'kept');
    const oldMaster = await cluster.masterOf(key);
    // The write reached the replica before the kill: WAIT is what the outbox does too.
    await expect(client.call('WAIT', '1', '1000')).resolves.toBe(1);
    await cluster.kill(oldMaster);
    const { newMasterPort, waitedMs } = await cluster.waitForFailover(oldMaster);
    console.log(
      `redis cluster: master ${oldMaster} killed, replica ${newMasterPort} promoted in ${waitedMs} ms`,
    );
    expect(newMasterPort).not.toBe(oldMaster);
    expect(await cluster.masterOf(key)).toBe(newMasterPort);
    expect((await cluster.roles()).get(newMasterPort)).toBe('master');
    expect(await client.get(key)).toBe('kept');
    await client.set(key, 'written after the failover');
    expect(await client.get(key)).toBe('written after the failover');
  });

  it('stops the nodes it started when a start fails halfway (redis-cli refuses 2 masters)', async () => {
    const before = childRedisServers();
    const error = (await startRedisCluster({ masters: 2 }).catch((failure: Error) => failure)) as Error;
    expect(error.message).toMatch(/redis-cli --cluster create failed[\s\S]*at least 3 master nodes/);
    expect(childRedisServers()).toEqual(before);
  });
});
