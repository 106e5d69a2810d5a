import { DEMO } from '../../src/auth0-emulator/index.js';
import {
  LinkAccountsDocument,
  LinkCandidatesDocument,
  MeDocument,
  UserDocument,
} from '../generated/graphql.js';
import { codesOf, execute } from '../support/graphql-client.js';
import { demoTokens, startHarness, type Harness } from '../support/harness.js';

const { alice, aliceGoogle, aliceGithub, aliceUnverified, bob } = DEMO.users;

describe('me, user and linkCandidates (gateway + emulator over HTTP)', () => {
  let h: Harness;
  let tokens: Awaited<ReturnType<typeof demoTokens>>;

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());
  // The candidate lookups: user searches by email (the user loader searches by user_id).
  const emailSearches = () =>
    h.emulator.journal.entries({ route: 'search-users' }).filter((e) => e.query.q?.startsWith('email:'));
  beforeEach(async () => {
    h.emulator.tenant.reset();
    tokens = await demoTokens(h.emulator);
  });

  describe('me', () => {
    it("returns the caller's own user with identities", async () => {
      const result = await execute(h.url, MeDocument, {}, { token: tokens.alice });
      expect(result.body.data?.me).toMatchObject({
        id: alice,
        email: 'alice@example.com',
        emailVerified: true,
      });
      expect(result.body.data?.me?.identities.map((i) => i.id)).toEqual([alice]);
    });

    it('is null for a machine token (no user behind it)', async () => {
      const result = await execute(h.url, MeDocument, {}, { token: tokens.admin });
      expect(result.body.errors).toBeUndefined();
      expect(result.body.data?.me).toBeNull();
    });

    it('is UNAUTHENTICATED without a token, with no Auth0 call', async () => {
      const result = await execute(h.url, MeDocument, {});
      expect(codesOf(result)).toEqual(['UNAUTHENTICATED']);
      expect(h.emulator.journal.count('get-user')).toBe(0);
    });
  });

  describe('user(id)', () => {
    it('returns the caller’s own user', async () => {
      const result = await execute(h.url, UserDocument, { id: alice }, { token: tokens.alice });
      expect(result.body.data?.user?.id).toBe(alice);
    });

    it('refuses another user’s id as FORBIDDEN without reading it', async () => {
      const result = await execute(h.url, UserDocument, { id: bob }, { token: tokens.alice });
      expect(result.body.errors?.[0]?.extensions).toMatchObject({
        code: 'FORBIDDEN',
        reason: 'SUBJECT_MISMATCH',
      });
      expect(result.text).not.toContain('bob@example.com');
      expect(h.emulator.journal.count('get-user')).toBe(0);
    });

    it("resolves a linked-away id under the same rule: the former secondary's own token gets its primary, another user is FORBIDDEN unread", async () => {
      const admin = await h.emulator.tokens.adminToken({ sub: 'dashboard@clients', scope: 'update:users' });
      const linked = await fetch(
        `${h.emulator.origin}/api/v2/users/${encodeURIComponent(alice)}/identities`,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
          body: JSON.stringify({ provider: 'github', user_id: aliceGithub.split('|')[1] }),
        },
      );
      expect(linked.status).toBe(201);
      // A token issued to the secondary before the link: its holder is that user, now alice.
      const formerToken = await h.emulator.tokens.userAccessToken({ sub: aliceGithub });
      const own = await execute(h.url, UserDocument, { id: aliceGithub }, { token: formerToken });
      expect(own.body.data?.user?.id).toBe(alice);
      const readsBefore = h.emulator.journal.count('get-user') + h.emulator.journal.count('search-users');
      const other = await execute(h.url, UserDocument, { id: aliceGithub }, { token: tokens.bob });
      expect(other.body.errors?.[0]?.extensions).toMatchObject({
        code: 'FORBIDDEN',
        reason: 'SUBJECT_MISMATCH',
      });
      expect(other.body.data?.user ?? null).toBeNull();
      expect(h.emulator.journal.count('get-user') + h.emulator.journal.count('search-users')).toBe(
        readsBefore,
      );
    });

    it('returns any user to an admin, and null for one that does not exist', async () => {
      const admin = await h.emulator.tokens.adminToken({ scope: 'update:users' });
      const found = await execute(h.url, UserDocument, { id: bob }, { token: admin });
      expect(found.body.data?.user).toMatchObject({ id: bob, email: 'bob@example.com' });
      const missing = await execute(
        h.url,
        UserDocument,
        { id: 'auth0|nobody00000000000000001' },
        { token: admin },
      );
      expect(missing.body.errors).toBeUndefined();
      expect(missing.body.data?.user).toBeNull();
    });

    it('refuses an id that is not an Auth0 user id as BAD_USER_INPUT', async () => {
      const result = await execute(h.url, UserDocument, { id: 'not-a-user-id' }, { token: tokens.alice });
      expect(codesOf(result)).toEqual(['BAD_USER_INPUT']);
    });
  });

  describe('linkCandidates', () => {
    it('lists the other users with the same verified email, case-insensitively, never the primary', async () => {
      const result = await execute(
        h.url,
        LinkCandidatesDocument,
        { primaryId: alice },
        { token: tokens.alice },
      );
      const ids = result.body.data?.linkCandidates.map((u) => u.id) ?? [];
      expect(ids.sort()).toEqual([aliceGithub, aliceGoogle].sort());
      // ALICE@example.com exists too, but its email is not verified.
      expect(ids).not.toContain(aliceUnverified);
      expect(ids).not.toContain(alice);
    });

    it('proposes accounts whose verified email differs only in case, as Auth0 search matches', async () => {
      // A social provider may keep the case the user typed; Auth0's search folds it.
      h.emulator.tenant.addUser({
        user_id: 'apple|000111.abc',
        email: 'Alice@Example.com',
        email_verified: true,
      });
      h.emulator.tenant.addUser({
        user_id: 'auth0|upper0000000000000001',
        email: 'ALICE@EXAMPLE.COM',
        email_verified: true,
      });
      h.emulator.tenant.addUser({
        user_id: 'apple|000222.abc',
        email: 'Alice@Example.com',
        email_verified: false,
      });
      const result = await execute(
        h.url,
        LinkCandidatesDocument,
        { primaryId: alice },
        { token: tokens.alice },
      );
      expect(result.body.errors).toBeUndefined();
      const ids = result.body.data?.linkCandidates.map((u) => u.id) ?? [];
      expect(ids.sort()).toEqual(
        [aliceGithub, aliceGoogle, 'apple|000111.abc', 'auth0|upper0000000000000001'].sort(),
      );
      expect(emailSearches().map((e) => e.query.q)).toEqual(['email:"alice@example.com"']);
    });

    it('is empty for a primary whose email is not verified', async () => {
      const own = await h.emulator.tokens.userAccessToken({ sub: aliceUnverified });
      const result = await execute(
        h.url,
        LinkCandidatesDocument,
        { primaryId: aliceUnverified },
        { token: own },
      );
      expect(result.body.errors).toBeUndefined();
      expect(result.body.data?.linkCandidates).toEqual([]);
      expect(emailSearches()).toEqual([]);
    });

    it('no longer lists an account once it is linked', async () => {
      const admin = await h.emulator.tokens.adminToken({ scope: 'update:users' });
      await execute(
        h.url,
        LinkAccountsDocument,
        { primaryId: alice, input: { admin: { provider: 'github', userId: aliceGithub } } },
        { token: admin },
      );
      const result = await execute(
        h.url,
        LinkCandidatesDocument,
        { primaryId: alice },
        { token: tokens.alice },
      );
      expect(result.body.data?.linkCandidates.map((u) => u.id)).toEqual([aliceGoogle]);
    });

    it("refuses another user's primaryId as FORBIDDEN", async () => {
      const result = await execute(
        h.url,
        LinkCandidatesDocument,
        { primaryId: alice },
        { token: tokens.bob },
      );
      expect(result.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN' });
      expect(emailSearches()).toEqual([]);
    });

    it('answers NOT_FOUND / PRIMARY_NOT_FOUND for a primary that does not exist (admin)', async () => {
      const admin = await h.emulator.tokens.adminToken({ scope: 'update:users' });
      const result = await execute(
        h.url,
        LinkCandidatesDocument,
        { primaryId: 'auth0|nobody00000000000000001' },
        { token: admin },
      );
      expect(result.body.errors?.[0]?.extensions).toMatchObject({
        code: 'NOT_FOUND',
        reason: 'PRIMARY_NOT_FOUND',
      });
    });
  });
});
