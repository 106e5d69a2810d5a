// The read cache across two real replicas sharing one Redis (DESIGN §11), linked ids that keep
// resolving (§2), and the learned budget's cautious start (§8). One emulator, one Redis and two
// gateway processes for the whole suite; in-process gateways where a test needs other settings.
import { Redis } from 'ioredis';
import { startAuth0Emulator, DEMO, type Auth0Emulator } from '../../src/auth0-emulator/index.js';
import { loadConfig } from '../../src/config.js';
import { startGateway, type RunningGateway } from '../../src/gateway.js';
import { createLogger } from '../../src/observability/logger.js';
import { deriveTokenKeys, openValue } from '../../src/shared-state/token-crypto.js';
import { startGatewayProcess, waitFor, type GatewayProcess } from '../support/gateway-process.js';
import { postGraphQL, type GraphQLErrorShape } from '../support/graphql-client.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';

const PREFIX = 'read-cache-test:';
const USER = 'query U($id: ID!) { user(id: $id) { id name emailVerified identities { id } } }';
const ENTITIES =
  'query E($r: [_Any!]!) { _entities(representations: $r) { ... on User { id identities { id } } } }';
const LINK =
  'mutation L($p: ID!, $i: LinkAccountsInput!) { linkAccounts(primaryId: $p, input: $i) { identities { id } } }';
const UNLINK =
  'mutation U($p: ID!, $provider: String!, $u: ID!) { unlinkAccount(primaryId: $p, provider: $provider, userId: $u) { identities { id } } }';

const id = (name: string) => `auth0|cache${name.padEnd(20, '0')}`;
const bare = (userId: string) => userId.slice(userId.indexOf('|') + 1);
const GOOGLE_TOKEN = 'ya29.cache-test-provider-access-token';

interface ReadUser {
  id: string;
  name: string | null;
  emailVerified: boolean | null;
  identities: { id: string }[];
}

let emulator: Auth0Emulator;
let redis: RedisServer;
let a: GatewayProcess;
let b: GatewayProcess;
let admin: string;

function seed(name: string, extra: Record<string, unknown> = {}) {
  const userId = id(name);
  emulator.tenant.addUser({
    user_id: userId,
    email: `${name}@cache.example.com`,
    email_verified: true,
    name,
    ...extra,
  });
  return userId;
}

async function readUser(url: string, userId: string): Promise<ReadUser | null> {
  const result = await postGraphQL<{ user: ReadUser | null }>(
    url,
    { query: USER, variables: { id: userId } },
    { token: admin },
  );
  expect(result.body.errors).toBeUndefined();
  return result.body.data?.user ?? null;
}

async function readEntity(url: string, userId: string) {
  const result = await postGraphQL<{ _entities: ({ id: string; identities: { id: string }[] } | null)[] }>(
    url,
    { query: ENTITIES, variables: { r: [{ __typename: 'User', id: userId }] } },
    { token: admin },
  );
  expect(result.body.errors).toBeUndefined();
  return result.body.data?._entities[0] ?? null;
}

async function link(url: string, primaryId: string, secondaryId: string): Promise<GraphQLErrorShape | null> {
  const result = await postGraphQL(
    url,
    {
      query: LINK,
      variables: { p: primaryId, i: { admin: { provider: 'auth0', userId: bare(secondaryId) } } },
    },
    { token: admin },
  );
  return result.body.errors?.[0] ?? null;
}

async function unlink(url: string, primaryId: string, secondaryId: string) {
  const result = await postGraphQL(
    url,
    { query: UNLINK, variables: { p: primaryId, provider: 'auth0', u: bare(secondaryId) } },
    { token: admin },
  );
  expect(result.body.errors).toBeUndefined();
}

