// Every id argument of every operation, over real HTTP against the emulator: whatever string a
// client sends, the answer is a DESIGN §4 code (never INTERNAL_SERVER_ERROR), and a value refused
// as BAD_USER_INPUT costs no Auth0 call.
import fc from 'fast-check';
import { DEMO } from '../../src/auth0-emulator/index.js';
import { auth0IdentityProviders } from '../../src/auth0/openapi/published-contract.js';
import {
  LinkAccountsDocument,
  LinkCandidatesDocument,
  UnlinkAccountDocument,
  UserDocument,
} from '../generated/graphql.js';
import { execute, postGraphQL, type GraphQLHttpResult } from '../support/graphql-client.js';
import { demoTokens, startHarness, type Harness } from '../support/harness.js';
import { hasLoneSurrogate, idArgument, PROPERTY_SEED } from '../support/odd-strings.js';

const { alice, aliceGithub } = DEMO.users;
const LONE_SURROGATE_ID = 'auth0|x\ud800y';
const ENTITIES = `query Entities($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on User { id } }
}`;
/** Requests the emulator answers for the caller's token itself, not for an argument. */
const INBOUND_AUTH_ROUTES = new Set(['jwks', 'openid-configuration']);

interface IdArgument {
  /** How the gateway names it in a BAD_USER_INPUT message. */
  name: string;
  operation: string;
  send(h: Harness, token: string, value: string): Promise<GraphQLHttpResult<unknown>>;
  /** Strings drawn for the property, when some must come from a closed list to be accepted. */
  values?: fc.Arbitrary<string>;
}

const ADMIN_GITHUB = { provider: 'github', userId: '4031337' };
const adminLink = (h: Harness, token: string, primaryId: string, admin: typeof ADMIN_GITHUB) =>
  execute(h.url, LinkAccountsDocument, { primaryId, input: { admin } }, { token });

const ID_ARGUMENTS: IdArgument[] = [
  {
    name: 'primaryId',
    operation: 'linkAccounts',
    send: (h, token, value) => adminLink(h, token, value, ADMIN_GITHUB),
  },
  {
    name: 'input.admin.userId',
    operation: 'linkAccounts',
    send: (h, token, value) => adminLink(h, token, alice, { ...ADMIN_GITHUB, userId: value }),
  },
  {
    name: 'input.admin.provider',
    operation: 'linkAccounts',
    send: (h, token, value) => adminLink(h, token, alice, { ...ADMIN_GITHUB, provider: value }),
    // Only the names of Auth0's published provider enum are accepted: draw some of them too.
    values: fc.oneof(idArgument, fc.constantFrom(...auth0IdentityProviders())),
  },
  {
    name: 'primaryId',
    operation: 'unlinkAccount',
    send: (h, token, value) =>
      execute(h.url, UnlinkAccountDocument, { ...ADMIN_GITHUB, primaryId: value }, { token }),
  },
  {
    name: 'provider',
    operation: 'unlinkAccount',
    send: (h, token, value) =>
      execute(
        h.url,
        UnlinkAccountDocument,
        { ...ADMIN_GITHUB, primaryId: alice, provider: value },
        { token },
      ),
    // As for the admin link: only the names of Auth0's published provider enum are accepted.
    values: fc.oneof(idArgument, fc.constantFrom(...auth0IdentityProviders())),
  },
  {
    name: 'userId',
    operation: 'unlinkAccount',
    send: (h, token, value) =>
      execute(h.url, UnlinkAccountDocument, { ...ADMIN_GITHUB, primaryId: alice, userId: value }, { token }),
  },
  {
    name: 'id',
    operation: 'user',
    send: (h, token, value) => execute(h.url, UserDocument, { id: value }, { token }),
  },
  {
    name: 'primaryId',
    operation: 'linkCandidates',
    send: (h, token, value) => execute(h.url, LinkCandidatesDocument, { primaryId: value }, { token }),
  },
  {
    name: 'id',
    operation: '_entities',
    send: (h, token, value) =>
      postGraphQL(
        h.url,
        { query: ENTITIES, variables: { representations: [{ __typename: 'User', id: value }] } },
        { token },
      ),
  },
];

