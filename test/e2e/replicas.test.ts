// Three gateway processes sharing one Redis against one rate-limited tenant (DESIGN §10, issue 9).
import { startAuth0Emulator, type Auth0Emulator } from '../../src/auth0-emulator/index.js';
import { startGatewayProcess, waitFor, type GatewayProcess } from '../support/gateway-process.js';
import { postGraphQL } from '../support/graphql-client.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';

const REPLICAS = 3;
const CLIENTS = 30;
const LIMIT = { perSecond: 20, burst: 10 };
/**
 * Most 429s a learning cluster may meet in 300 links: one in five. Calls from three busy processes
 * reach Auth0 bunched (0–35 seen, the most on a loaded CI machine); unpaced, 30 clients would meet
 * hundreds.
 */
const LEARNED_MAX_429 = 60;
const LINK =
  'mutation L($p: ID!, $i: LinkAccountsInput!) { linkAccounts(primaryId: $p, input: $i) { identities { id } } }';

const primaryId = (c: number) => `auth0|replicaprimary${String(c).padStart(10, '0')}`;
const secondaryBare = (i: number) => `replicasecondary${String(i).padStart(8, '0')}`;

interface Cluster {
  emulator: Auth0Emulator;
  gateways: GatewayProcess[];
  /** One admin token per client, each with its own `sub`. */
  adminTokens: string[];
  close(): Promise<void>;
}

let prefixes = 0;

/** The emulator seeded as the bench seeds it (primaries and secondaries sharing a verified email), and three replicas. */
async function startCluster(
  redis: RedisServer,
  links: number,
  env: Record<string, string>,
): Promise<Cluster> {
  const emulator = await startAuth0Emulator({ port: 0, rateLimit: LIMIT });
  for (let c = 0; c < CLIENTS; c++) {
    emulator.tenant.addUser({
      user_id: primaryId(c),
      email: `replica${c}@example.com`,
      email_verified: true,
    });
  }
  for (let i = 0; i < links; i++) {
    emulator.tenant.addUser({
      user_id: `auth0|${secondaryBare(i)}`,
      email: `replica${i % CLIENTS}@example.com`,
      email_verified: true,
    });
  }
  const adminTokens = await Promise.all(
    Array.from({ length: CLIENTS }, (_, c) =>
      emulator.tokens.adminToken({ sub: `replica-admin-${c}@clients`, scope: 'update:users' }),
    ),
  );
  // Keys of their own, so nothing is left from an earlier test.
  const prefix = `replicas-test-${++prefixes}:`;
  const gateways = await Promise.all(
    Array.from({ length: REPLICAS }, () =>
      startGatewayProcess(emulator.origin, {
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: prefix,
        ADMIN_LINK_POLICY: 'trust',
        // These tests count a link as one Auth0 call against the budget; the undo record's reads
        // (DESIGN §15) would add four, and undo has its own suite.
        LINK_UNDO_WINDOW: '0',
        ...env,
      }),
    ),
  );
  return {
    emulator,
    gateways,
    adminTokens,
    async close() {
      await Promise.all(gateways.map((g) => g.stop()));
      await emulator.close();
    },
  };
}

/**
 * `count` admin links from CLIENTS clients at once, request i to replica i % REPLICAS: client c
 * links secondaries c, c + CLIENTS, … into its own primary. Resolves with each link's outcome.
 */
async function runLinks(
  cluster: Cluster,
  from: number,
  count: number,
  onProgress: (completed: number) => void = () => undefined,
): Promise<string[]> {
  const outcomes: string[] = [];
  let completed = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      for (let i = from + c; i < from + count; i += CLIENTS) {
        const response = await postGraphQL(
          cluster.gateways[i % REPLICAS].url,
          {
            query: LINK,
            variables: { p: primaryId(c), i: { admin: { provider: 'auth0', userId: secondaryBare(i) } } },
          },
          { token: cluster.adminTokens[c] },
        );
        const error = response.body.errors?.[0];
        outcomes.push(
          error
            ? `${String(error.extensions?.code)} ${String(error.extensions?.reason ?? '')} ${error.message}`
            : 'ok',
        );
        onProgress(++completed);
      }
    }),
  );
  return outcomes;
}

function linkStatuses(emulator: Auth0Emulator) {
  const statuses = emulator.journal.entries({ route: 'link' }).map((e) => e.status);
  return {
    created: statuses.filter((s) => s === 201).length,
    limited: statuses.filter((s) => s === 429).length,
  };
}

function report(label: string, links: number, elapsedMs: number, emulator: Auth0Emulator) {
  const ideal = (links - LIMIT.burst) / LIMIT.perSecond;
  const seconds = elapsedMs / 1000;
  const { limited } = linkStatuses(emulator);
  console.log(
    `${label}: ${links} links over ${REPLICAS} replicas in ${seconds.toFixed(1)} s, ideal ${ideal.toFixed(1)} s ` +
      `(${(seconds / ideal).toFixed(2)}×), ${limited} × 429, ${emulator.journal.count('token')} token request(s)`,
  );
}