/** A change made outside the gateway (the dashboard, another service): PATCH with a token of its own. */
async function patchDirectly(userId: string, body: Record<string, unknown>) {
  const token = await emulator.tokens.adminToken({ sub: 'dashboard@clients', scope: 'update:users' });
  const response = await fetch(`${emulator.origin}/api/v2/users/${encodeURIComponent(userId)}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
}

const readsOf = (userId: string) =>
  emulator.journal.entries({ route: 'get-user' }).filter((e) => decodeURIComponent(e.path).endsWith(userId))
    .length;
const aliasSearchesOf = (userId: string) =>
  emulator.journal
    .entries({ route: 'search-users' })
    .filter((e) => e.query.q?.startsWith('identities.') && e.query.q.includes(`"${bare(userId)}"`)).length;

/** A gateway in this process against the suite's emulator, with its own settings. */
async function startInProcess(env: Record<string, string>): Promise<RunningGateway> {
  const config = loadConfig({
    AUTH0_DOMAIN: emulator.origin,
    AUTH0_CLIENT_ID: DEMO.serviceClientId,
    AUTH0_CLIENT_SECRET: DEMO.serviceClientSecret,
    PORT: '0',
    LOG_LEVEL: 'silent',
    CALLER_RATE_LIMIT: '1000000/60',
    ...env,
  });
  return startGateway(config, { logger: createLogger({ level: 'silent' }) });
}

beforeAll(async () => {
  [emulator, redis] = await Promise.all([startAuth0Emulator({ port: 0 }), startRedisServer()]);
  // The service client may read provider tokens: Auth0 then sends them inside identities.
  emulator.tenant.addClient({
    client_id: DEMO.serviceClientId,
    client_secret: DEMO.serviceClientSecret,
    app_type: 'non_interactive',
    grant_types: ['client_credentials'],
    scopes: ['read:users', 'update:users', 'read:user_idp_tokens'],
  });
  admin = await emulator.tokens.adminToken({ scope: 'update:users read:users' });
  const env = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: PREFIX, USER_CACHE_TTL_MS: '60000' };
  [a, b] = await Promise.all([
    startGatewayProcess(emulator.origin, env),
    startGatewayProcess(emulator.origin, env),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await emulator?.close();
  await redis?.stop();
});

describe('the read cache across two replicas sharing Redis (DESIGN §11)', () => {
  it('shows a link made through one replica on the other at once, and an unlink the other way round', async () => {
    const primary = seed('invalp');
    const secondary = seed('invals', { email: 'invalp@cache.example.com' });
    // Both replicas hold the primary before the change; a second read is served from the cache.
    expect((await readUser(b.url, primary))?.identities.map((i) => i.id)).toEqual([primary]);
    expect((await readUser(a.url, primary))?.identities.map((i) => i.id)).toEqual([primary]);
    await readUser(b.url, primary);
    expect(readsOf(primary)).toBe(1);

    expect(await link(a.url, primary, secondary)).toBeNull();
    expect((await readUser(b.url, primary))?.identities.map((i) => i.id)).toEqual([primary, secondary]);

    await unlink(b.url, primary, secondary);
    expect((await readUser(a.url, primary))?.identities.map((i) => i.id)).toEqual([primary]);
  });

  it('answers a linked-away secondary id with its primary, and with the user again after the unlink', async () => {
    const primary = seed('aliasp');
    const secondary = seed('aliass', { email: 'aliasp@cache.example.com' });
    expect((await readUser(a.url, secondary))?.id).toBe(secondary);
    expect((await readEntity(b.url, secondary))?.id).toBe(secondary);

    expect(await link(a.url, primary, secondary)).toBeNull();
    for (const gateway of [a, b]) {
      const user = await readUser(gateway.url, secondary);
      expect(user?.id).toBe(primary);
      expect(user?.identities.map((i) => i.id)).toEqual([primary, secondary]);
      expect((await readEntity(gateway.url, secondary))?.id).toBe(primary);
    }
    // The link's own answer told the alias: no search for it, whichever replica asks (again).
    const searches = aliasSearchesOf(secondary);
    expect(searches).toBe(0);
    await readUser(b.url, secondary);
    await readEntity(a.url, secondary);
    expect(aliasSearchesOf(secondary)).toBe(searches);

    await unlink(b.url, primary, secondary);
    for (const gateway of [a, b]) {
      expect((await readUser(gateway.url, secondary))?.id).toBe(secondary);
      expect((await readEntity(gateway.url, secondary))?.id).toBe(secondary);
    }
  });

  it('shows a link through the other replica right after it, though Auth0 search still shows the tenant before it', async () => {
    const primary = seed('lagp');
    const secondary = seed('lags', { email: 'lagp@cache.example.com' });
    // Read for the first time right after the link, in the same batch: with two ids to read, the
    // batch searches, but only for this one.
    const other = seed('lago');
    const batch = (url: string, ids: string[]) =>
      postGraphQL<{ _entities: { id: string; identities: { id: string }[] }[] }>(
        url,
        { query: ENTITIES, variables: { r: ids.map((userId) => ({ __typename: 'User', id: userId })) } },
        { token: admin },
      );
    // Both replicas and Redis hold the two users as they are before the link.
    const before = await batch(b.url, [primary, secondary]);
    expect(before.body.data?._entities.map((e) => e.id)).toEqual([primary, secondary]);
    expect((await readUser(a.url, secondary))?.id).toBe(secondary);
    // From now on Auth0's search answers from the tenant as it is before the link (its index lags).
    emulator.tenant.lagSearch();
    try {
      expect(await link(a.url, primary, secondary)).toBeNull();
      const linked = [primary, secondary];
      for (let round = 0; round < 2; round++) {
        for (const gateway of [b, a]) {
          const entities = (await batch(gateway.url, [primary, secondary, other])).body.data?._entities;
          expect(entities?.map((e) => e.id)).toEqual([primary, primary, other]);
          expect(entities?.map((e) => e.identities.map((i) => i.id))).toEqual([linked, linked, [other]]);
          const user = await readUser(gateway.url, secondary);
          expect(user?.id).toBe(primary);
          expect(user?.identities.map((i) => i.id)).toEqual(linked);
        }
      }

      await unlink(b.url, primary, secondary);
      for (const gateway of [a, b]) {
        expect((await readUser(gateway.url, secondary))?.id).toBe(secondary);
        expect((await readUser(gateway.url, primary))?.identities.map((i) => i.id)).toEqual([primary]);
      }
    } finally {
      emulator.tenant.catchUpSearch();
    }
  });

  it("drops another replica's email lists that name the users an unlink touched", async () => {
    const primary = seed('listp');
    const secondary = seed('lists', { email: 'listp@cache.example.com' });
    // Linked outside the gateway (the dashboard): no invalidation, nothing marked as changed.
    const token = await emulator.tokens.adminToken({ sub: 'dashboard@clients', scope: 'update:users' });
    const linked = await fetch(`${emulator.origin}/api/v2/users/${encodeURIComponent(primary)}/identities`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ provider: 'auth0', user_id: bare(secondary) }),
    });
    expect(linked.status).toBe(201);
    const candidates = async (url: string) => {
      const result = await postGraphQL<{ linkCandidates: { id: string }[] }>(
        url,
        { query: 'query C($p: ID!) { linkCandidates(primaryId: $p) { id } }', variables: { p: primary } },
        { token: admin },
      );
      expect(result.body.errors).toBeUndefined();
      return result.body.data!.linkCandidates;
    };
    // While linked, the email's list names the primary only; replica A and Redis hold it now.
    expect(await candidates(a.url)).toEqual([]);
    const emailSearches = () =>
      emulator.journal.entries({ route: 'search-users' }).filter((e) => e.query.q?.includes('listp@')).length;
    expect(await candidates(a.url)).toEqual([]);
    expect(emailSearches()).toBe(1);

    // Replica B never read that list: Redis knows it names the primary.
    await unlink(b.url, primary, secondary);
    expect(await candidates(a.url)).toEqual([{ id: secondary }]);
  });

  it('keeps only a user one of whose identities has both the provider and the user id', async () => {
    // The search matches this user's two identities term by term: "auth0" in one, the id in the other.
    const decoy = seed('decoy', {
      identities: [
        { provider: 'auth0', user_id: bare(id('decoy')), connection: 'Username-Password-Authentication' },
        { provider: 'github', user_id: bare(id('absent')), connection: 'github' },
      ],
    });
    expect(decoy).toBe(id('decoy'));
    expect(await readUser(a.url, id('absent'))).toBeNull();
    expect(aliasSearchesOf(id('absent'))).toBe(1);
  });

  it('costs one GET and one search for 20 reads of an unknown id through two replicas, for 5 s', async () => {
    const unknown = id('nobody');
    const firstReadAt = Date.now();
    for (let i = 0; i < 20; i++) {
      expect(await readUser(i % 2 === 0 ? a.url : b.url, unknown)).toBeNull();
    }
    // The negative entry is in Redis: the other replica does not ask Auth0 again.
    expect(readsOf(unknown)).toBe(1);
    expect(aliasSearchesOf(unknown)).toBe(1);
    // It lives 5 s: Auth0 is asked again once it has expired (1.5 s margin for a loaded machine).
    await waitFor(
      async () => {
        await readUser(b.url, unknown);
        return readsOf(unknown) === 2;
      },
      5_000 + 1_500 - (Date.now() - firstReadAt),
      'the unknown id read again after 5 s',
    );
    expect(aliasSearchesOf(unknown)).toBe(2);
  });

  it('reads the users fresh for the verified-email policy: a change made in Auth0 refuses the next admin link', async () => {
    const primary = seed('policyp');
    const secondary = seed('policys', { email: 'policyp@cache.example.com' });
    expect((await readUser(a.url, primary))?.emailVerified).toBe(true);
    await patchDirectly(primary, { email_verified: false });
    // The read cache still holds the verified user…
    expect((await readUser(a.url, primary))?.emailVerified).toBe(true);
    // …but the policy reads Auth0.
    const error = await link(a.url, primary, secondary);
    expect(error?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'EMAIL_NOT_VERIFIED' });
    expect(emulator.journal.entries({ route: 'link' }).filter((e) => e.path.includes(bare(primary)))).toEqual(
      [],
    );
  });

  it('keeps provider tokens out of the cache and no readable profile in Redis', async () => {
    const userId = seed('tokens', {
      identities: [
        {
          provider: 'google-oauth2',
          user_id: '108000000000000000077',
          connection: 'google-oauth2',
          access_token: GOOGLE_TOKEN,
          refresh_token: 'cache-test-refresh-token',
        },
      ],
    });
    const direct = await fetch(`${emulator.origin}/api/v2/users/${encodeURIComponent(userId)}`, {
      headers: { authorization: `Bearer ${await serviceToken()}` },
    });
    // Auth0 does hand this client the provider's token…
    expect(await direct.text()).toContain(GOOGLE_TOKEN);
    const result = await postGraphQL(a.url, { query: USER, variables: { id: userId } }, { token: admin });
    expect(result.text).not.toContain(GOOGLE_TOKEN);
    await readUser(b.url, userId);

    const client = new Redis(redis.url);
    try {
      const names = (await client.keys(`${PREFIX}*`)).filter((name) => name.includes('user-cache'));
      const values = await client.mget(...names);
      const stored = names
        .map((name, i) => ({ name, value: values[i] }))
        .filter((e): e is { name: string; value: string } => e.value !== null && !e.value.startsWith('!'));
      expect(stored.length).toBeGreaterThan(0);
      for (const text of stored.flatMap((e) => [e.name, e.value])) {
        expect(text).not.toContain('cache.example.com');
        expect(text).not.toContain(bare(userId));
        expect(text).not.toContain(GOOGLE_TOKEN);
      }
      // Opened with the keys only the gateway's client secret gives: the user is there, its tokens are not.
      const keys = deriveTokenKeys(
        DEMO.serviceClientSecret,
        `user-cache|${emulator.origin}|${DEMO.serviceClientId}`,
      );
      // A value is `<sealed>` or `<sealed>.<updated_at ms>`.
      const opened = stored.map((e) =>
        JSON.stringify(openValue(keys, e.value.replace(/\.\d+$/, ''), e.name) ?? null),
      );
      const entry = opened.find((text) => text.includes(userId));
      expect(entry).toBeDefined();
      expect(entry).toContain('tokens@cache.example.com');
      expect(entry).not.toContain(GOOGLE_TOKEN);
      expect(entry).not.toContain('access_token');
      expect(entry).not.toContain('refresh_token');
    } finally {
      client.disconnect();
    }
  });

  it('serves reads while Redis is down, trusting local entries 5 s at most, and shares again once it is back', async () => {
    const userId = seed('outage');
    expect((await readUser(a.url, userId))?.name).toBe('outage');
    await redis.stop();
    try {
      await waitFor(async () => (await b.readyz()).body.checks.redis === false, 10_000, 'B sees Redis down');
      const keptFrom = Date.now();
      expect((await readUser(b.url, userId))?.name).toBe('outage');
      await patchDirectly(userId, { name: 'outage renamed' });
      // The TTL is 60 s and Redis stays down throughout: only the 5 s cap on local entries can make
      // the change show (1.5 s margin for a loaded machine), not a reconnect.
      await waitFor(
        async () => (await readUser(b.url, userId))?.name === 'outage renamed',
        5_000 + 1_500 - (Date.now() - keptFrom),
        'change seen within 5 s',
      );
      expect((await b.readyz()).body.checks.redis).toBe(false);
    } finally {
      await redis.start();
    }
    await waitFor(async () => (await a.readyz()).body.checks.redis === true, 15_000, 'A sees Redis back');
    expect((await readUser(a.url, userId))?.name).toBe('outage renamed');
  }, 45_000);
});

async function serviceToken(): Promise<string> {
  const response = await fetch(`${emulator.origin}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      grant_type: 'client_credentials',
      client_id: DEMO.serviceClientId,
      client_secret: DEMO.serviceClientSecret,
      audience: `${emulator.origin}/api/v2/`,
    }),
  });
  return ((await response.json()) as { access_token: string }).access_token;
}