describe('id arguments: one validation for every operation (DESIGN §8)', () => {
  let h: Harness;
  let admin: string;

  beforeAll(async () => {
    h = await startHarness({
      env: {
        // The trust policy sends an admin link straight to Auth0: a refusal can only be the gateway's.
        ADMIN_LINK_POLICY: 'trust',
        // Hundreds of requests in a few seconds: neither the caller limit nor the tenant budget
        // may turn a refusal into RATE_LIMITED here.
        CALLER_RATE_LIMIT: '100000/60',
        AUTH0_RATE_LIMIT: '100000/100000',
        LOG_LEVEL: 'warn',
      },
    });
    ({ admin } = await demoTokens(h.emulator));
    // The caller's token is verified with the tenant's JWKS: fetched once here, not per case.
    await execute(h.url, UserDocument, { id: alice }, { token: admin });
  });
  afterAll(async () => {
    await h?.close();
  });

  /** What reached Auth0 on behalf of the arguments (the JWKS for the caller's token aside). */
  const auth0Calls = () => h.emulator.journal.entries().filter((e) => !INBOUND_AUTH_ROUTES.has(e.route));
  const errorsOf = (result: GraphQLHttpResult<unknown>) => result.body.errors ?? [];

  it.each(ID_ARGUMENTS.map((arg) => [`${arg.operation} ${arg.name}`, arg] as const))(
    '%s: a lone UTF-16 surrogate is BAD_USER_INPUT naming the argument, before any Auth0 call',
    async (_title, arg) => {
      h.emulator.tenant.reset();

      const result = await arg.send(h, admin, LONE_SURROGATE_ID);

      expect(result.status).toBe(200);
      expect(errorsOf(result)).toHaveLength(1);
      expect(errorsOf(result)[0].extensions?.code).toBe('BAD_USER_INPUT');
      expect(errorsOf(result)[0].message).toBe(
        `\`${arg.name}\` must be well-formed Unicode (it holds a lone UTF-16 surrogate).`,
      );
      expect(auth0Calls()).toEqual([]);
      // No stack, no echo of the malformed value (JSON escapes it as \ud800).
      expect(result.text).not.toMatch(/\\ud800|URIError/i);
    },
  );

  it('refuses the surrogate in admin userId given in the full <provider>|<id> form too', async () => {
    h.emulator.tenant.reset();
    const result = await execute(
      h.url,
      LinkAccountsDocument,
      { primaryId: alice, input: { admin: { provider: 'github', userId: `${aliceGithub}\udfff` } } },
      { token: admin },
    );
    expect(errorsOf(result).map((e) => [e.extensions?.code, e.message])).toEqual([
      [
        'BAD_USER_INPUT',
        '`input.admin.userId` must be well-formed Unicode (it holds a lone UTF-16 surrogate).',
      ],
    ]);
    expect(auth0Calls()).toEqual([]);
  });

  describe('property: any string, for every id argument', () => {
    it.each(ID_ARGUMENTS.map((arg) => [`${arg.operation} ${arg.name}`, arg] as const))(
      '%s: never INTERNAL_SERVER_ERROR; a refused value reaches no Auth0 endpoint',
      async (_title, arg) => {
        h.emulator.tenant.reset();
        const outcomes = { refused: 0, reachedAuth0: 0 };
        await fc.assert(
          fc.asyncProperty(arg.values ?? idArgument, async (value) => {
            // The journal only: whatever an accepted value changed at the tenant, the property
            // holds for the next one just the same.
            h.emulator.journal.clear();

            const result = await arg.send(h, admin, value);

            const errors = errorsOf(result);
            expect(errors.map((e) => e.extensions?.code)).not.toContain('INTERNAL_SERVER_ERROR');
            expect(errors.every((e) => typeof e.extensions?.code === 'string')).toBe(true);
            // BAD_USER_INPUT without `extensions.auth0` is the gateway's own refusal.
            const refused = errors.filter(
              (e) => e.extensions?.code === 'BAD_USER_INPUT' && !e.extensions.auth0,
            );
            if (auth0Calls().length > 0) outcomes.reachedAuth0++;
            if (refused.length > 0) {
              outcomes.refused++;
              expect(auth0Calls()).toEqual([]);
              for (const error of refused) {
                if (!error.extensions?.reason) expect(error.message).toContain(`\`${arg.name}\``);
              }
            }
            // Never encodable, so always the gateway's refusal (whichever rule it meets first).
            if (hasLoneSurrogate(value)) expect(refused).toHaveLength(1);
          }),
          { seed: PROPERTY_SEED, numRuns: 100 },
        );
        // Not vacuous: the strings drawn both pass the check (and reach Auth0) and fail it.
        expect(outcomes.refused).toBeGreaterThan(0);
        expect(outcomes.reachedAuth0).toBeGreaterThan(0);
      },
    );
  });
});
