// Apollo's automatic persisted queries shared through Redis (DESIGN §10), bounded in time and size:
// anyone may register one, without a token (review H2).
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { APQ_LIMITS } from '../../src/documents/persisted-queries.js';
import { postGraphQL } from '../support/graphql-client.js';
import { waitFor } from '../support/gateway-process.js';
import { startHarness, type Harness } from '../support/harness.js';
import { freePort, startRedisServer, type RedisServer } from '../support/redis-server.js';

const QUERY = 'query Typename { __typename }';
const persistedQueryOf = (query: string) => ({
  persistedQuery: { version: 1, sha256Hash: createHash('sha256').update(query).digest('hex') },
});
const persisted = persistedQueryOf(QUERY);

describe('persisted queries across replicas', () => {
  let redis: RedisServer;
  const running: Harness[] = [];
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((h) => h.close()));
  });
  afterAll(async () => {
    await redis.stop();
  });

  /** A gateway on `redisUrl`; with `tenantOf`, a replica of that one (the same Auth0 tenant and client). */
  async function replica(redisUrl: string, tenantOf?: Harness): Promise<Harness> {
    const sameTenant: Record<string, string> = tenantOf ? { AUTH0_DOMAIN: tenantOf.emulator.origin } : {};
    const h = await startHarness({
      env: { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: 'apq-test:', ...sameTenant },
    });
    running.push(h);
    return h;
  }

  it('serves by hash on replica B a query registered on replica A', async () => {
    const a = await replica(redis.url);
    const b = await replica(redis.url, a);
    const unknown = await postGraphQL(b.url, { extensions: persisted });
    expect(unknown.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');

    const registered = await postGraphQL(a.url, { query: QUERY, extensions: persisted });
    expect(registered.body).toEqual({ data: { __typename: 'Query' } });

    // Apollo stores the query after answering: B finds it once A's write has landed.
    await waitFor(
      async () => !(await postGraphQL(b.url, { extensions: persisted })).body.errors,
      5000,
      'query registered through A',
    );
    const served = await postGraphQL(b.url, { extensions: persisted });
    expect(served.body).toEqual({ data: { __typename: 'Query' } });
  });

  it('refuses a hash that does not match its query, or an unknown version, as BAD_REQUEST (HTTP 400)', async () => {
    const h = await replica(redis.url);
    const wrongHash = { persistedQuery: { version: 1, sha256Hash: '0'.repeat(64) } };
    const mismatched = await postGraphQL(h.url, { query: QUERY, extensions: wrongHash });
    expect(mismatched.status).toBe(400);
    expect(mismatched.body.errors?.[0]?.extensions).toEqual({ code: 'BAD_REQUEST' });
    const version = await postGraphQL(h.url, {
      query: QUERY,
      extensions: { persistedQuery: { ...persisted.persistedQuery, version: 2 } },
    });
    expect(version.status).toBe(400);
    expect(version.body.errors?.[0]?.extensions).toEqual({ code: 'BAD_REQUEST' });
  });

  it('answers full queries as usual while Redis is unreachable (a lookup is a miss)', async () => {
    const h = await replica(`redis://127.0.0.1:${await freePort()}`);
    const byHash = await postGraphQL(h.url, { extensions: persisted });
    expect(byHash.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    const full = await postGraphQL(h.url, { query: QUERY, extensions: persisted });
    expect(full.body).toEqual({ data: { __typename: 'Query' } });
  });

  describe('bounds on what a registration leaves in Redis', () => {
    let inspector: Redis;
    beforeAll(() => {
      inspector = new Redis(redis.url);
    });
    afterAll(() => inspector.disconnect());

    const apqKeys = () => inspector.keys('apq-test:*apq*');
    /** Registers `query` (anonymously) and answers the response. */
    const register = (h: Harness, query: string) =>
      postGraphQL(h.url, { query, extensions: persistedQueryOf(query) });
    /** Registers a small document and waits for its key: earlier writes (one connection) have landed too. */
    async function registerMarker(h: Harness): Promise<string> {
      const marker = `query Marker${Date.now()} { __typename }`;
      const before = new Set(await apqKeys());
      expect((await register(h, marker)).body.errors).toBeUndefined();
      let added: string[] = [];
      await waitFor(
        async () => (added = (await apqKeys()).filter((key) => !before.has(key))).length > 0,
        5000,
        'the marker registered',
      );
      return added[0];
    }

    it(`stores a registration with an expiry of ${APQ_LIMITS.ttlSeconds} s`, async () => {
      const h = await replica(redis.url);
      const key = await registerMarker(h);
      const ttlMs = await inspector.pttl(key);
      expect(ttlMs).toBeGreaterThan((APQ_LIMITS.ttlSeconds - 60) * 1000);
      expect(ttlMs).toBeLessThanOrEqual(APQ_LIMITS.ttlSeconds * 1000);
    });

    it(`runs a registration over ${APQ_LIMITS.maxStoredBytes} bytes (a 10 KB comment) but does not store it`, async () => {
      const h = await replica(redis.url);
      const large = `query Large { __typename } # ${'x'.repeat(10_000)}`;
      const before = await apqKeys();
      expect((await register(h, large)).body).toEqual({ data: { __typename: 'Query' } });

      await registerMarker(h);
      expect(await apqKeys()).toHaveLength(before.length + 1);
      const byHash = await postGraphQL(h.url, { extensions: persistedQueryOf(large) });
      expect(byHash.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    });

    it('refuses a registration with a 200 KB comment as GRAPHQL_PARSE_FAILED and stores nothing', async () => {
      const h = await replica(redis.url);
      const huge = `query Huge { __typename } # ${'x'.repeat(200_000)}`;
      const before = await apqKeys();
      const refused = await register(h, huge);
      expect(refused.body.errors?.map((e) => e.extensions?.code)).toEqual(['GRAPHQL_PARSE_FAILED']);

      await registerMarker(h);
      expect(await apqKeys()).toHaveLength(before.length + 1);
      const byHash = await postGraphQL(h.url, { extensions: persistedQueryOf(huge) });
      expect(byHash.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    });
  });
});
