import { DEMO, journalFingerprint } from '../../src/auth0-emulator/index.js';
import { LinkAccountsDocument, UnlinkAccountDocument } from '../generated/graphql.js';
import { codesOf, execute } from '../support/graphql-client.js';
import { demoTokens, startHarness, type Harness } from '../support/harness.js';

// LINK_UNDO_WINDOW=0: this suite pins the exact Auth0 calls of a link; the undo record's extra
// reads (DESIGN §15) are tested in undo-link.test.ts.

const { alice, aliceGoogle, aliceGithub, aliceUnverified, bob, carol } = DEMO.users;

describe('unlinkAccount, the admin link policy and audit events (gateway + emulator over HTTP)', () => {
  let h: Harness;
  let tokens: Awaited<ReturnType<typeof demoTokens>>;

  beforeAll(async () => {
    h = await startHarness({ env: { LINK_UNDO_WINDOW: '0' } });
  });
  afterAll(() => h.close());
  beforeEach(async () => {
    h.emulator.tenant.reset();
    h.logLines.length = 0;
    tokens = await demoTokens(h.emulator);
  });

  const adminLink = (primaryId: string, secondaryId: string) => {
    const [provider] = secondaryId.split('|');
    return execute(
      h.url,
      LinkAccountsDocument,
      { primaryId, input: { admin: { provider, userId: secondaryId } } },
      { token: tokens.admin },
    );
  };
  const unlink = (token: string, userId = 'github|4031337', primaryId = alice, provider = 'github') =>
    execute(h.url, UnlinkAccountDocument, { primaryId, provider, userId }, { token });

  describe('unlinkAccount', () => {
    it.each([
      ['the primary user, with their own token forwarded', 'alice', 'user'],
      ['an admin, with the service token', 'admin', 'admin'],
    ] as const)('is done by %s; the identity is a standalone user again', async (_title, who, mode) => {
      await adminLink(alice, aliceGithub);
      h.emulator.journal.clear();

      const result = await unlink(tokens[who]);

      expect(result.body.errors).toBeUndefined();
      expect(result.body.data?.unlinkAccount.identities.map((i) => i.id)).toEqual([alice]);
      expect(result.body.data?.unlinkAccount.user.id).toBe(alice);
      const calls = h.emulator.journal.entries({ route: 'unlink' });
      expect(calls).toHaveLength(1);
      expect(calls[0].path).toBe(`/api/v2/users/${encodeURIComponent(alice)}/identities/github/4031337`);
      if (mode === 'user')
        expect(calls[0].headers.authorization).toBe(`Bearer ${journalFingerprint(tokens.alice)}`);
      else expect(calls[0].headers.authorization).not.toBe(`Bearer ${journalFingerprint(tokens.admin)}`);
      expect(h.emulator.tenant.getUser(aliceGithub)).toMatchObject({ user_id: aliceGithub });
    });

    it('accepts userId without the provider prefix', async () => {
      await adminLink(alice, aliceGithub);
      const result = await unlink(tokens.alice, '4031337');
      expect(result.body.errors).toBeUndefined();
      expect(h.emulator.tenant.getUser(aliceGithub)).toBeDefined();
    });

    it("refuses the primary's own identity as MAIN_IDENTITY without calling Auth0", async () => {
      const result = await unlink(tokens.alice, alice, alice, 'auth0');
      expect(result.body.errors?.[0]?.extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        reason: 'MAIN_IDENTITY',
      });
      expect(h.emulator.journal.count('unlink')).toBe(0);
    });

    it('refuses a provider outside Auth0’s published provider names as BAD_USER_INPUT without calling Auth0', async () => {
      await adminLink(alice, aliceGithub);
      h.emulator.journal.clear();
      const result = await unlink(tokens.alice, '4031337', alice, 'git-hub');
      expect(result.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(result.body.errors?.[0]?.message).toContain('`provider` is not an Auth0 identity provider');
      expect(h.emulator.journal.count()).toBe(0);
    });

    it("refuses another user's token as FORBIDDEN without calling Auth0", async () => {
      const result = await unlink(tokens.bob);
      expect(result.body.errors?.[0]?.extensions).toMatchObject({
        code: 'FORBIDDEN',
        reason: 'SUBJECT_MISMATCH',
      });
      expect(h.emulator.journal.count('unlink')).toBe(0);
    });

    it('refuses without a token as UNAUTHENTICATED', async () => {
      const result = await execute(h.url, UnlinkAccountDocument, {
        primaryId: alice,
        provider: 'github',
        userId: '4031337',
      });
      expect(codesOf(result)).toEqual(['UNAUTHENTICATED']);
      expect(h.emulator.journal.count('unlink')).toBe(0);
    });

    it('maps the emulator’s answer for an identity that is not linked to NOT_FOUND', async () => {
      const result = await unlink(tokens.admin);
      expect(result.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      expect(result.body.errors?.[0]?.extensions?.auth0).toMatchObject({ statusCode: 404 });
    });
  });

  describe('admin link policy (verified-email, the default)', () => {
    it.each([
      ['the secondary’s email is not verified', aliceUnverified, 'EMAIL_NOT_VERIFIED'],
      ['the emails differ', carol, 'EMAIL_MISMATCH'],
    ])('refuses when %s, with zero link calls', async (_title, secondary, reason) => {
      const result = await adminLink(alice, secondary);
      expect(result.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason });
      expect(h.emulator.journal.count('link')).toBe(0);
      expect(h.emulator.journal.count('get-user')).toBe(2);
    });

    it('refuses when the primary is unverified', async () => {
      const result = await adminLink(aliceUnverified, aliceGithub);
      expect(result.body.errors?.[0]?.extensions).toMatchObject({
        code: 'FORBIDDEN',
        reason: 'EMAIL_NOT_VERIFIED',
      });
      expect(h.emulator.journal.count('link')).toBe(0);
    });

    it('compares emails case-insensitively and links', async () => {
      h.emulator.tenant.addUser({
        user_id: 'auth0|upper0000000000000001',
        email: 'ALICE@Example.com',
        email_verified: true,
      });
      const result = await adminLink(alice, 'auth0|upper0000000000000001');
      expect(result.body.errors).toBeUndefined();
      expect(h.emulator.journal.count('link')).toBe(1);
    });

    it('reports a missing secondary as SECONDARY_NOT_FOUND and a missing primary as PRIMARY_NOT_FOUND', async () => {
      const noSecondary = await adminLink(alice, 'auth0|doesnotexist00000000001');
      expect(noSecondary.body.errors?.[0]?.extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        reason: 'SECONDARY_NOT_FOUND',
      });
      const noPrimary = await adminLink('auth0|doesnotexist00000000001', aliceGithub);
      expect(noPrimary.body.errors?.[0]?.extensions).toMatchObject({
        code: 'NOT_FOUND',
        reason: 'PRIMARY_NOT_FOUND',
      });
      expect(h.emulator.journal.count('link')).toBe(0);
    });
  });

  describe('admin link policy trust', () => {
    let trusting: Harness;
    beforeAll(async () => {
      trusting = await startHarness({ env: { LINK_UNDO_WINDOW: '0', ADMIN_LINK_POLICY: 'trust' } });
    });
    afterAll(() => trusting.close());

    it('links without reading the users first', async () => {
      const admin = await trusting.emulator.tokens.adminToken({ scope: 'update:users' });
      const result = await execute(
        trusting.url,
        LinkAccountsDocument,
        { primaryId: alice, input: { admin: { provider: 'auth0', userId: carol } } },
        { token: admin },
      );
      expect(result.body.errors).toBeUndefined();
      expect(trusting.emulator.journal.count('get-user')).toBe(1); // the payload's `user` only
      expect(trusting.emulator.journal.count('link')).toBe(1);
    });
  });

  describe('reasons from the emulator’s real responses', () => {
    it('ALREADY_LINKED when the identity is linked already', async () => {
      // With the default policy the second attempt stops earlier (the linked secondary no
      // longer reads as a user), so this one trusts and lets Auth0 answer.
      const trusting = await startHarness({ env: { LINK_UNDO_WINDOW: '0', ADMIN_LINK_POLICY: 'trust' } });
      try {
        const admin = await trusting.emulator.tokens.adminToken({ scope: 'update:users' });
        const send = (primaryId: string) =>
          execute(
            trusting.url,
            LinkAccountsDocument,
            { primaryId, input: { admin: { provider: 'github', userId: '4031337' } } },
            { token: admin },
          );
        expect((await send(alice)).body.errors).toBeUndefined();
        const again = await send(bob);
        expect(again.body.errors?.[0]?.extensions).toMatchObject({
          code: 'CONFLICT',
          reason: 'ALREADY_LINKED',
          auth0: { statusCode: 409 },
        });
      } finally {
        await trusting.close();
      }
    });

    it('SAME_ACCOUNT when the secondary is the primary (refused locally)', async () => {
      const result = await adminLink(alice, alice);
      expect(result.body.errors?.[0]?.extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        reason: 'SAME_ACCOUNT',
      });
      expect(h.emulator.journal.count('link')).toBe(0);
    });

    it('SAME_ACCOUNT in JWT mode when linkWith is the primary’s own ID token', async () => {
      const own = await h.emulator.tokens.idToken({ sub: alice });
      const result = await execute(
        h.url,
        LinkAccountsDocument,
        { primaryId: alice, input: { jwt: { linkWith: own } } },
        { token: tokens.alice },
      );
      expect(result.body.errors?.[0]?.extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        reason: 'SAME_ACCOUNT',
      });
    });
  });

  describe('audit events', () => {
    it('writes one audit line per attempt, successful or not, with no secret', async () => {
      await execute(
        h.url,
        LinkAccountsDocument,
        { primaryId: alice, input: { jwt: { linkWith: tokens.aliceGoogleIdToken } } },
        { token: tokens.alice, headers: { 'x-request-id': 'req-jwt-link' } },
      );
      await adminLink(alice, carol);
      await unlink(tokens.alice, aliceGoogle, alice, 'google-oauth2');

      const events = h.auditEvents();
      expect(events).toHaveLength(3);
      expect(events[0]).toMatchObject({
        event: 'account.link',
        outcome: 'success',
        reason: null,
        mode: 'jwt',
        primaryId: alice,
        secondary: aliceGoogle,
        callerSubject: alice,
        requestId: 'req-jwt-link',
      });
      expect(events[1]).toMatchObject({
        event: 'account.link',
        outcome: 'FORBIDDEN',
        reason: 'EMAIL_MISMATCH',
        mode: 'admin',
        secondary: carol,
      });
      expect(events[2]).toMatchObject({ event: 'account.unlink', outcome: 'success', mode: 'user' });
      for (const event of events) expect(typeof event.time).toBe('string');

      const allLogs = h.logLines.join('\n');
      for (const secret of [
        tokens.alice,
        tokens.admin,
        tokens.aliceGoogleIdToken,
        DEMO.serviceClientSecret,
      ]) {
        expect(allLogs).not.toContain(secret);
      }
    });

    it('records a refusal before any token is verified', async () => {
      await execute(h.url, LinkAccountsDocument, {
        primaryId: alice,
        input: { admin: { provider: 'github', userId: '4031337' } },
      });
      expect(h.auditEvents()).toEqual([
        expect.objectContaining({ event: 'account.link', outcome: 'UNAUTHENTICATED', callerSubject: null }),
      ]);
    });
  });
});
