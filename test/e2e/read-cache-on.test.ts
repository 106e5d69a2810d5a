// Read-cache promises that only show with the cache on (DESIGN §11, docs/reads-and-freshness.md):
// one real gateway with the read cache on (in this process, then shared through a real Redis),
// the emulator over HTTP, and its journal as the record of what reached Auth0.
import { startHarness, type Harness } from '../support/harness.js';
import { postGraphQL } from '../support/graphql-client.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';

const USER = 'query U($id: ID!) { user(id: $id) { id name identities { id } } }';
const ENTITIES =
  'query E($r: [_Any!]!) { _entities(representations: $r) { ... on User { id identities { id } } } }';
const CANDIDATES = 'query C($p: ID!) { linkCandidates(primaryId: $p) { id } }';
const LINK =
  'mutation L($p: ID!, $i: LinkAccountsInput!) { linkAccounts(primaryId: $p, input: $i) { identities { id } user { id name } } }';

const id = (name: string) => `auth0|on${name.padEnd(22, '0')}`;
const bare = (userId: string) => userId.slice(userId.indexOf('|') + 1);

let h: Harness;
let admin: string;

function seed(name: string, extra: Record<string, unknown> = {}) {
  const userId = id(name);
  h.emulator.tenant.addUser({
    user_id: userId,
    email: `${name}@on.example.com`,
    email_verified: true,
    name,
    ...extra,
  });
  return userId;
}

async function gql<T>(query: string, variables: Record<string, unknown>) {
  const result = await postGraphQL<T>(h.url, { query, variables }, { token: admin });
  return result.body;
}

async function readUser(userId: string) {
  const body = await gql<{ user: { id: string; name: string | null; identities: { id: string }[] } | null }>(
    USER,
    { id: userId },
  );
  expect(body.errors).toBeUndefined();
  return body.data!.user;
}

function linkInput(secondaryId: string, mergeMetadata = false) {
  return { admin: { provider: 'auth0', userId: bare(secondaryId), mergeMetadata } };
}

