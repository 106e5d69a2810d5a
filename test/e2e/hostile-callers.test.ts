// Hostile and careless callers (DESIGN §13): document limits, bounded telemetry, a cached /readyz,
// least exposure of link candidates and one trimmed linkWith, over real HTTP against the emulator.
import { getIntrospectionQuery } from 'graphql';
import { DEMO } from '../../src/auth0-emulator/index.js';
import { postGraphQL } from '../support/graphql-client.js';
import { demoTokens, startHarness, type Harness } from '../support/harness.js';

const { alice, aliceGoogle } = DEMO.users;

describe('hostile and careless callers (gateway + emulator over HTTP)', () => {
  let h: Harness;
  let tokens: Awaited<ReturnType<typeof demoTokens>>;

  beforeAll(async () => {
    h = await startHarness();
    tokens = await demoTokens(h.emulator);
  });
  afterAll(() => h.close());
  beforeEach(async () => {
    h.emulator.tenant.reset();
    // Signing keys fetched once, so that "no Auth0 call" below means none at all.
    await postGraphQL(h.url, { query: '{ __typename }' }, { token: tokens.alice });
    h.emulator.journal.clear();
  });

  describe('document limits', () => {
    // Documents of exactly n units of each limit. graphql-armor counts depth by fields, leaves
    // included: __type 1, fields 2, type 3, each ofType one more, name the last.
    const ofDepth = (n: number) =>
      `{ __type(name: "User") { fields { type ${'{ ofType '.repeat(n - 4)}{ name }${' }'.repeat(n - 4)} } } }`;
    // graphql-armor does not count aliases of __typename.
    const withAliases = (n: number) =>
      `{ ${Array.from({ length: n }, (_, i) => `a${i}: __type(name: "User") { name }`).join(' ')} }`;
    const withDirectives = (n: number) => `{ ${'__typename @include(if: true) '.repeat(n)}}`;
    // Fragment spreads: two tokens each, and cheap to validate (graphql-js gives up on a few
    // thousand fields of one name, and armor limits aliases). The fragment itself is 7 tokens.
    const ofTokens = (n: number) =>
      `{ ${'__typename '.repeat((n - 9) % 2)}${'...F '.repeat(Math.floor((n - 9) / 2))}} fragment F on Query { __typename }`;
    // `{`, `__typename`, n - 3 comments, `}`: comments count as tokens.
    const ofTokensWithComments = (n: number) => `{ __typename\n${'# c\n'.repeat(n - 3)}}`;

    const limits: [string, (n: number) => string, number, RegExp][] = [
      ['depth', ofDepth, 10, /^Syntax Error: Query depth limit of 10 exceeded, found 11\.$/],
      ['aliases', withAliases, 15, /^Syntax Error: Aliases limit of 15 exceeded, found 16\.$/],
      ['directives', withDirectives, 50, /^Syntax Error: Directives limit of 50 exceeded, found 51\.$/],
      ['tokens', ofTokens, 2000, /^Token limit of 2000 exceeded\.$/],
      ['tokens, comments included', ofTokensWithComments, 2000, /^Token limit of 2000 exceeded\.$/],
    ];

    it.each(limits)(
      'refuses one past the %s limit with GRAPHQL_VALIDATION_FAILED naming that limit, and no Auth0 call',
      async (_limit, document, limit, message) => {
        const result = await postGraphQL(h.url, { query: document(limit + 1) }, { token: tokens.alice });
        expect(result.body.data).toBeUndefined();
        expect(result.body.errors?.map((e) => e.extensions?.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
        expect(result.body.errors?.[0]?.message).toMatch(message);
        expect(h.emulator.journal.count()).toBe(0);
      },
    );

    it.each(limits)('runs a document exactly at the %s limit', async (_limit, document, limit) => {
      const result = await postGraphQL(h.url, { query: document(limit) }, { token: tokens.alice });
      expect(result.body.errors).toBeUndefined();
      expect(result.body.data).toBeDefined();
    });

    // Parsing itself is bounded (Apollo's parseOptions): a document far beyond the limits is refused
    // while graphql-js reads it, before it is built, validated or run.
    it.each([
      ['80 000 comments (240 KB of body)', `{ me { id } }${'#\n'.repeat(80_000)}`, /more than 65536 UTF-16/],
      ['9 000 comments in 18 KB', `{ me { id } }${'#\n'.repeat(9000)}`, /more than 8000 comments/],
      ['8 005 tokens in 16 KB', `{ me { id } ${'a '.repeat(7999)}}`, /more th[ae][nt] 8000 tokens/],
      ['a 100 KB string argument', `{ user(id: "${'x'.repeat(100_000)}") { id } }`, /more than 65536 UTF-16/],
    ])('refuses %s with GRAPHQL_PARSE_FAILED before running it', async (_title, query, message) => {
      const result = await postGraphQL(h.url, { query }, { token: tokens.alice });
      expect(result.status).toBe(400);
      expect(result.body.errors?.map((e) => e.extensions?.code)).toEqual(['GRAPHQL_PARSE_FAILED']);
      expect(result.body.errors?.[0]?.message).toMatch(message);
      expect(h.emulator.journal.count()).toBe(0);
    });

    it('refuses the classic introspection blow-up (fields { type { fields … } }) before running it', async () => {
      // Depth skips __schema (below): graphql-js's MaxIntrospectionDepthRule, in Apollo's rules, refuses this.
      const query = '{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }';
      const result = await postGraphQL(h.url, { query }, { token: tokens.alice });
      expect(result.body.data).toBeUndefined();
      expect(result.body.errors?.map((e) => e.extensions?.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
      expect(result.body.errors?.[0]?.message).toMatch(/^Maximum introspection depth exceeded/);
    });

    it('runs the standard introspection query (GraphiQL, schema tools), deeper than 10 inside __schema', async () => {
      const result = await postGraphQL<{ __schema: { types: { name: string }[] } }>(h.url, {
        query: getIntrospectionQuery(),
      });
      expect(result.body.errors).toBeUndefined();
      expect(result.body.data?.__schema.types.map((t) => t.name)).toContain('User');
    });

    it("passes a router's _entities query with 300 representations (they are variables)", async () => {
      const ids = Array.from({ length: 300 }, (_, i) => `auth0|sec${String(i).padStart(21, '0')}`);
      for (const [i, user_id] of ids.entries()) {
        h.emulator.tenant.addUser({ user_id, email: `member${i}@example.com`, email_verified: true });
      }
      const result = await postGraphQL<{ _entities: ({ id: string } | null)[] }>(
        h.url,
        {
          query:
            'query Entities($r: [_Any!]!) { _entities(representations: $r) { ... on User { id identities { id profileData { email } } } } }',
          variables: { r: ids.map((id) => ({ __typename: 'User', id })) },
        },
        { token: tokens.admin },
      );
      expect(result.body.errors).toBeUndefined();
      expect(result.body.data?._entities.map((u) => u?.id)).toEqual(ids);
    });

    it('suggests field names while introspection is on (INTROSPECTION=true)', async () => {
      const result = await postGraphQL(h.url, { query: '{ me { emial } }' }, { token: tokens.alice });
      expect(result.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(result.body.errors?.[0]?.message).toMatch(/Did you mean "email"/);
    });
  });

  it('keeps the operation_name label to at most 100 names (then "other") for 300 anonymous names', async () => {
    for (let i = 0; i < 300; i++) {
      const result = await postGraphQL(h.url, { query: `query R${i}x${Date.now()} { __typename }` });
      expect(result.body.errors).toBeUndefined();
    }
    const exposition = await (await fetch(`${h.gateway.origin}/metrics`)).text();
    const names = new Set(
      [...exposition.matchAll(/^graphql_operations_total\{[^}]*operation_name="([^"]*)"/gm)].map((m) => m[1]),
    );
    expect(names.size).toBeLessThanOrEqual(101);
    expect(names).toContain('other');
  });

  it('answers 200 /readyz probes in a burst from a cache: at most a few JWKS requests, never a token request', async () => {
    const answers = await Promise.all(
      Array.from({ length: 200 }, () => fetch(`${h.gateway.origin}/readyz`).then((r) => r.status)),
    );
    expect(new Set(answers)).toEqual(new Set([200]));
    expect(h.emulator.journal.count('jwks')).toBeLessThanOrEqual(2);
    expect(h.emulator.journal.count('token')).toBe(0);
    expect(h.emulator.journal.count()).toBe(h.emulator.journal.count('jwks'));
  });

  describe('linkCandidates least exposure', () => {
    const CANDIDATES = `query C($p: ID!) { linkCandidates(primaryId: $p) {
      id email emailVerified name picture identities { id provider profileData { email phoneNumber } } } }`;
    type Candidates = {
      linkCandidates: {
        id: string;
        email: string | null;
        identities: {
          id: string;
          profileData: { email: string | null; phoneNumber: string | null } | null;
        }[];
      }[];
    };
    const candidate = 'auth0|6650a1b2c3d4e5f6000000c1';

    beforeEach(() => {
      // A user with the same verified email as Alice, with a linked phone identity carrying a profile.
      h.emulator.tenant.addUser({
        user_id: candidate,
        email: 'alice@example.com',
        email_verified: true,
        name: 'Someone else',
        identities: [
          { provider: 'auth0', user_id: candidate.split('|')[1], connection: 'Username-Password-Authentication', isSocial: false },
          { provider: 'sms', user_id: '6650a1b2c3d4e5f6000000c2', connection: 'sms', isSocial: false,
            profileData: { phone_number: '+15550100', email: 'private@example.net' } },
        ],
      }); // prettier-ignore
    });

    it("gives a non-admin the candidates' identities without profileData", async () => {
      const result = await postGraphQL<Candidates>(
        h.url,
        { query: CANDIDATES, variables: { p: alice } },
        { token: tokens.alice },
      );
      expect(result.body.errors).toBeUndefined();
      const found = result.body.data?.linkCandidates.find((u) => u.id === candidate);
      expect(found).toMatchObject({ email: 'alice@example.com' });
      expect(found?.identities.map((i) => i.id)).toEqual([candidate, 'sms|6650a1b2c3d4e5f6000000c2']);
      for (const user of result.body.data?.linkCandidates ?? []) {
        for (const identity of user.identities) expect(identity.profileData).toBeNull();
      }
      expect(result.text).not.toContain('+15550100');
      expect(result.text).not.toContain('private@example.net');
    });

    it('gives an admin everything', async () => {
      const result = await postGraphQL<Candidates>(
        h.url,
        { query: CANDIDATES, variables: { p: alice } },
        { token: tokens.admin },
      );
      expect(result.body.errors).toBeUndefined();
      const found = result.body.data?.linkCandidates.find((u) => u.id === candidate);
      expect(found?.identities[1].profileData).toEqual({
        email: 'private@example.net',
        phoneNumber: '+15550100',
      });
    });
  });

  it('trims linkWith once and sends Auth0 the string it checked', async () => {
    const linkWith = await h.emulator.tokens.idToken({ sub: aliceGoogle });
    const result = await postGraphQL(
      h.url,
      {
        query:
          'mutation L($p: ID!, $i: LinkAccountsInput!) { linkAccounts(primaryId: $p, input: $i) { identities { id } } }',
        variables: { p: alice, i: { jwt: { linkWith: `  ${linkWith}\n` } } },
      },
      { token: tokens.alice },
    );
    expect(result.body.errors).toBeUndefined();
    expect(h.emulator.journal.entries({ route: 'link' }).map((e) => e.body)).toEqual([
      { link_with: linkWith },
    ]);
  });
});
