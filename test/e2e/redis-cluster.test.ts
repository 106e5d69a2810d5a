// Three gateway replicas on a real Redis Cluster (3 masters, 3 replicas, `redis-cli --cluster
// create`), against the emulator (DESIGN §10, issue 27): the replicas test's load with hash-tagged
// keys, then a master killed under load.
import { Redis } from 'ioredis';
import { startAuth0Emulator, type Auth0Emulator } from '../../src/auth0-emulator/index.js';
import { DEMO } from '../../src/auth0-emulator/demo-seed.js';
import { tenantDiscriminator } from '../../src/shared-state/tenant-key.js';
import { adminLink } from '../support/account-mutations.js';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';
import { postGraphQL } from '../support/graphql-client.js';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster.js';
import { describeRun, linesMatching, runLinksThroughFailover } from '../support/redis-failover-load.js';
import { newWebhookSecret, startTestReceiver, type TestReceiver } from '../support/webhook-receiver.js';

const REPLICAS = 3;
const CLIENTS = 30;
const LINKS = 300;
const LIMIT = { perSecond: 20, burst: 10 };
const USER = 'query U($id: ID!) { user(id: $id) { id identities { id } } }';

const primaryId = (c: number) => `auth0|clusterprimary${String(c).padStart(10, '0')}`;
const secondaryBare = (i: number) => `clustersecondary${String(i).padStart(8, '0')}`;

let cluster: RedisCluster;
const seeds = () => cluster.seedUrls.join(',');

beforeAll(async () => {
  cluster = await startRedisCluster({ nodeTimeoutMs: 1000 });
}, 30_000);
afterAll(async () => {
  await cluster?.stop();
});

/** Keys matching `pattern` on each node that is a master now, by port. */
async function keysByMaster(pattern: string): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  for (const [port, role] of await cluster.roles()) {
    if (role !== 'master') continue;
    const node = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
    try {
      await node.connect();
      counts.set(port, (await node.keys(pattern)).length);
    } finally {
      node.disconnect();
    }
  }
  return counts;
}

