import { DEMO, journalFingerprint } from '../../src/auth0-emulator/index.js';
import { LinkAccountsDocument, type LinkAccountsMutationVariables } from '../generated/graphql.js';
import { expectSentBodiesMatchContract } from '../support/auth0-contract.js';
import { codesOf, execute, postGraphQL } from '../support/graphql-client.js';
import { demoTokens, startHarness, type Harness } from '../support/harness.js';

const { alice, aliceGoogle, aliceGithub, bob } = DEMO.users;
const encodedAlice = encodeURIComponent(alice);

describe('linkAccounts end to end (gateway + emulator over HTTP)', () => {
  let h: Harness;
  let tokens: Awaited<ReturnType<typeof demoTokens>>;

  beforeAll(async () => {
    h = await startHarness({ env: { AUTH0_TIMEOUT_MS: '1000' } });
  });
  afterAll(() => h.close());
  beforeEach(async () => {
    h.emulator.tenant.reset();
    tokens = await demoTokens(h.emulator);
  });
  // Every link and PATCH body the gateway sent is one Auth0's published schema allows.
  afterEach(() => {
    expectSentBodiesMatchContract(h.emulator.journal);
  });

  // Every Management API request the emulator received, whatever its route.
  const managementCalls = () =>
    h.emulator.journal
      .entries()
      .filter((e) => e.path.startsWith('/api/v2/'))
      .map((e) => `${e.method} ${e.path}`);
  const link = (variables: LinkAccountsMutationVariables, token?: string) =>
    execute(h.url, LinkAccountsDocument, variables, { token });
  const adminLink = (userId = aliceGithub, provider = 'github') =>
    link({ primaryId: alice, input: { admin: { provider, userId } } }, tokens.admin);

  it('links in JWT mode, forwarding the caller token and sending only link_with', async () => {
    const result = await link(
      { primaryId: alice, input: { jwt: { linkWith: tokens.aliceGoogleIdToken } } },
      tokens.alice,
    );

    expect(result.body.errors).toBeUndefined();
    expect(result.body.data?.linkAccounts.identities.map((i) => i.id)).toEqual([alice, aliceGoogle]);
    expect(result.body.data?.linkAccounts.user).toEqual({ id: alice, email: 'alice@example.com' });
    const calls = h.emulator.journal.entries({ route: 'link' });
    expect(calls).toHaveLength(1);
    expect(calls[0].path).toBe(`/api/v2/users/${encodedAlice}/identities`);
    expect(calls[0].headers.authorization).toBe(`Bearer ${journalFingerprint(tokens.alice)}`);
    expect(calls[0].body).toEqual({ link_with: tokens.aliceGoogleIdToken });
    expect(calls[0].status).toBe(201);
  });

  it('links in admin mode with the service token, stripping the provider prefix of userId', async () => {
    const result = await adminLink(aliceGithub);

    expect(result.body.errors).toBeUndefined();
    const github = result.body.data?.linkAccounts.identities[1];
    // Auth0 sends GitHub ids as numbers; the API always answers strings.
    expect(github).toMatchObject({ id: aliceGithub, provider: 'github', userId: '4031337', isSocial: true });
    const calls = h.emulator.journal.entries({ route: 'link' });
    expect(calls).toHaveLength(1);
    expect(calls[0].body).toEqual({ provider: 'github', user_id: '4031337' });
    expect(calls[0].headers.authorization).not.toBe(`Bearer ${journalFingerprint(tokens.admin)}`);
    expect(calls[0].headers.authorization).toMatch(/^Bearer /);
  });

  it('sends connection_id when given and accepts the bare identity id', async () => {
    h.emulator.faults.add({
      route: 'link',
      status: 201,
      body: [{ provider: 'auth0', user_id: 'x', connection: 'c' }],
    });
    const result = await link(
      {
        primaryId: alice,
        input: { admin: { provider: 'github', userId: '4031337', connectionId: 'con_ABCDEFGHIJ123456' } },
      },
      tokens.admin,
    );
    expect(result.body.errors).toBeUndefined();
    expect(h.emulator.journal.entries({ route: 'link' })[0].body).toEqual({
      provider: 'github',
      user_id: '4031337',
      connection_id: 'con_ABCDEFGHIJ123456',
    });
  });

  it('makes exactly one /oauth/token request for 50 concurrent admin links', async () => {
    // Fifty primaries: links into one primary wait for each other (the one-writer lock), and
    // would ask for the token one after another.
    const pairs = Array.from({ length: 50 }, (_, i) => {
      const n = String(i).padStart(20, '0');
      return { primary: `auth0|prim${n}`, secondary: `auth0|bulk${n}`, email: `bulk${i}@example.com` };
    });
    // A fresh gateway in learned mode: its service token is not cached yet, and the 50 calls also
    // start behind the cautious start (DESIGN §8: none is refused for it).
    const fresh = await startHarness();
    try {
      for (const { primary, secondary, email } of pairs) {
        fresh.emulator.tenant.addUser({ user_id: primary, email, email_verified: true });
        fresh.emulator.tenant.addUser({ user_id: secondary, email, email_verified: true });
      }
      const admin = await fresh.emulator.tokens.adminToken({ scope: 'update:users' });
      const results = await Promise.all(
        pairs.map(({ primary, secondary }) =>
          execute(
            fresh.url,
            LinkAccountsDocument,
            { primaryId: primary, input: { admin: { provider: 'auth0', userId: secondary } } },
            { token: admin },
          ),
        ),
      );
      expect(results.map((r) => r.body.errors?.[0]?.extensions?.code ?? 'ok')).toEqual(pairs.map(() => 'ok'));
      expect(fresh.emulator.journal.count('token')).toBe(1);
      expect(
        fresh.emulator.journal
          .entries({ route: 'link' })
          .map((e) => e.path)
          .sort(),
      ).toEqual(pairs.map(({ primary }) => `/api/v2/users/${encodeURIComponent(primary)}/identities`).sort());
    } finally {
      await fresh.close();
    }
  });

  describe('refusals before any Auth0 call', () => {
    it.each<[string, () => Promise<string | undefined>, 'jwt' | 'admin', string, string | undefined]>([
      ['no token', async () => undefined, 'jwt', 'UNAUTHENTICATED', undefined],
      [
        'an expired token',
        () => h.emulator.tokens.userAccessToken({ sub: alice, expiresInSeconds: -60 }),
        'jwt',
        'UNAUTHENTICATED',
        undefined,
      ],
      [
        'a token signed with a foreign key',
        () =>
          h.emulator.tokens.sign(
            {
              sub: alice,
              iss: h.emulator.issuer,
              aud: h.emulator.managementAudience,
              scope: 'update:current_user_identities',
            },
            { alg: 'foreign-RS256' },
          ),
        'jwt',
        'UNAUTHENTICATED',
        undefined,
      ],
      [
        'an alg:none token',
        () =>
          h.emulator.tokens.sign(
            {
              sub: alice,
              iss: h.emulator.issuer,
              aud: h.emulator.managementAudience,
              scope: 'update:current_user_identities',
            },
            { alg: 'none' },
          ),
        'jwt',
        'UNAUTHENTICATED',
        undefined,
      ],
      [
        'an HS256 token',
        () =>
          h.emulator.tokens.sign(
            {
              sub: alice,
              iss: h.emulator.issuer,
              aud: h.emulator.managementAudience,
              scope: 'update:current_user_identities',
            },
            { alg: 'HS256' },
          ),
        'jwt',
        'UNAUTHENTICATED',
        undefined,
      ],
      [
        'a token of another issuer',
        () => h.emulator.tokens.userAccessToken({ sub: alice, issuer: 'https://evil.example.com/' }),
        'jwt',
        'UNAUTHENTICATED',
        undefined,
      ],
      [
        'a token for another audience',
        () => h.emulator.tokens.userAccessToken({ sub: alice, audience: 'https://other.example.com/' }),
        'jwt',
        'UNAUTHENTICATED',
        undefined,
      ],
      [
        "another user's token",
        () => h.emulator.tokens.userAccessToken({ sub: bob }),
        'jwt',
        'FORBIDDEN',
        'SUBJECT_MISMATCH',
      ],
      [
        'a token without update:current_user_identities',
        () => h.emulator.tokens.userAccessToken({ sub: alice, scope: 'read:current_user' }),
        'jwt',
        'FORBIDDEN',
        'INSUFFICIENT_SCOPE',
      ],
      [
        'a user token in admin mode',
        () => h.emulator.tokens.userAccessToken({ sub: alice }),
        'admin',
        'FORBIDDEN',
        'INSUFFICIENT_SCOPE',
      ],
      [
        'an admin token without the permission',
        () => h.emulator.tokens.adminToken({ scope: 'read:users' }),
        'admin',
        'FORBIDDEN',
        'INSUFFICIENT_SCOPE',
      ],
    ])('refuses %s', async (_title, makeToken, mode, code, reason) => {
      const token = await makeToken();
      const input =
        mode === 'jwt'
          ? { jwt: { linkWith: tokens.aliceGoogleIdToken } }
          : { admin: { provider: 'github', userId: '4031337' } };
      const result = await link({ primaryId: alice, input }, token);

      expect(result.body.errors?.[0]?.extensions).toMatchObject({ code, ...(reason ? { reason } : {}) });
      expect(result.body.data).toBeNull();
      expect(managementCalls()).toEqual([]);
      if (token) expect(result.text).not.toContain(token);
    });

    it.each<[string, () => Promise<string>]>([
      [
        'aud other than the caller azp',
        () => h.emulator.tokens.idToken({ sub: aliceGoogle, aud: 'another-client' }),
      ],
      ['HS256', () => h.emulator.tokens.idToken({ sub: aliceGoogle, alg: 'HS256' })],
      ['a foreign key', () => h.emulator.tokens.idToken({ sub: aliceGoogle, alg: 'foreign-RS256' })],
      ['expiry in the past', () => h.emulator.tokens.idToken({ sub: aliceGoogle, expiresInSeconds: -60 })],
      ['no sub', () => h.emulator.tokens.idToken({ sub: null })],
      [
        'another issuer',
        () => h.emulator.tokens.idToken({ sub: aliceGoogle, issuer: 'https://evil.example.com/' }),
      ],
      ['garbage', async () => 'not-a-jwt'],
    ])('refuses a linkWith with %s as BAD_USER_INPUT / INVALID_LINK_TOKEN', async (_title, makeIdToken) => {
      const linkWith = await makeIdToken();
      const result = await link({ primaryId: alice, input: { jwt: { linkWith } } }, tokens.alice);

      expect(result.body.errors?.[0]?.extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        reason: 'INVALID_LINK_TOKEN',
      });
      expect(managementCalls()).toEqual([]);
      expect(result.text).not.toContain(linkWith);
    });

    it.each([
      ['both members', { jwt: { linkWith: 'x' }, admin: { provider: 'github', userId: '1' } }],
      ['no member', {}],
    ])('refuses a OneOf input with %s (graphql-js validation)', async (_title, input) => {
      const result = await postGraphQL(
        h.url,
        {
          query:
            'mutation L($p: ID!, $i: LinkAccountsInput!) { linkAccounts(primaryId: $p, input: $i) { identities { id } } }',
          variables: { p: alice, i: input },
        },
        { token: tokens.admin },
      );
      expect(codesOf(result)).toEqual(['BAD_USER_INPUT']);
      expect(result.body.errors?.[0]?.message).toMatch(/exactly one key/i);
      expect(h.emulator.journal.count('link')).toBe(0);
    });

    it('refuses both members as an inline literal too', async () => {
      const result = await postGraphQL(
        h.url,
        {
          query: `mutation { linkAccounts(primaryId: "${alice}", input: { jwt: { linkWith: "x" }, admin: { provider: "github", userId: "1" } }) { identities { id } } }`,
        },
        { token: tokens.admin },
      );
      expect(codesOf(result)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
      expect(h.emulator.journal.count('link')).toBe(0);
    });

    it.each([
      ['.', '.'],
      ['..', '..'],
      ['empty', ''],
      ['a control character', 'auth0|abc\u0000def'],
      ['no provider separator', 'abcdef'],
      ['over-long', `auth0|${'a'.repeat(2000)}`],
    ])(
      'refuses a primaryId that is %s with BAD_USER_INPUT and no upstream call',
      async (_title, primaryId) => {
        const result = await link(
          { primaryId, input: { admin: { provider: 'github', userId: '4031337' } } },
          tokens.admin,
        );
        expect(codesOf(result)).toEqual(['BAD_USER_INPUT']);
        expect(h.emulator.journal.entries().filter((e) => e.path.startsWith('/api/v2/'))).toHaveLength(0);
      },
    );
  });

  it.each(['auth0|a/b', 'auth0|a?b=c', 'auth0|a#b', 'auth0|a%2Fb', 'auth0|..'])(
    'keeps primaryId %s one encoded path segment',
    async (primaryId) => {
      const trusting = await startHarness({ env: { ADMIN_LINK_POLICY: 'trust' } });
      try {
        const admin = await trusting.emulator.tokens.adminToken({ scope: 'update:users' });
        const result = await execute(
          trusting.url,
          LinkAccountsDocument,
          { primaryId, input: { admin: { provider: 'github', userId: '4031337' } } },
          { token: admin },
        );
        expect(codesOf(result)).toEqual(['NOT_FOUND']);
        const calls = trusting.emulator.journal.entries({ route: 'link' });
        expect(calls.map((c) => c.path)).toEqual([
          `/api/v2/users/${encodeURIComponent(primaryId)}/identities`,
        ]);
      } finally {
        await trusting.close();
      }
    },
  );

  describe('Auth0 outcomes', () => {
    it.each<[number, Record<string, unknown>, string, string | undefined]>([
      [
        400,
        {
          statusCode: 400,
          error: 'Bad Request',
          message: 'Main identity and the new one are the same.',
          errorCode: 'invalid_body',
        },
        'BAD_USER_INPUT',
        'SAME_ACCOUNT',
      ],
      [
        400,
        { statusCode: 400, error: 'Bad Request', message: 'Provided secondary account not found.' },
        'BAD_USER_INPUT',
        'SECONDARY_NOT_FOUND',
      ],
      [
        400,
        { statusCode: 400, error: 'Bad Request', message: 'Invalid token (link_with).' },
        'BAD_USER_INPUT',
        'INVALID_LINK_TOKEN',
      ],
      [
        401,
        { statusCode: 401, error: 'Unauthorized', message: 'Invalid token' },
        'UNAUTHENTICATED',
        undefined,
      ],
      [
        403,
        {
          statusCode: 403,
          error: 'Forbidden',
          message: 'Insufficient scope; expected: update:users',
          errorCode: 'insufficient_scope',
        },
        'FORBIDDEN',
        'INSUFFICIENT_SCOPE',
      ],
      [
        403,
        {
          statusCode: 403,
          error: 'Forbidden',
          message: 'User to be acted on does not match subject in bearer token',
        },
        'FORBIDDEN',
        'SUBJECT_MISMATCH',
      ],
      [
        404,
        {
          statusCode: 404,
          error: 'Not Found',
          message: 'The user does not exist.',
          errorCode: 'inexistent_user',
        },
        'NOT_FOUND',
        'PRIMARY_NOT_FOUND',
      ],
      [
        409,
        { statusCode: 409, error: 'Conflict', message: 'Specified identity already exists.' },
        'CONFLICT',
        'ALREADY_LINKED',
      ],
      [
        500,
        { statusCode: 500, error: 'Internal Server Error', message: 'boom' },
        'UPSTREAM_ERROR',
        // A 5xx does not prove Auth0 did nothing: the primary is read back, and nothing changed.
        'NOT_APPLIED',
      ],
      [
        503,
        { statusCode: 503, error: 'Service Unavailable', message: 'down' },
        'UPSTREAM_ERROR',
        'NOT_APPLIED',
      ],
    ])('maps Auth0 %i to its code with extensions.auth0 (JWT mode)', async (status, body, code, reason) => {
      h.emulator.faults.add({ route: 'link', status, body, times: 5 });
      const result = await link(
        { primaryId: alice, input: { jwt: { linkWith: tokens.aliceGoogleIdToken } } },
        tokens.alice,
      );

      const extensions = result.body.errors?.[0]?.extensions;
      expect(extensions).toMatchObject({
        code,
        auth0: { statusCode: status, errorCode: (body.errorCode as string | undefined) ?? null },
      });
      expect(extensions?.reason).toBe(reason);
      // 401 is not retried for a forwarded user token; nothing else here may be retried.
      expect(h.emulator.journal.count('link')).toBe(1);
    });

    it('produces CONFLICT / ALREADY_LINKED from the emulator’s real 409 for an identity linked to another primary', async () => {
      const jwtLink = { jwt: { linkWith: tokens.aliceGoogleIdToken } };
      const first = await link({ primaryId: alice, input: jwtLink }, tokens.alice);
      expect(first.body.errors).toBeUndefined();
      // Bob holds a valid ID token of aliceGoogle, which now belongs to alice: Auth0 answers 409.
      const again = await link({ primaryId: bob, input: jwtLink }, tokens.bob);
      expect(again.body.errors?.map((e) => e.extensions)).toEqual([
        expect.objectContaining({ code: 'CONFLICT', reason: 'ALREADY_LINKED' }),
      ]);
      expect(h.emulator.journal.entries({ route: 'link' }).map((e) => e.status)).toEqual([201, 409]);
      expect(h.emulator.tenant.getUser(bob)?.identities).toHaveLength(1);
    });

    it('retries a 429 at the budget’s pace and then succeeds', async () => {
      h.emulator.faults.add({
        route: 'link',
        status: 429,
        body: {
          statusCode: 429,
          error: 'Too Many Requests',
          message: 'Global limit has been reached',
          errorCode: 'too_many_requests',
        },
        headers: {
          'x-ratelimit-limit': '10',
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + 1),
        },
      });
      const result = await link(
        { primaryId: alice, input: { jwt: { linkWith: tokens.aliceGoogleIdToken } } },
        tokens.alice,
      );

      expect(result.body.errors).toBeUndefined();
      expect(h.emulator.journal.entries({ route: 'link' }).map((e) => e.status)).toEqual([429, 201]);
    });

    it.each<[string, Parameters<Harness['emulator']['faults']['add']>[0], string]>([
      [
        'a 5xx',
        { route: 'link', status: 502, body: { statusCode: 502, error: 'Bad Gateway', message: 'x' } },
        'UPSTREAM_ERROR',
      ],
      ['a reset socket before the headers', { route: 'link', destroy: 'before-headers' }, 'UPSTREAM_ERROR'],
      ['a reset socket after the headers', { route: 'link', destroy: 'after-headers' }, 'UPSTREAM_ERROR'],
      ['malformed JSON', { route: 'link', malformedJson: true }, 'UPSTREAM_ERROR'],
      ['no answer within AUTH0_TIMEOUT_MS', { route: 'link', latencyMs: 5000 }, 'UPSTREAM_TIMEOUT'],
    ])('never retries a link after %s', async (_title, fault, code) => {
      h.emulator.faults.add(fault);
      const result = await link(
        { primaryId: alice, input: { jwt: { linkWith: tokens.aliceGoogleIdToken } } },
        tokens.alice,
      );

      expect(codesOf(result)).toEqual([code]);
      expect(h.emulator.journal.count('link')).toBe(1);
    });

    it('never exposes provider tokens Auth0 returns in identities', async () => {
      h.emulator.faults.add({
        route: 'link',
        status: 201,
        body: [
          {
            provider: 'auth0',
            user_id: alice.split('|')[1],
            connection: 'Username-Password-Authentication',
            isSocial: false,
          },
          {
            provider: 'github',
            user_id: 4031337,
            connection: 'github',
            isSocial: true,
            access_token: 'gho_providerAccessToken123',
            access_token_secret: 'providerSecret456',
            refresh_token: 'providerRefresh789',
            profileData: { email: 'alice@example.com', email_verified: true },
          },
        ],
      });
      const result = await adminLink();

      expect(result.body.data?.linkAccounts.identities[1]).toMatchObject({
        id: 'github|4031337',
        userId: '4031337',
      });
      for (const secret of ['gho_providerAccessToken123', 'providerSecret456', 'providerRefresh789']) {
        expect(result.text).not.toContain(secret);
        expect(h.logLines.join('\n')).not.toContain(secret);
      }
    });
  });
});