describe('the read cache alone (in-process gateways)', () => {
  it('shows a change made directly in Auth0 once the TTL has passed, not before', async () => {
    const ttlMs = 1500;
    const gateway = await startInProcess({
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: 'read-cache-ttl:',
      USER_CACHE_TTL_MS: String(ttlMs),
    });
    try {
      const userId = seed('ttl');
      expect((await readUser(gateway.url, userId))?.name).toBe('ttl');
      const filledAt = Date.now();
      await patchDirectly(userId, { name: 'ttl renamed' });
      const seen: { afterMs: number; name: string | null | undefined }[] = [];
      // Shown no later than the TTL after the fill (1 s margin for a loaded machine)…
      await waitFor(
        async () => {
          const afterMs = Date.now() - filledAt;
          const name = (await readUser(gateway.url, userId))?.name;
          seen.push({ afterMs, name });
          return name === 'ttl renamed';
        },
        ttlMs + 1_000 - (Date.now() - filledAt),
        'the change shows once the TTL has passed',
      );
      // …and not before: every read that began well within the TTL answered from the cache (the margin: the entry
      // was stored before `filledAt`, and a loaded machine can hold a request a few hundred ms).
      expect(seen.filter((s) => s.afterMs < ttlMs - 500).every((s) => s.name === 'ttl')).toBe(true);
      expect(seen[0].name).toBe('ttl');
    } finally {
      await gateway.close();
    }
  });

  it('USER_CACHE_TTL_MS=0 reads Auth0 every time', async () => {
    const gateway = await startInProcess({ USER_CACHE_TTL_MS: '0' });
    try {
      const userId = seed('nocache');
      await readUser(gateway.url, userId);
      await readUser(gateway.url, userId);
      expect(readsOf(userId)).toBe(2);
    } finally {
      await gateway.close();
    }
  });
});

