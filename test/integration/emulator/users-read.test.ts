import { DEMO, type Auth0Emulator } from '../../../src/auth0-emulator/index.js';
import { call, useEmulator, userPath } from '../../support/emulator-fixture.js';

function ids(body: unknown): string[] {
  return (body as { user_id: string }[]).map((u) => u.user_id);
}

function q(query: string, extra = ''): string {
  return `/api/v2/users?q=${encodeURIComponent(query)}&search_engine=v3${extra}`;
}

describe('Management API reads', () => {
  const emulator = useEmulator();
  const admin = (e: Auth0Emulator, scope?: string) => e.tokens.adminToken(scope ? { scope } : {});

  describe('GET /api/v2/users/{id}', () => {
    it('returns the user in Auth0 shape with identities, without provider tokens by default', async () => {
      const e = emulator();
      const res = await call(e, 'GET', userPath(DEMO.users.aliceGithub), { token: await admin(e) });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        created_at: '2024-05-24T10:00:00.000Z',
        updated_at: '2024-05-24T10:00:00.000Z',
        user_id: 'github|4031337',
        email: 'alice@example.com',
        email_verified: true,
        name: 'Alice Liddell',
        nickname: 'alice-gh',
        picture: 'https://avatars.githubusercontent.com/u/4031337?v=4',
        identities: [{ provider: 'github', user_id: 4031337, connection: 'github', isSocial: true }],
      });
    });

    it.each([
      ['read:user_idp_tokens', true],
      ['read:users', false],
    ])('includes provider tokens only with read:user_idp_tokens (%s)', async (scope, expected) => {
      const e = emulator();
      const res = await call(e, 'GET', userPath(DEMO.users.aliceGoogle), { token: await admin(e, scope) });
      expect(res.status).toBe(200);
      const [identity] = (res.body as { identities: Record<string, unknown>[] }).identities;
      expect(identity.access_token === 'ya29.demo-google-access-token').toBe(expected);
      expect(identity.refresh_token === '1//demo-google-refresh-token').toBe(expected);
    });

    it('lets a read:current_user token read its own user', async () => {
      const e = emulator();
      const token = await e.tokens.userAccessToken({ sub: DEMO.users.bob, scope: 'read:current_user' });
      expect((await call(e, 'GET', userPath(DEMO.users.bob), { token })).status).toBe(200);
    });

    it.each([
      ['fields=user_id,email', ['email', 'user_id']],
      ['fields=user_id,email&include_fields=true', ['email', 'user_id']],
      ['fields=identities,picture,created_at,updated_at&include_fields=false',
        ['email', 'email_verified', 'family_name', 'given_name', 'name', 'nickname', 'user_id',
          'user_metadata', 'app_metadata'].sort()],
    ])('projects %s', async (query, keys) => {
      const e = emulator();
      const res = await call(e, 'GET', `${userPath(DEMO.users.alice)}?${query}`, { token: await admin(e) });
      expect(Object.keys(res.body as object).sort()).toEqual(keys);
    }); // prettier-ignore

    it('answers 404 inexistent_user for an unknown id', async () => {
      const e = emulator();
      const res = await call(e, 'GET', userPath('auth0|nobody'), { token: await admin(e) });
      expect(res.status).toBe(404);
      expect(res.body).toEqual({
        statusCode: 404,
        error: 'Not Found',
        message: 'The user does not exist.',
        errorCode: 'inexistent_user',
      });
    });

    it('resolves a user whose id arrives unencoded', async () => {
      const e = emulator();
      const res = await call(e, 'GET', `/api/v2/users/${DEMO.users.bob}`, { token: await admin(e) });
      expect(res.status).toBe(200);
      expect(e.journal.entries({ route: 'get-user' })[0].path).toBe(`/api/v2/users/${DEMO.users.bob}`);
    });
  });

  describe('GET /api/v2/users-by-email', () => {
    it.each([
      ['alice@example.com', [DEMO.users.alice, DEMO.users.aliceGoogle, DEMO.users.aliceGithub]],
      ['ALICE@example.com', [DEMO.users.aliceUnverified]],
      ['Alice@Example.com', []],
      ['bob@example.com', [DEMO.users.bob]],
    ])('matches %s case-sensitively', async (email, expected) => {
      const e = emulator();
      const res = await call(e, 'GET', `/api/v2/users-by-email?email=${encodeURIComponent(email)}`, {
        token: await admin(e),
      });
      expect(res.status).toBe(200);
      expect(ids(res.body)).toEqual(expected);
    });

    it('answers 400 without the email parameter', async () => {
      const e = emulator();
      const res = await call(e, 'GET', '/api/v2/users-by-email', { token: await admin(e) });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ statusCode: 400, errorCode: 'invalid_query_string' });
    });

    it('misses users linked away and still finds users hidden from search', async () => {
      const e = emulator();
      const token = await admin(e);
      e.tenant.hideFromSearch([DEMO.users.alice]);
      await call(e, 'POST', userPath(DEMO.users.alice, '/identities'), {
        token,
        json: { provider: 'github', user_id: '4031337' },
      });
      const res = await call(e, 'GET', '/api/v2/users-by-email?email=alice%40example.com', { token });
      expect(ids(res.body)).toEqual([DEMO.users.alice, DEMO.users.aliceGoogle]);
    });
  });

  describe('GET /api/v2/users (search)', () => {
    const A = DEMO.users;
    it.each([
      [`user_id:"${A.bob}"`, [A.bob]],
      [`user_id:("${A.bob}" OR "${A.carol}" OR "${A.aliceGithub}")`, [A.aliceGithub, A.bob, A.carol]],
      ['email:"carol@example.com"', [A.carol]],
      ['email:("bob@example.com" OR "carol@example.com")', [A.bob, A.carol]],
      ['identities.user_id:"4031337"', [A.aliceGithub]],
      ['identities.connection:"google-oauth2"', [A.aliceGoogle]],
      ['email:"alice@example.com" AND identities.provider:"auth0"', [A.alice, A.aliceUnverified]],
      ['email:"bob@example.com" OR email:"carol@example.com"', [A.bob, A.carol]],
      ['email_verified:false', [A.aliceUnverified]],
      ['email:bob*', [A.bob]],
      ['app_metadata.plan:"pro"', [A.alice]],
    ])('q=%s', async (query, expected) => {
      const e = emulator();
      const res = await call(e, 'GET', q(query), { token: await admin(e) });
      expect(res.status).toBe(200);
      expect(ids(res.body)).toEqual(expected);
    });

    it('returns everyone, 50 per page by default, without q', async () => {
      const e = emulator();
      const res = await call(e, 'GET', '/api/v2/users', { token: await admin(e) });
      expect(ids(res.body)).toHaveLength(8);
    });

    it('pages from 0 and reports totals with include_totals', async () => {
      const e = emulator();
      const token = await admin(e);
      const res = await call(e, 'GET', '/api/v2/users?per_page=4&page=1&include_totals=true', { token });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ start: 4, limit: 4, length: 4, total: 8, users: expect.any(Array) });
      expect(ids((res.body as { users: unknown }).users)).toEqual([A.bob, A.carol, A.dana, A.danaGithub]);
    });

    it('sorts by a field', async () => {
      const e = emulator();
      const res = await call(e, 'GET', '/api/v2/users?sort=user_id:-1&fields=user_id', {
        token: await admin(e),
      });
      expect(ids(res.body)[0]).toBe(A.aliceGoogle);
      expect(Object.keys((res.body as object[])[0])).toEqual(['user_id']);
    });

    it('misses users hidden from search while reads still find them', async () => {
      const e = emulator();
      const token = await admin(e);
      e.tenant.hideFromSearch([A.bob]);
      expect(ids((await call(e, 'GET', q(`user_id:"${A.bob}"`), { token })).body)).toEqual([]);
      expect((await call(e, 'GET', userPath(A.bob), { token })).status).toBe(200);
    });

    it.each([
      ['per_page above 100', '/api/v2/users?per_page=101', "Query validation error: 'Value 101 is greater than maximum 100' on property per_page.", 'invalid_query_string'],
      ['a negative page', '/api/v2/users?page=-1', "Query validation error: 'Value -1 is less than minimum 0' on property page.", 'invalid_query_string'],
      ['a non-numeric per_page', '/api/v2/users?per_page=ten', "Query validation error: 'Expected type integer but found type string' on property per_page.", 'invalid_query_string'],
      ['paging past 1000 records', '/api/v2/users?per_page=100&page=10', expect.stringMatching(/^You can only page through the first 1000 records/), 'invalid_paging'],
      ['an unparseable q', q('email:"unterminated'), expect.stringMatching(/^Invalid query/), 'invalid_query_string'],
      ['search_engine v2', '/api/v2/users?search_engine=v2', `Query validation error: 'No enum match for: "v2"' on property search_engine.`, 'invalid_query_string'],
    ])('answers 400 for %s', async (_t, path, message, errorCode) => {
      const e = emulator();
      const res = await call(e, 'GET', path, { token: await admin(e) });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ statusCode: 400, error: 'Bad Request', message, errorCode });
    }); // prettier-ignore
  });
});
