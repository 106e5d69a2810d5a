// CALLER_RATE_LIMIT without Redis: the same limit, counted in the process (DESIGN §10).
import { DEMO } from '../../src/auth0-emulator/index.js';
import { postGraphQL } from '../support/graphql-client.js';
import { startHarness } from '../support/harness.js';

const LINK =
  'mutation L($p: ID!, $i: LinkAccountsInput!) { linkAccounts(primaryId: $p, input: $i) { identities { id } } }';
const UNLINK =
  'mutation U($p: ID!, $provider: String!, $u: ID!) { unlinkAccount(primaryId: $p, provider: $provider, userId: $u) { identities { id } } }';

describe('per-caller limits in one process (CALLER_RATE_LIMIT)', () => {
  it('counts link and unlink attempts per token sub and refuses beyond the limit before any Auth0 call', async () => {
    const h = await startHarness({ env: { CALLER_RATE_LIMIT: '3/60', ADMIN_LINK_POLICY: 'trust' } });
    try {
      const admin = await h.emulator.tokens.adminToken({
        sub: 'limited-admin@clients',
        scope: 'update:users',
      });
      const otherAdmin = await h.emulator.tokens.adminToken({
        sub: 'other-admin@clients',
        scope: 'update:users',
      });
      const link = (token: string) =>
        postGraphQL(
          h.url,
          {
            query: LINK,
            variables: { p: DEMO.users.alice, i: { admin: { provider: 'github', userId: '4031337' } } },
          },
          { token },
        );
      const unlink = (token: string) =>
        postGraphQL(
          h.url,
          { query: UNLINK, variables: { p: DEMO.users.alice, provider: 'github', u: '4031337' } },
          { token },
        );

      // Attempts count whatever their outcome: link, unlink, link again.
      expect((await link(admin)).body.errors).toBeUndefined();
      expect((await unlink(admin)).body.errors).toBeUndefined();
      expect((await link(admin)).body.errors).toBeUndefined();
      const calls = h.emulator.journal.count();

      const refused = await unlink(admin);
      expect(refused.body.errors?.[0]?.extensions).toMatchObject({
        code: 'RATE_LIMITED',
        reason: 'CALLER_LIMIT',
      });
      expect(refused.body.errors?.[0]?.extensions?.retryAfter).toBeGreaterThanOrEqual(1);
      expect(h.emulator.journal.count()).toBe(calls);

      expect((await unlink(otherAdmin)).body.errors).toBeUndefined();
    } finally {
      await h.close();
    }
  });

  it('does not count reads', async () => {
    const h = await startHarness({ env: { CALLER_RATE_LIMIT: '1/60' } });
    try {
      const alice = await h.emulator.tokens.userAccessToken({ sub: DEMO.users.alice });
      for (let i = 0; i < 3; i++) {
        const response = await postGraphQL(h.url, { query: '{ me { id } }' }, { token: alice });
        expect(response.body.errors).toBeUndefined();
      }
    } finally {
      await h.close();
    }
  });
});