describe('replicas sharing one Redis (DESIGN §10)', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis.stop();
  });

  it('spend one configured budget and one service token: 300 links from 30 clients all succeed', async () => {
    const cluster = await startCluster(redis, 300, { AUTH0_RATE_LIMIT: '20/10' });
    try {
      const started = Date.now();
      const outcomes = await runLinks(cluster, 0, 300);
      report('configured 20/10', 300, Date.now() - started, cluster.emulator);

      expect(outcomes.filter((o) => o !== 'ok')).toEqual([]);
      const { created, limited } = linkStatuses(cluster.emulator);
      expect(created).toBe(300);
      expect(limited).toBeLessThanOrEqual(3);
      // The replicas shared the first token they fetched (readiness checks fetch none).
      expect(cluster.emulator.journal.count('token')).toBe(1);
    } finally {
      await cluster.close();
    }
  }, 90_000);

  it('learn one budget from any replica’s x-ratelimit headers when AUTH0_RATE_LIMIT is unset', async () => {
    const cluster = await startCluster(redis, 300, {});
    try {
      const started = Date.now();
      const outcomes = await runLinks(cluster, 0, 300);
      report('learned', 300, Date.now() - started, cluster.emulator);

      expect(outcomes.filter((o) => o !== 'ok')).toEqual([]);
      const { created, limited } = linkStatuses(cluster.emulator);
      expect(created).toBe(300);
      // No link failed for the 429s it met: each is retried at the learned pace, ahead of new calls.
      expect(limited).toBeLessThanOrEqual(LEARNED_MAX_429);
      expect(cluster.emulator.journal.count('token')).toBe(1);
    } finally {
      await cluster.close();
    }
  }, 90_000);

  it('go on alone while Redis is down, say so in /readyz, and share again once it is back', async () => {
    // 150 links in the run, then one more through each replica.
    const cluster = await startCluster(redis, 150 + REPLICAS, { AUTH0_RATE_LIMIT: '20/10' });
    const allReadyz = () => Promise.all(cluster.gateways.map((g) => g.readyz()));
    try {
      let outage: Promise<void> | undefined;
      let recovery: Promise<void> | undefined;
      const outcomes = await runLinks(cluster, 0, 150, (completed) => {
        if (completed === 30) {
          outage = redis.stop().then(async () => {
            // Down for a good part of the run: every replica noticed, and none is "not ready".
            await waitFor(
              async () => (await allReadyz()).every((r) => r.body.checks.redis === false),
              10_000,
              'replicas see Redis down',
            );
            for (const r of await allReadyz()) {
              expect(r).toMatchObject({
                status: 200,
                body: { checks: { jwks: true, redis: false } },
              });
            }
          });
        }
        if (completed === 100) recovery = outage?.then(() => redis.start());
      });
      await recovery;

      expect(outcomes.filter((o) => o !== 'ok')).toEqual([]);
      expect(linkStatuses(cluster.emulator).created).toBe(150);

      await waitFor(
        async () => (await allReadyz()).every((r) => r.status === 200 && r.body.checks.redis === true),
        15_000,
        'replicas rejoin Redis',
      );
      for (const gateway of cluster.gateways) {
        const warnings = gateway.logLines().filter((l) => l.redis !== undefined);
        expect(warnings.map((l) => [l.level, l.redis])).toEqual([
          [40, 'unreachable'],
          [40, 'reachable'],
        ]);
      }
      const metrics = await (await fetch(`${cluster.gateways[0].origin}/metrics`)).text();
      expect(metrics).toMatch(/^auth0_link_gateway_redis_up 1$/m);

      // One token again: Auth0 refuses the replicas' token once each (a revocation); the first
      // fetches a new one and the other two take it from Redis.
      const tokensBefore = cluster.emulator.journal.count('token');
      const extra: string[] = [];
      for (let r = 0; r < REPLICAS; r++) {
        cluster.emulator.faults.add({
          route: 'link',
          status: 401,
          body: { statusCode: 401, error: 'Unauthorized', message: 'Invalid token' },
        });
        const response = await postGraphQL(
          cluster.gateways[r].url,
          {
            query: LINK,
            variables: {
              p: primaryId(r),
              i: { admin: { provider: 'auth0', userId: secondaryBare(150 + r) } },
            },
          },
          { token: cluster.adminTokens[r] },
        );
        extra.push(response.body.errors?.[0]?.extensions?.code ?? 'ok');
      }
      // Each retried with a token that works.
      expect(extra).toEqual(['ok', 'ok', 'ok']);
      expect(cluster.emulator.journal.count('token')).toBe(tokensBefore + 1);
    } finally {
      await cluster.close();
    }
  }, 90_000);

  it('count each caller’s link attempts across replicas: the 31st in a minute is refused before Auth0', async () => {
    // The callers are admin backends (client credentials): ADMIN_CALLER_RATE_LIMIT is theirs.
    const cluster = await startCluster(redis, 40, {
      AUTH0_RATE_LIMIT: '20/10',
      ADMIN_CALLER_RATE_LIMIT: '30/60',
    });
    const link = (r: number, client: number, secondary: number) =>
      postGraphQL(
        cluster.gateways[r % REPLICAS].url,
        {
          query: LINK,
          variables: {
            p: primaryId(client),
            i: { admin: { provider: 'auth0', userId: secondaryBare(secondary) } },
          },
        },
        { token: cluster.adminTokens[client] },
      );
    try {
      for (let i = 0; i < 30; i++) {
        const response = await link(i, 0, i);
        expect(response.body.errors).toBeUndefined();
      }
      const sent = cluster.emulator.journal.count('link');

      const refused = await link(30, 0, 30);
      expect(refused.body.errors?.[0]?.extensions).toMatchObject({
        code: 'RATE_LIMITED',
        reason: 'CALLER_LIMIT',
        retryAfter: expect.any(Number),
      });
      expect(refused.body.errors?.[0]?.extensions?.retryAfter).toBeGreaterThanOrEqual(1);
      expect(cluster.emulator.journal.count('link')).toBe(sent);

      // Another caller has a count of its own.
      const other = await link(31, 1, 31);
      expect(other.body.errors).toBeUndefined();
      expect(cluster.emulator.journal.count('link')).toBe(sent + 1);
    } finally {
      await cluster.close();
    }
  }, 60_000);
});