describe('the learned budget’s cautious start (DESIGN §8)', () => {
  it('lets five links through while the first Auth0 call hangs 3 s, with no TENANT_LIMIT', async () => {
    // Learned mode (no AUTH0_RATE_LIMIT), nothing learned yet: a fresh process, no shared bucket.
    const gateway = await startInProcess({ ADMIN_LINK_POLICY: 'trust', USER_CACHE_TTL_MS: '0' });
    try {
      const pairs = Array.from({ length: 6 }, (_, i) => [seed(`slowp${i}`), seed(`slows${i}`)] as const);
      // Whichever link reaches the emulator first hangs 3 s.
      emulator.faults.add({ route: 'link', latencyMs: 3000 });
      let whenFiveAnswered: number[] = [];
      let answered = 0;
      const before = emulator.journal.count('link');
      const outcomes = await Promise.all(
        pairs.map(([p, s]) =>
          link(gateway.url, p, s).then((error) => {
            if (++answered === 5) {
              const links = emulator.journal.entries({ route: 'link' });
              whenFiveAnswered = links.slice(before).map((e) => e.status);
            }
            return error;
          }),
        ),
      );
      expect(outcomes).toEqual(pairs.map(() => null));
      // Five were sent and answered while the first call Auth0 received was still unanswered.
      expect(whenFiveAnswered).toEqual([0, 201, 201, 201, 201, 201]);
    } finally {
      await gateway.close();
    }
  }, 20_000);
});
