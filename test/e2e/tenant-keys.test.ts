// A tenant tag in every Redis key (DESIGN §13): gateways of two tenants on one Redis and one
// REDIS_KEY_PREFIX count neither each other's callers nor each other's replicas.
import { Redis } from 'ioredis';
import { DEMO } from '../../src/auth0-emulator/index.js';
import { tenantDiscriminator } from '../../src/shared-state/tenant-key.js';
import { postGraphQL } from '../support/graphql-client.js';
import { startHarness, type Harness } from '../support/harness.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';

const UNLINK =
  'mutation U($p: ID!, $provider: String!, $u: ID!) { unlinkAccount(primaryId: $p, provider: $provider, userId: $u) { identities { id } } }';
const PREFIX = 'shared-prefix:';
const { alice } = DEMO.users;

describe('two tenants on one Redis', () => {
  let redis: RedisServer;
  let inspector: Redis;
  let tenants: Harness[] = [];

  beforeAll(async () => {
    redis = await startRedisServer();
    inspector = new Redis(redis.url);
    // Two emulators are two tenants (their origins differ); the same user id exists in both.
    const env = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: PREFIX, CALLER_RATE_LIMIT: '2/60' };
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

  it('write every key under the prefix and their own tenant tag, replicas and caller keys included', async () => {
    const tags = tenants.map((h) =>
      tenantDiscriminator({ origin: h.emulator.origin, clientId: DEMO.serviceClientId }),
    );
    expect(tags[0]).not.toBe(tags[1]);
    const keys = await inspector.keys('*');
    for (const key of keys) expect(key).toMatch(new RegExp(`^${PREFIX}(${tags.join('|')}):`));
    for (const tag of tags) {
      expect(keys).toContain(`${PREFIX}${tag}:replicas`);
      expect(keys.some((key) => key.startsWith(`${PREFIX}${tag}:caller:`))).toBe(true);
      expect(await inspector.zcard(`${PREFIX}${tag}:replicas`)).toBe(1);
    }
  });
});