describe('gateway replicas on a Redis Cluster (DESIGN §10)', () => {
  let emulator: Auth0Emulator;
  let receiver: TestReceiver;
  let gateways: GatewayProcess[] = [];
  const prefix = `cluster-test-${process.pid}:`;

  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.stop()));
    await receiver?.stop();
    await emulator?.close();
  });

  it('300 links from 30 callers against a rate-limited tenant: no 429 beyond the standalone allowance (3), one token, events once each, cache keys on all three masters, invalidation across replicas', async () => {
    emulator = await startAuth0Emulator({ port: 0, rateLimit: LIMIT });
    const secret = newWebhookSecret();
    receiver = await startTestReceiver(secret);
    for (let c = 0; c < CLIENTS; c++) {
      emulator.tenant.addUser({ user_id: primaryId(c), email: `cl${c}@example.com`, email_verified: true });
    }
    for (let i = 0; i < LINKS + CLIENTS; i++) {
      emulator.tenant.addUser({
        user_id: `auth0|${secondaryBare(i)}`,
        email: `cl${i % CLIENTS}@example.com`,
        email_verified: true,
      });
    }
    gateways = await Promise.all(
      Array.from({ length: REPLICAS }, () =>
        startGatewayProcess(emulator.origin, {
          REDIS_CLUSTER_NODES: seeds(),
          REDIS_KEY_PREFIX: prefix,
          ADMIN_LINK_POLICY: 'trust',
          LINK_UNDO_WINDOW: '0',
          AUTH0_RATE_LIMIT: '20/10',
          // Per-caller counts in the cluster too (each caller's key on a slot of its own).
          ADMIN_CALLER_RATE_LIMIT: '1000/60',
          WEBHOOK_URL: receiver.url,
          WEBHOOK_SECRET: secret,
        }),
      ),
    );
    const tokens = await Promise.all(
      Array.from({ length: CLIENTS }, (_, c) =>
        emulator.tokens.adminToken({ sub: `cluster-admin-${c}@clients`, scope: 'update:users read:users' }),
      ),
    );

    const started = Date.now();
    const outcomes: string[] = [];
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, c) => {
        for (let i = c; i < LINKS; i += CLIENTS) {
          const answer = await adminLink(
            gateways[i % REPLICAS].url,
            tokens[c],
            primaryId(c),
            `auth0|${secondaryBare(i)}`,
          );
          outcomes.push(answer.ok ? 'ok' : `${answer.code}/${answer.reason ?? ''}`);
        }
      }),
    );
    const seconds = (Date.now() - started) / 1000;
    const statuses = emulator.journal.entries({ route: 'link' }).map((e) => e.status);
    const limited = statuses.filter((s) => s === 429).length;
    console.log(
      `cluster, configured 20/10: ${LINKS} links over ${REPLICAS} replicas in ${seconds.toFixed(1)} s ` +
        `(ideal ${((LINKS - LIMIT.burst) / LIMIT.perSecond).toFixed(1)} s), ${limited} × 429, ` +
        `${emulator.journal.count('token')} token request(s)`,
    );
    expect(outcomes.filter((o) => o !== 'ok')).toEqual([]);
    expect(statuses.filter((s) => s === 201)).toHaveLength(LINKS);
    // The standalone replicas test's allowance for a configured budget.
    expect(limited).toBeLessThanOrEqual(3);
    expect(emulator.journal.count('token')).toBe(1);

    // Every event delivered, each once.
    await receiver.waitForEvents(LINKS, 20_000);
    const ids = receiver.events.map((e) => e.webhookId);
    expect(new Set(ids).size).toBe(LINKS);
    expect(ids).toHaveLength(LINKS);

    // Reads through every replica fill the shared read cache: its keys spread over the masters.
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, c) => {
        const read = await postGraphQL<{ user: { identities: unknown[] } | null }>(
          gateways[c % REPLICAS].url,
          { query: USER, variables: { id: primaryId(c) } },
          { token: tokens[c] },
        );
        expect(read.body.data?.user?.identities).toHaveLength(1 + LINKS / CLIENTS);
      }),
    );
    const callerKeys = await keysByMaster(`${prefix}*:caller:*`);
    expect([...callerKeys.values()].reduce((a, b) => a + b, 0)).toBe(CLIENTS);
    const cacheKeys = await keysByMaster(`${prefix}*user-cache*`);
    console.log(`cluster: read-cache keys by master ${JSON.stringify(Object.fromEntries(cacheKeys))}`);
    expect([...cacheKeys.values()].filter((count) => count > 0)).toHaveLength(3);
    // The tenant's own keys (token, outbox, its group and lease) sit together on one master.
    const tag = tenantDiscriminator({ origin: emulator.origin, clientId: DEMO.serviceClientId });
    const tenantKeys = await keysByMaster(`${prefix}{${tag}}:*`);
    expect([...tenantKeys.values()].filter((count) => count > 0)).toHaveLength(1);

    // A read cached on replica 1, a link through replica 0, the next read on replica 1 and 2 sees it.
    const c = 0;
    const read = async (g: GatewayProcess) =>
      (
        await postGraphQL<{ user: { identities: { id: string }[] } | null }>(
          g.url,
          { query: USER, variables: { id: primaryId(c) } },
          { token: tokens[c] },
        )
      ).body.data?.user?.identities.map((i) => i.id) ?? [];
    const before = await read(gateways[1]);
    await read(gateways[2]);
    const extra = `auth0|${secondaryBare(LINKS + c)}`;
    expect(before).not.toContain(extra);
    expect((await adminLink(gateways[0].url, tokens[c], primaryId(c), extra)).ok).toBe(true);
    expect(await read(gateways[1])).toContain(extra);
    expect(await read(gateways[2])).toContain(extra);

    for (const g of gateways) {
      expect(linesMatching(g.output(), /CROSSSLOT|NOSCRIPT|MOVED|ERR /)).toEqual([]);
      expect((await g.readyz()).body.checks.redis).toBe(true);
    }
  }, 60_000);

  it('a master killed under load: every answer agrees with the tenant, no merged metadata lost, acknowledged events delivered, the replicas rejoin', async () => {
    const failoverPrefix = `cluster-failover-${process.pid}:`;
    let victim = 0;
    let origin = '';
    const run = await runLinksThroughFailover({
      redisEnv: { REDIS_CLUSTER_NODES: seeds(), REDIS_KEY_PREFIX: failoverPrefix },
      onStarted: (emulatorOrigin) => (origin = emulatorOrigin),
      async killMaster() {
        // The master holding the tenant's slot: its token, budget's neighbours, outbox and lease.
        const tag = tenantDiscriminator({ origin, clientId: DEMO.serviceClientId });
        victim = await cluster.masterOf(`{${tag}}`);
        await cluster.kill(victim);
      },
      async waitForFailover() {
        await cluster.waitForFailover(victim, 20_000);
      },
    });
    try {
      console.log(describeRun('cluster failover', run));
      expect(run.disagreements).toEqual([]);
      expect(run.lostMetadata).toEqual([]);
      // No request fails for Redis alone (DESIGN §10).
      expect(run.errors).toEqual({});
      expect(run.deliveredOfThose).toBe(run.acknowledgedBeforeKill);
      expect(new Set(run.receiver.events.map((e) => e.webhookId)).size).toBe(run.applied);
      for (const [i, g] of run.gateways.entries()) {
        expect(linesMatching(g.output(), /CROSSSLOT|NOSCRIPT/)).toEqual([]);
        // One warning per state change, and back on Redis at the end.
        const states = run.redisStates[i];
        expect(states.every((state, j) => j === 0 || state !== states[j - 1])).toBe(true);
        if (states.length > 0) expect(states.at(-1)).toBe('reachable');
      }
    } finally {
      await run.close();
    }
  }, 60_000);
});
