// Tenant tags in every Redis key (DESIGN §13): gateways of two tenants on one Redis and one
// REDIS_KEY_PREFIX count neither each other's callers nor each other's replicas, and read neither
// each other's token nor APQ cache. The rate budget is the tenant's (Auth0 limits the tenant):
// gateways of one tenant with different client ids spend one bucket (review L14).
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { DEMO } from '../../src/auth0-emulator/index.js';
import { originDiscriminator, tenantDiscriminator } from '../../src/shared-state/tenant-key.js';
import { postGraphQL } from '../support/graphql-client.js';
import { waitFor } from '../support/gateway-process.js';
import { startHarness, type Harness } from '../support/harness.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';

const UNLINK =
  'mutation U($p: ID!, $provider: String!, $u: ID!) { unlinkAccount(primaryId: $p, provider: $provider, userId: $u) { identities { id } } }';
const READ = 'query R($id: ID!) { user(id: $id) { id } }';
const PREFIX = 'shared-prefix:';
const { alice } = DEMO.users;

/** An admin read of Alice: one service token, one Auth0 call taken from the rate budget. */
async function adminRead(h: Harness, origin = h.emulator) {
  const token = await origin.tokens.adminToken({ scope: 'update:users read:users' });
  return postGraphQL<{ user: { id: string } }>(h.url, { query: READ, variables: { id: alice } }, { token });
}

describe('two tenants on one Redis', () => {
  let redis: RedisServer;
  let inspector: Redis;
  let tenants: Harness[] = [];

  beforeAll(async () => {
    redis = await startRedisServer();
    inspector = new Redis(redis.url);
    // Two emulators are two tenants (their origins differ); the same user id exists in both.
    const env = {
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: PREFIX,
      CALLER_RATE_LIMIT: '2/60',
      AUTH0_RATE_LIMIT: '50/50',
    };
    tenants = [await startHarness({ env }), await startHarness({ env })];
  });
  afterAll(async () => {
    await Promise.all(tenants.map((h) => h.close()));
    inspector.disconnect();
    await redis.stop();
  });

  const attempt = async (h: Harness) => {
    const token = await h.emulator.tokens.userAccessToken({ sub: alice });
    const result = await postGraphQL(
      h.url,
      { query: UNLINK, variables: { p: alice, provider: 'github', u: '4031337' } },
      { token },
    );
    return result.body.errors?.[0]?.extensions?.reason;
  };

  it('keep separate caller counters for the same user id', async () => {
    const [a, b] = tenants;
    expect(await attempt(a)).not.toBe('CALLER_LIMIT');
    expect(await attempt(a)).not.toBe('CALLER_LIMIT');
    expect(await attempt(a)).toBe('CALLER_LIMIT');
    // The other tenant's Alice has used none of her attempts.
    expect(await attempt(b)).not.toBe('CALLER_LIMIT');
    expect(await attempt(b)).not.toBe('CALLER_LIMIT');
    expect(await attempt(b)).toBe('CALLER_LIMIT');
  });

  it("write the service token, rate budget, APQ, caller and replica keys under the prefix and their tenant's tags", async () => {
    const query = 'query Registered { __typename }';
    const sha256Hash = createHash('sha256').update(query).digest('hex');
    for (const h of tenants) {
      expect((await adminRead(h)).body.errors).toBeUndefined();
      await attempt(h);
      const registered = await postGraphQL(h.url, {
        query,
        extensions: { persistedQuery: { version: 1, sha256Hash } },
      });
      expect(registered.body.errors).toBeUndefined();
    }
    const clientTags = tenants.map((h) =>
      tenantDiscriminator({ origin: h.emulator.origin, clientId: DEMO.serviceClientId }),
    );
    const originTags = tenants.map((h) => originDiscriminator(h.emulator.origin));
    expect(new Set([...clientTags, ...originTags]).size).toBe(4);
    // Apollo stores a registration after it answers: wait for both.
    await waitFor(
      async () =>
        (await Promise.all(clientTags.map((tag) => inspector.keys(`${PREFIX}${tag}:apq:*`)))).every(
          (found) => found.length > 0,
        ),
      5000,
      'both registrations stored',
    );

    const keys = await inspector.keys('*');
    // The tag as a cluster hash tag (`{tag}`: keys used together) or plain (keys spread over shards).
    const tagged = new RegExp(
      `^${PREFIX}(\\{(${[...clientTags, ...originTags].join('|')})\\}|${[...clientTags, ...originTags].join('|')}):`,
    );
    for (const key of keys) expect(key).toMatch(tagged);
    for (const [i, tag] of clientTags.entries()) {
      const under = (prefix: string) => keys.filter((key) => key.startsWith(`${PREFIX}${prefix}`));
      expect(under(`{${tag}}:service-token:`)).toHaveLength(1);
      expect(under(`${tag}:caller:`).length).toBeGreaterThan(0);
      expect(under(`${tag}:apq:`)).toHaveLength(1);
      expect(under(`{${originTags[i]}}:auth0-budget:`)).toHaveLength(1);
      expect(await inspector.zcard(`${PREFIX}{${originTags[i]}}:replicas`)).toBe(1);
    }
  });
});

