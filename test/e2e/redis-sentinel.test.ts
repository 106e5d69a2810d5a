// Three gateway replicas on Redis behind Sentinel (1 master, 1 replica, 3 sentinels), against the
// emulator (DESIGN §10, issue 27): the master killed under load, the Sentinels promote the
// replica, and the replicas follow them to it.
import { startRedisSentinel, type RedisSentinelSet } from '../support/redis-sentinel.js';
import { describeRun, linesMatching, runLinksThroughFailover } from '../support/redis-failover-load.js';

let sentinel: RedisSentinelSet;

beforeAll(async () => {
  sentinel = await startRedisSentinel({ downAfterMs: 1000 });
}, 30_000);
afterAll(async () => {
  await sentinel?.stop();
});

describe('gateway replicas on Redis behind Sentinel (DESIGN §10)', () => {
  it('the master killed under load: every answer agrees with the tenant, no merged metadata lost, acknowledged events delivered, the replicas rejoin the promoted replica', async () => {
    const run = await runLinksThroughFailover({
      redisEnv: {
        REDIS_SENTINELS: sentinel.sentinelList,
        REDIS_SENTINEL_MASTER: sentinel.masterName,
        REDIS_KEY_PREFIX: `sentinel-test-${process.pid}:`,
      },
      async killMaster() {
        await sentinel.killMaster();
      },
      async waitForFailover() {
        await sentinel.waitForFailover(20_000);
      },
    });
    try {
      console.log(describeRun('sentinel failover', run));
      expect(run.disagreements).toEqual([]);
      expect(run.lostMetadata).toEqual([]);
      // No request fails for Redis alone (DESIGN §10).
      expect(run.errors).toEqual({});
      expect(run.deliveredOfThose).toBe(run.acknowledgedBeforeKill);
      expect(new Set(run.receiver.events.map((e) => e.webhookId)).size).toBe(run.applied);
      for (const [i, g] of run.gateways.entries()) {
        expect(linesMatching(g.output(), /NOSCRIPT/)).toEqual([]);
        // One warning per state change: Redis gone with its master, back on the promoted replica.
        expect(run.redisStates[i]).toEqual(['unreachable', 'reachable']);
        expect((await g.readyz()).body.checks.redis).toBe(true);
        const metrics = await (await fetch(`${g.origin}/metrics`)).text();
        expect(metrics).toMatch(/^auth0_link_gateway_redis_up 1$/m);
      }
    } finally {
      await run.close();
    }
  }, 60_000);
});
