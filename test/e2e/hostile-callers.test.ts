// Hostile and careless callers (DESIGN §13): document limits, bounded telemetry, a cached /readyz,
// least exposure of link candidates and one trimmed linkWith, over real HTTP against the emulator.
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
    const deep = `{ __type(name: "User") { fields { type ${'{ ofType '.repeat(8)}{ name }${' }'.repeat(8)} } } }`;
    const overLimit: [string, string, RegExp][] = [
      ['depth 11', deep, /depth limit of 10/i],
      [
        '16 aliases',
        `{ ${Array.from({ length: 16 }, (_, i) => `u${i}: me { id }`).join(' ')} }`,
        /aliases limit of 15/i,
      ],
      [
        '51 directives',
        `{ me { id } ${'__typename @include(if: true) '.repeat(51)}}`,
        /directives limit of 50/i,
      ],
      ['2001 tokens', `{ me { id } ${'__typename '.repeat(1997)}}`, /token limit of 2000/i],
    ];

    it.each(overLimit)(
      'refuses a document over the limits (%s) with GRAPHQL_VALIDATION_FAILED and no Auth0 call',
      async (_title, query) => {
        const result = await postGraphQL(h.url, { query }, { token: tokens.alice });
        expect(result.body.data).toBeUndefined();
        expect(result.body.errors?.map((e) => e.extensions?.code)).toContain('GRAPHQL_VALIDATION_FAILED');
        expect(new Set(result.body.errors?.map((e) => e.extensions?.code))).toEqual(
          new Set(['GRAPHQL_VALIDATION_FAILED']),
        );
        expect(h.emulator.journal.count()).toBe(0);
      },
    );

    it('runs documents at the limits', async () => {
      const fifteenAliases = `{ ${Array.from({ length: 15 }, (_, i) => `u${i}: me { id }`).join(' ')} }`;
      const result = await postGraphQL(h.url, { query: fifteenAliases }, { token: tokens.alice });
      expect(result.body.errors).toBeUndefined();
      expect(Object.keys(result.body.data ?? {})).toHaveLength(15);
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