describe('two clients of one tenant on one Redis', () => {
  let redis: RedisServer;
  let inspector: Redis;
  let gateways: Harness[] = [];

  beforeAll(async () => {
    redis = await startRedisServer();
    inspector = new Redis(redis.url);
    // A burst of a few calls that comes back at one call per 100 s: once spent, a call is refused at once.
    const env = {
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: PREFIX,
      AUTH0_RATE_LIMIT: '0.01/4',
      AUTH0_MAX_WAIT_MS: '200',
    };
    const a = await startHarness({ env });
    // The same tenant (A's emulator) through another machine-to-machine client.
    const b = await startHarness({
      env: {
        ...env,
        AUTH0_DOMAIN: a.emulator.origin,
        AUTH0_CLIENT_ID: DEMO.adminClientId,
        AUTH0_CLIENT_SECRET: DEMO.adminClientSecret,
      },
    });
    gateways = [a, b];
  });
  afterAll(async () => {
    await Promise.all(gateways.map((h) => h.close()));
    inspector.disconnect();
    await redis.stop();
  });

  it('spend one rate budget (Auth0 limits the tenant), each with its own service token', async () => {
    const [a, b] = gateways;
    const tenant = a.emulator;
    const refusedForBudget = (result: Awaited<ReturnType<typeof adminRead>>) =>
      result.body.errors?.[0]?.extensions?.reason === 'TENANT_LIMIT';
    // B spends one call (and fetches its token), then A spends the rest of the tenant's budget.
    expect((await adminRead(b, tenant)).body.errors).toBeUndefined();
    let readsOfA = 0;
    while (!refusedForBudget(await adminRead(a))) expect(++readsOfA).toBeLessThan(5);
    expect(readsOfA).toBeGreaterThan(0);
    const calls = tenant.journal.count('get-user');
    expect(calls).toBe(1 + readsOfA);

    const refused = await adminRead(b, tenant);
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({
      code: 'RATE_LIMITED',
      reason: 'TENANT_LIMIT',
    });
    expect(tenant.journal.count('get-user')).toBe(calls);

    const budgetKeys = await inspector.keys('*auth0-budget*');
    expect(budgetKeys).toEqual([`${PREFIX}{${originDiscriminator(tenant.origin)}}:auth0-budget:tenant`]);
    const tokenKeys = await inspector.keys('*service-token:*');
    expect(tokenKeys.map((key) => key.slice(PREFIX.length + 1, PREFIX.length + 13)).sort()).toEqual(
      [DEMO.serviceClientId, DEMO.adminClientId]
        .map((clientId) => tenantDiscriminator({ origin: tenant.origin, clientId }))
        .sort(),
    );
  });
});
