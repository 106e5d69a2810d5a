import { postGraphQL } from '../support/graphql-client.js';
import { startHarness, type Harness } from '../support/harness.js';

const LINK =
  'mutation L($p: ID!, $i: LinkAccountsInput!) { linkAccounts(primaryId: $p, input: $i) { identities { id } } }';

/**
 * `count` concurrent admin links, each into its own primary: the one-writer lock (DESIGN §8)
 * serialises the operations of one primary, so only distinct primaries leave the budget as the one
 * thing calls wait for.
 */
async function burst(h: Harness, count: number) {
  const pairs = Array.from({ length: count }, (_, i) => {
    const n = String(i).padStart(19, '0');
    return { primary: `auth0|prima${n}`, secondary: `auth0|burst${n}`, email: `burst${i}@example.com` };
  });
  for (const { primary, secondary, email } of pairs) {
    h.emulator.tenant.addUser({ user_id: primary, email, email_verified: true });
    h.emulator.tenant.addUser({ user_id: secondary, email, email_verified: true });
  }
  const token = await h.emulator.tokens.adminToken({ scope: 'update:users' });
  return Promise.all(
    pairs.map(({ primary, secondary }) =>
      postGraphQL(
        h.url,
        { query: LINK, variables: { p: primary, i: { admin: { provider: 'auth0', userId: secondary } } } },
        { token },
      ),
    ),
  );
}

// Each link here is one Auth0 call against the budget: LINK_UNDO_WINDOW=0 leaves out the undo
// record's reads (DESIGN §15), which the undo suite covers.
describe('the upstream budget against the emulator’s rate limiter (DESIGN §8)', () => {
  it('sends nothing while the budget is spent and lets waiting calls go out as it returns', async () => {
    const h = await startHarness({
      emulator: { rateLimit: { perSecond: 20, burst: 5 } },
      env: {
        AUTH0_RATE_LIMIT: '20/5',
        ADMIN_LINK_POLICY: 'trust',
        AUTH0_MAX_WAIT_MS: '10000',
        LINK_UNDO_WINDOW: '0',
      },
    });
    try {
      const results = await burst(h, 15);

      // Three times the burst, all delivered: the later ones waited for budget.
      expect(results.map((r) => r.body.errors?.[0]?.extensions?.code ?? 'ok')).toEqual(
        results.map(() => 'ok'),
      );
      const statuses = h.emulator.journal.entries({ route: 'link' }).map((e) => e.status);
      expect(statuses).toHaveLength(15);
      // Nothing was sent to collect a 429.
      expect(statuses.filter((s) => s === 429)).toEqual([]);
    } finally {
      await h.close();
    }
  });

  it('refuses at once with RATE_LIMITED and retryAfter when the wait would exceed AUTH0_MAX_WAIT_MS', async () => {
    const h = await startHarness({
      emulator: { rateLimit: { perSecond: 1, burst: 3 } },
      env: {
        AUTH0_RATE_LIMIT: '1/3',
        ADMIN_LINK_POLICY: 'trust',
        AUTH0_MAX_WAIT_MS: '200',
        LINK_UNDO_WINDOW: '0',
      },
    });
    try {
      const results = await burst(h, 6);

      const outcomes = results.map((r) => r.body.errors?.[0]?.extensions?.code ?? 'ok');
      expect(outcomes.filter((o) => o === 'ok')).toHaveLength(2);
      expect(outcomes.filter((o) => o === 'RATE_LIMITED')).toHaveLength(4);
      for (const r of results.filter((x) => x.body.errors)) {
        expect(r.body.errors?.[0]?.extensions).toMatchObject({
          code: 'RATE_LIMITED',
          reason: 'TENANT_LIMIT',
        });
        expect(r.body.errors?.[0]?.extensions?.retryAfter).toBeGreaterThanOrEqual(1);
      }
      // The refused calls never reached Auth0, and Auth0 never had to answer 429.
      expect(h.emulator.journal.entries({ route: 'link' }).map((e) => e.status)).toEqual([201, 201]);
    } finally {
      await h.close();
    }
  });

  it('learns the budget from x-ratelimit headers when AUTH0_RATE_LIMIT is unset', async () => {
    const h = await startHarness({
      emulator: { rateLimit: { perSecond: 20, burst: 5 } },
      env: { ADMIN_LINK_POLICY: 'trust', AUTH0_MAX_WAIT_MS: '10000', LINK_UNDO_WINDOW: '0' },
    });
    try {
      const results = await burst(h, 15);

      expect(results.map((r) => r.body.errors?.[0]?.extensions?.code ?? 'ok')).toEqual(
        results.map(() => 'ok'),
      );
      // The cautious start and the first answers size the bucket: at most a few 429s while it
      // learns, each retried, not surfaced.
      const statuses = h.emulator.journal.entries({ route: 'link' }).map((e) => e.status);
      expect(statuses.filter((s) => s === 201)).toHaveLength(15);
      expect(statuses.filter((s) => s === 429).length).toBeLessThanOrEqual(3);
    } finally {
      await h.close();
    }
  });
});
