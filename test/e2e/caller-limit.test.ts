// Per-caller limits without Redis, counted in the process (DESIGN §5, §10): CALLER_RATE_LIMIT for
// end users, ADMIN_CALLER_RATE_LIMIT (off by default) for client-credentials callers.
import { DEMO } from '../../src/auth0-emulator/index.js';
import { postGraphQL } from '../support/graphql-client.js';
import { startHarness, type Harness } from '../support/harness.js';

const LINK =
  'mutation L($p: ID!, $i: LinkAccountsInput!) { linkAccounts(primaryId: $p, input: $i) { identities { id } } }';
const UNLINK =
  'mutation U($p: ID!, $provider: String!, $u: ID!) { unlinkAccount(primaryId: $p, provider: $provider, userId: $u) { identities { id } } }';

const { alice, aliceGoogle, bob } = DEMO.users;

const link = (h: Harness, token: string, primaryId: string, input: unknown) =>
  postGraphQL(h.url, { query: LINK, variables: { p: primaryId, i: input } }, { token });
const unlink = (h: Harness, token: string, primaryId: string, provider: string, userId: string) =>
  postGraphQL(h.url, { query: UNLINK, variables: { p: primaryId, provider, u: userId } }, { token });

describe('per-caller limits with the default configuration (30/60 for end users, none for machines)', () => {
  let h: Harness;
  beforeAll(async () => {
    // The harness raises CALLER_RATE_LIMIT for other suites: back to the documented default here.
    h = await startHarness({ env: { CALLER_RATE_LIMIT: '30/60' } });
  });
  afterAll(() => h.close());
  beforeEach(() => h.emulator.tenant.reset());

  it("refuses an end user's 31st jwt-mode attempt with CALLER_LIMIT, before any Auth0 call", async () => {
    const token = await h.emulator.tokens.userAccessToken({ sub: alice });
    const linkWith = await h.emulator.tokens.idToken({ sub: aliceGoogle });
    const [provider, userId] = aliceGoogle.split('|');

    // Attempts count whatever their outcome: two that succeed, then 28 refused as bad input.
    expect((await link(h, token, alice, { jwt: { linkWith } })).body.errors).toBeUndefined();
    expect((await unlink(h, token, alice, provider, userId)).body.errors).toBeUndefined();
    for (let attempt = 3; attempt <= 30; attempt++) {
      const refused = await link(h, token, alice, { jwt: { linkWith: 'not-an-id-token' } });
      expect(refused.body.errors?.[0]?.extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        reason: 'INVALID_LINK_TOKEN',
      });
    }
    const calls = h.emulator.journal.count();

    const thirtyFirst = await link(h, token, alice, { jwt: { linkWith } });
    expect(thirtyFirst.body.errors?.[0]?.extensions).toMatchObject({
      code: 'RATE_LIMITED',
      reason: 'CALLER_LIMIT',
    });
    expect(thirtyFirst.body.errors?.[0]?.extensions?.retryAfter).toBeGreaterThanOrEqual(1);
    expect(h.emulator.journal.count()).toBe(calls);

    // Another user has a counter of their own.
    const bobToken = await h.emulator.tokens.userAccessToken({ sub: bob });
    const bobsFirst = await unlink(h, bobToken, bob, 'github', '4031337');
    expect(bobsFirst.body.errors?.[0]?.extensions?.reason).not.toBe('CALLER_LIMIT');
  });

  it('lets 40 admin links from one client-credentials token through (no admin limit unless ADMIN_CALLER_RATE_LIMIT)', async () => {
    const admin = await h.emulator.tokens.adminToken({ scope: 'update:users read:users' });
    const secondaries = Array.from({ length: 40 }, (_, i) => `auth0|bulklink${String(i).padStart(15, '0')}`);
    for (const id of secondaries) {
      h.emulator.tenant.addUser({ user_id: id, email: 'alice@example.com', email_verified: true });
    }
    for (const id of secondaries) {
      const result = await link(h, admin, alice, { admin: { provider: 'auth0', userId: id } });
      expect(result.body.errors).toBeUndefined();
    }
    expect(h.emulator.tenant.getUser(alice)?.identities).toHaveLength(41);
  });
});

describe('per-caller limits with ADMIN_CALLER_RATE_LIMIT set', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      env: { CALLER_RATE_LIMIT: '1/60', ADMIN_CALLER_RATE_LIMIT: '3/60', ADMIN_LINK_POLICY: 'trust' },
    });
  });
  afterAll(() => h.close());
  beforeEach(() => h.emulator.tenant.reset());

  it('counts a client-credentials caller under ADMIN_CALLER_RATE_LIMIT whatever the outcome, and refuses beyond it before any Auth0 call', async () => {
    const admin = await h.emulator.tokens.adminToken({ sub: 'limited-admin@clients', scope: 'update:users' });
    const otherAdmin = await h.emulator.tokens.adminToken({
      sub: 'other-admin@clients',
      scope: 'update:users',
    });

    // One success, then two failures (a malformed primaryId; an identity that is not linked).
    expect(
      (await link(h, admin, alice, { admin: { provider: 'github', userId: '4031337' } })).body.errors,
    ).toBeUndefined();
    const badId = await link(h, admin, 'not-a-user-id', { admin: { provider: 'github', userId: '4031337' } });
    expect(badId.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const notLinked = await unlink(h, admin, alice, 'google-oauth2', '999999999');
    expect(notLinked.body.errors?.[0]?.extensions?.code).toBeDefined();
    expect(notLinked.body.errors?.[0]?.extensions?.reason).not.toBe('CALLER_LIMIT');
    const calls = h.emulator.journal.count();

    const refused = await unlink(h, admin, alice, 'github', '4031337');
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({
      code: 'RATE_LIMITED',
      reason: 'CALLER_LIMIT',
    });
    expect(refused.body.errors?.[0]?.message).toContain('ADMIN_CALLER_RATE_LIMIT');
    expect(h.emulator.journal.count()).toBe(calls);

    expect((await unlink(h, otherAdmin, alice, 'github', '4031337')).body.errors).toBeUndefined();
  });

  it('does not count reads', async () => {
    const carol = await h.emulator.tokens.userAccessToken({ sub: DEMO.users.carol });
    for (let i = 0; i < 3; i++) {
      const response = await postGraphQL(h.url, { query: '{ me { id } }' }, { token: carol });
      expect(response.body.errors).toBeUndefined();
    }
    const attempt = await unlink(h, carol, DEMO.users.carol, 'github', '1');
    expect(attempt.body.errors?.[0]?.extensions?.reason).not.toBe('CALLER_LIMIT');
  });
});