/** A change made outside the gateway (the dashboard): PATCH with a token of its own. */
async function patchDirectly(userId: string, body: Record<string, unknown>) {
  const token = await h.emulator.tokens.adminToken({ sub: 'dashboard@clients', scope: 'update:users' });
  const response = await fetch(`${h.emulator.origin}/api/v2/users/${encodeURIComponent(userId)}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
}

async function linkDirectly(primaryId: string, secondaryId: string) {
  const token = await h.emulator.tokens.adminToken({ sub: 'dashboard@clients', scope: 'update:users' });
  const response = await fetch(
    `${h.emulator.origin}/api/v2/users/${encodeURIComponent(primaryId)}/identities`,
    {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ provider: 'auth0', user_id: bare(secondaryId) }),
    },
  );
  expect(response.status).toBe(201);
}

const searches = () => h.emulator.journal.entries({ route: 'search-users' }).map((e) => e.query.q ?? '');
const readsOf = (userId: string) =>
  h.emulator.journal.entries({ route: 'get-user' }).filter((e) => decodeURIComponent(e.path).endsWith(userId))
    .length;

async function metricsText(): Promise<string> {
  const response = await fetch(new URL('/metrics', h.url));
  return response.text();
}

/** The value of one sample of `/metrics` (0 when the series does not exist yet). */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const line = text
    .split('\n')
    .find(
      (l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)),
    );
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

describe('with the read cache on, in one process', () => {
  beforeAll(async () => {
    h = await startHarness({ readCache: true });
    admin = await h.emulator.tokens.adminToken({ scope: 'update:users read:users' });
  });
  afterAll(() => h?.close());

  it("merges from the primary's metadata as Auth0 holds it, not as the cache does", async () => {
    const primary = seed('mergep', { user_metadata: { theme: 'light' } });
    const secondary = seed('merges', { email: 'mergep@on.example.com', user_metadata: { color: 'green' } });
    expect((await readUser(primary))?.name).toBe('mergep');
    // Made in Auth0 after the cache took the primary: the merge must see it (the primary wins).
    await patchDirectly(primary, { user_metadata: { color: 'blue' } });

    const body = await gql(LINK, { p: primary, i: linkInput(secondary, true) });
    expect(body.errors).toBeUndefined();
    expect(h.emulator.tenant.getUser(primary)?.user_metadata).toEqual({ theme: 'light', color: 'blue' });
  });

  it("answers the payload's user with a fresh GET, whatever the cache holds", async () => {
    const primary = seed('payloadp');
    const secondary = seed('payloads', { email: 'payloadp@on.example.com' });
    expect((await readUser(primary))?.name).toBe('payloadp');
    await patchDirectly(primary, { name: 'payloadp renamed' });

    const body = await gql<{ linkAccounts: { user: { id: string; name: string } } }>(LINK, {
      p: primary,
      i: linkInput(secondary),
    });
    expect(body.errors).toBeUndefined();
    expect(body.data!.linkAccounts.user).toEqual({ id: primary, name: 'payloadp renamed' });
  });

  it('asks Auth0 only for the ids of an entity batch that the cache misses', async () => {
    const [held, one, two] = [seed('batchheld'), seed('batchone'), seed('batchtwo')];
    await readUser(held);
    const before = searches().length;

    const body = await gql<{ _entities: { id: string }[] }>(ENTITIES, {
      r: [held, one, two].map((userId) => ({ __typename: 'User', id: userId })),
    });
    expect(body.data!._entities.map((e) => e.id)).toEqual([held, one, two]);
    const sent = searches().slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toContain(`"${one}"`);
    expect(sent[0]).toContain(`"${two}"`);
    expect(sent[0]).not.toContain(`"${held}"`);
    expect(readsOf(held)).toBe(1);
  });

  it("caches linkCandidates' list of users for an email: one search for two calls", async () => {
    const primary = seed('candp');
    const other = seed('cando', { email: 'CandP@on.example.com' });
    const emailSearches = () =>
      searches().filter((q) => q.startsWith('email:') && q.includes('candp')).length;

    for (let i = 0; i < 2; i++) {
      const body = await gql<{ linkCandidates: { id: string }[] }>(CANDIDATES, { p: primary });
      expect(body.data!.linkCandidates).toEqual([{ id: other }]);
    }
    expect(emailSearches()).toBe(1);
    // The search's copies of the users served those calls only: a read of one of them is a GET.
    expect((await readUser(other))?.id).toBe(other);
    expect(readsOf(other)).toBe(1);
  });

  it('drops the users a mutation touched even when it failed', async () => {
    const primary = seed('failp');
    const secondary = seed('fails', { email: 'failp@on.example.com' });
    expect((await readUser(primary))?.name).toBe('failp');
    await patchDirectly(primary, { name: 'failp renamed' });
    h.emulator.faults.add({ route: 'link', status: 400, body: { statusCode: 400, message: 'refused' } });

    const body = await gql(LINK, { p: primary, i: linkInput(secondary) });
    expect(body.errors?.[0]?.extensions?.code).toBeDefined();
    expect(h.emulator.tenant.getUser(secondary)).toBeDefined();
    // The failed link still dropped the primary: the next read is Auth0's.
    expect((await readUser(primary))?.name).toBe('failp renamed');
  });

  it('counts lookups by layer and result, and alias searches under search-identity', async () => {
    const primary = seed('metricp');
    const secondary = seed('metrics', { email: 'metricp@on.example.com' });
    // Linked in the dashboard: the gateway learns the alias by a search, not from its own link.
    await linkDirectly(primary, secondary);
    const before = await metricsText();

    // The alias search's copy of the primary serves that request only; the primary is then read
    // with a GET and cached like any user.
    for (let i = 0; i < 3; i++) expect((await readUser(secondary))?.id).toBe(primary);

    const after = await metricsText();
    const delta = (name: string, labels: Record<string, string>) =>
      sample(after, name, labels) - sample(before, name, labels);
    // Read 1: the alias missed; read 2: the alias hit, its primary missed; read 3: both hit.
    expect(delta('user_cache_lookups_total', { layer: 'memory', result: 'miss' })).toBe(2);
    expect(delta('user_cache_lookups_total', { layer: 'memory', result: 'hit' })).toBe(3);
    expect(delta('auth0_requests_total', { endpoint: 'search-identity', method: 'GET', status: '200' })).toBe(
      1,
    );
  });
});

describe('with the read cache off (USER_CACHE_TTL_MS=0)', () => {
  beforeAll(async () => {
    h = await startHarness();
    admin = await h.emulator.tokens.adminToken({ scope: 'update:users read:users' });
  });
  afterAll(() => h?.close());

  it('still answers a linked-away secondary id with its primary, every time from Auth0', async () => {
    const primary = seed('offp');
    const secondary = seed('offs', { email: 'offp@on.example.com' });
    expect((await gql(LINK, { p: primary, i: linkInput(secondary) })).errors).toBeUndefined();
    const before = searches().length;

    for (let i = 0; i < 2; i++) {
      const user = await readUser(secondary);
      expect(user?.id).toBe(primary);
      expect(user?.identities.map((identity) => identity.id)).toEqual([primary, secondary]);
    }
    expect(
      searches()
        .slice(before)
        .filter((q) => q.startsWith('identities.')),
    ).toHaveLength(2);
  });
});

describe('with the read cache shared through Redis', () => {
  let redis: RedisServer;

  beforeAll(async () => {
    redis = await startRedisServer();
    h = await startHarness({ readCache: { redisUrl: redis.url } });
    admin = await h.emulator.tokens.adminToken({ scope: 'update:users read:users' });
  });
  afterAll(async () => {
    await h?.close();
    await redis?.stop();
  });

  it('counts Redis lookups once memory misses', async () => {
    const userId = seed('redismetric');
    const before = await metricsText();
    await readUser(userId);
    await readUser(userId);
    const after = await metricsText();
    const delta = (labels: Record<string, string>) =>
      sample(after, 'user_cache_lookups_total', labels) - sample(before, 'user_cache_lookups_total', labels);
    expect(delta({ layer: 'memory', result: 'miss' })).toBe(1);
    expect(delta({ layer: 'redis', result: 'miss' })).toBe(1);
    expect(delta({ layer: 'memory', result: 'hit' })).toBe(1);
    expect(delta({ layer: 'redis', result: 'hit' })).toBe(0);
  });
});
