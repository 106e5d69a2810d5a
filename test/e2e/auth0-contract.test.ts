// The gateway against Auth0's published contract, through the real server and the emulator:
// answers the schema allows (scripted with fault rules) and refusals taken from the document.
import { DEMO } from '../../src/auth0-emulator/index.js';
import { expectSentBodiesMatchContract } from '../support/auth0-contract.js';
import { postGraphQL } from '../support/graphql-client.js';
import { demoTokens, startHarness, type Harness } from '../support/harness.js';

const { alice, aliceGithub } = DEMO.users;
const aliceDbId = alice.split('|')[1];

const IDENTITY_FIELDS = 'id provider userId connection isSocial profileData { email name nickname }';
const LINK = `mutation ($primaryId: ID!, $input: LinkAccountsInput!) {
  linkAccounts(primaryId: $primaryId, input: $input) { identities { ${IDENTITY_FIELDS} } }
}`;
const UNLINK = `mutation ($primaryId: ID!, $provider: String!, $userId: ID!) {
  unlinkAccount(primaryId: $primaryId, provider: $provider, userId: $userId) { identities { ${IDENTITY_FIELDS} } }
}`;
const USER = `query ($id: ID!) { user(id: $id) { id identities { ${IDENTITY_FIELDS} } } }`;

interface IdentityResult {
  id: string;
  provider: string;
  userId: string;
  connection: string;
  isSocial: boolean;
  profileData: { email: string | null; name: string | null; nickname: string | null } | null;
}

describe("the gateway holds to Auth0's published contract", () => {
  let h: Harness;
  let tokens: Awaited<ReturnType<typeof demoTokens>>;
  let bodiesChecked = 0;

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
    // The request-body check below must have had link and PATCH bodies to look at.
    expect(bodiesChecked).toBeGreaterThan(0);
  });
  beforeEach(async () => {
    h.emulator.tenant.reset();
    tokens = await demoTokens(h.emulator);
  });
  afterEach(() => {
    bodiesChecked += expectSentBodiesMatchContract(h.emulator.journal);
  });

  const adminLink = (admin: Record<string, unknown>) =>
    postGraphQL<{ linkAccounts: { identities: IdentityResult[] } }>(
      h.url,
      { query: LINK, variables: { primaryId: alice, input: { admin } } },
      { token: tokens.admin },
    );

  describe('answers the schema allows', () => {
    it('reads a 201 whose identities carry only provider, user_id (a number) and connection', async () => {
      h.emulator.faults.add({
        route: 'link',
        status: 201,
        body: [
          { provider: 'auth0', user_id: aliceDbId, connection: 'Username-Password-Authentication' },
          { provider: 'github', user_id: 4031337, connection: 'github' },
        ],
      });
      const result = await adminLink({ provider: 'github', userId: aliceGithub });

      expect(result.body.errors).toBeUndefined();
      expect(result.body.data?.linkAccounts.identities).toEqual([
        { id: alice, provider: 'auth0', userId: aliceDbId, connection: 'Username-Password-Authentication',
          isSocial: false, profileData: null },
        { id: aliceGithub, provider: 'github', userId: '4031337', connection: 'github', isSocial: true,
          profileData: null },
      ]); // prettier-ignore
    });

    it('ignores extra profileData keys and keeps the isSocial Auth0 sends', async () => {
      h.emulator.faults.add({
        route: 'link',
        status: 201,
        body: [
          { provider: 'auth0', user_id: aliceDbId, connection: 'Username-Password-Authentication', isSocial: false },
          { provider: 'github', user_id: '4031337', connection: 'github', isSocial: true,
            profileData: { email: 'alice@github.example', nickname: 'alice', public_repos: 12, plan: { name: 'pro' } } },
        ],
      }); // prettier-ignore
      const result = await adminLink({ provider: 'github', userId: '4031337' });

      expect(result.body.errors).toBeUndefined();
      expect(result.body.data?.linkAccounts.identities[1]).toEqual({
        id: aliceGithub,
        provider: 'github',
        userId: '4031337',
        connection: 'github',
        isSocial: true,
        profileData: { email: 'alice@github.example', name: null, nickname: 'alice' },
      });
      expect(result.text).not.toContain('public_repos');
    });

    it('reads a minimal 200 of an unlink and of a user read', async () => {
      h.emulator.faults.add({
        route: 'unlink',
        status: 200,
        body: [{ provider: 'auth0', user_id: aliceDbId, connection: 'Username-Password-Authentication' }],
      });
      const unlinked = await postGraphQL<{ unlinkAccount: { identities: IdentityResult[] } }>(
        h.url,
        { query: UNLINK, variables: { primaryId: alice, provider: 'github', userId: '4031337' } },
        { token: tokens.admin },
      );
      expect(unlinked.body.errors).toBeUndefined();
      expect(unlinked.body.data?.unlinkAccount.identities).toEqual([
        { id: alice, provider: 'auth0', userId: aliceDbId, connection: 'Username-Password-Authentication',
          isSocial: false, profileData: null },
      ]); // prettier-ignore

      h.emulator.faults.add({
        route: 'get-user',
        status: 200,
        body: {
          user_id: alice,
          identities: [
            { provider: 'auth0', user_id: aliceDbId, connection: 'Username-Password-Authentication' },
            { provider: 'samlp', user_id: 'alice@acme', connection: 'acme-saml' },
          ],
        },
      });
      const read = await postGraphQL<{ user: { id: string; identities: IdentityResult[] } }>(
        h.url,
        { query: USER, variables: { id: alice } },
        { token: tokens.alice },
      );
      expect(read.body.errors).toBeUndefined();
      expect(read.body.data?.user.identities.map((i) => [i.id, i.isSocial])).toEqual([
        [alice, false],
        ['samlp|alice@acme', false],
      ]);
    });
  });

  describe('refusals taken from the document, before any Auth0 call', () => {
    it.each([
      ['a provider outside the published enum', { provider: 'myspace', userId: '42' }, 'input.admin.provider'],
      ['a provider in the wrong case', { provider: 'GitHub', userId: '4031337' }, 'input.admin.provider'],
      ['a connectionId outside the published pattern', { provider: 'auth0', userId: 'x1', connectionId: 'con_1' },
        'input.admin.connectionId'],
    ])('refuses %s as BAD_USER_INPUT naming the argument', async (_t, admin, argument) => {
      const before = h.emulator.journal.count();
      const result = await adminLink(admin);

      expect(result.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(result.body.errors?.[0]?.message).toContain(argument);
      expect(h.emulator.journal.count('link')).toBe(0);
      expect(h.emulator.journal.count()).toBe(before);
    }); // prettier-ignore

    it('still links with a provider of the enum (the real emulator answer)', async () => {
      const result = await adminLink({ provider: 'github', userId: '4031337' });
      expect(result.body.errors).toBeUndefined();
      expect(h.emulator.journal.entries({ route: 'link' })[0].body).toEqual({
        provider: 'github',
        user_id: '4031337',
      });
    });
  });

  it('sends PATCH bodies the schema allows when merging metadata', async () => {
    h.emulator.tenant.addUser({
      user_id: 'auth0|contract0000000000000001',
      email: 'alice@example.com',
      email_verified: true,
      user_metadata: { contract_check: { nested: true } },
      app_metadata: { plan: 'gold' },
    });
    const result = await adminLink({
      provider: 'auth0',
      userId: 'contract0000000000000001',
      mergeMetadata: true,
    });
    expect(result.body.errors).toBeUndefined();
    expect(h.emulator.journal.count('update-user')).toBeGreaterThan(0);
  });
});
