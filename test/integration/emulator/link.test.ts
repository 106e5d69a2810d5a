import { DEMO, type Auth0Emulator } from '../../../src/auth0-emulator/index.js';
import { call, useEmulator, userPath } from '../../support/emulator-fixture.js';

const ALICE = DEMO.users.alice;
const BOB = DEMO.users.bob;

function badRequest(message: string, errorCode?: string) {
  return { statusCode: 400, error: 'Bad Request', message, ...(errorCode ? { errorCode } : {}) };
}

describe('POST /api/v2/users/{id}/identities', () => {
  const emulator = useEmulator();

  async function adminLink(e: Auth0Emulator, primary: string, json: unknown, scope?: string) {
    const token = await e.tokens.adminToken(scope ? { scope } : {});
    return call(e, 'POST', userPath(primary, '/identities'), { token, json });
  }

  describe('admin mode', () => {
    it('links the secondary and answers 201 with the primary identities, primary first', async () => {
      const e = emulator();
      const res = await adminLink(e, ALICE, { provider: 'auth0', user_id: '6650a1b2c3d4e5f600000002' });
      expect(res.status).toBe(201);
      expect(res.body).toEqual([
        { provider: 'auth0', user_id: '6650a1b2c3d4e5f600000001', connection: 'Username-Password-Authentication',
          isSocial: false },
        { provider: 'auth0', user_id: '6650a1b2c3d4e5f600000002', connection: 'Username-Password-Authentication',
          isSocial: false, profileData: { email: 'bob@example.com', email_verified: true, name: 'Bob Builder',
            nickname: 'bob', picture: expect.stringContaining('gravatar') } },
      ]); // prettier-ignore
      expect(e.journal.entries({ route: 'link' })).toEqual([
        expect.objectContaining({
          path: '/api/v2/users/auth0%7C6650a1b2c3d4e5f600000001/identities',
          status: 201,
        }),
      ]);
    });

    it('removes the secondary as a user while search by identity finds the primary, profile unchanged', async () => {
      const e = emulator();
      const before = e.tenant.getUser(ALICE);
      expect(
        (await adminLink(e, ALICE, { provider: 'auth0', user_id: '6650a1b2c3d4e5f600000002' })).status,
      ).toBe(201);
      const token = await e.tokens.adminToken();
      expect((await call(e, 'GET', userPath(BOB), { token })).status).toBe(404);
      const byId = await call(e, 'GET', `/api/v2/users?q=${encodeURIComponent(`user_id:"${BOB}"`)}`, {
        token,
      });
      expect(byId.body).toEqual([]);
      const byIdentity = await call(e, 'GET', `/api/v2/users?q=${encodeURIComponent(
        'identities.user_id:"6650a1b2c3d4e5f600000002"')}`, { token }); // prettier-ignore
      expect((byIdentity.body as { user_id: string }[]).map((u) => u.user_id)).toEqual([ALICE]);
      const after = e.tenant.getUser(ALICE);
      const { identities: _a, updated_at: _b, ...profileBefore } = before!;
      const { identities: _c, updated_at: _d, ...profileAfter } = after!;
      expect(profileAfter).toEqual(profileBefore);
      expect(e.tenant.getUser(BOB)).toBeUndefined();
    });

    it.each([
      ['a string', '4031337'],
      ['a number', 4031337],
    ])(
      'links a GitHub identity whose user_id is sent as %s and returns it as a number',
      async (_t, userId) => {
        const res = await adminLink(emulator(), ALICE, { provider: 'github', user_id: userId });
        expect(res.status).toBe(201);
        expect((res.body as unknown[])[1]).toMatchObject({
          provider: 'github',
          user_id: 4031337,
          isSocial: true,
        });
      },
    );

    it.each([
      ['without read:user_idp_tokens', 'update:users', false],
      ['with read:user_idp_tokens', 'update:users read:user_idp_tokens', true],
    ])('returns provider tokens on linked social identities only %s', async (_t, scope, expected) => {
      const res = await adminLink(
        emulator(),
        ALICE,
        { provider: 'google-oauth2', user_id: '108000000000000000001' },
        scope,
      );
      expect(res.status).toBe(201);
      const google = (res.body as Record<string, unknown>[])[1];
      expect('access_token' in google).toBe(expected);
      expect('refresh_token' in google).toBe(expected);
    });

    it('takes the user_id after the first | for custom database ids', async () => {
      const e = emulator();
      e.tenant.addUser({ user_id: 'auth0|Conn|123', email: 'legacy@example.com' });
      const res = await adminLink(e, ALICE, { provider: 'auth0', user_id: 'Conn|123' });
      expect(res.status).toBe(201);
      expect((res.body as unknown[])[1]).toMatchObject({ provider: 'auth0', user_id: 'Conn|123' });
    });

    it('accepts the connection_id of the secondary connection', async () => {
      const e = emulator();
      const connectionId = e.tenant.connectionId('Username-Password-Authentication');
      expect(connectionId).toMatch(/^con_[A-Za-z0-9]{16}$/);
      const json = { provider: 'auth0', user_id: '6650a1b2c3d4e5f600000002', connection_id: connectionId };
      expect((await adminLink(e, ALICE, json)).status).toBe(201);
    });

    it.each([
      ['a missing primary', 'auth0|ffffffffffffffffffffffff', { provider: 'auth0', user_id: '6650a1b2c3d4e5f600000002' },
        404, { statusCode: 404, error: 'Not Found', message: 'The user does not exist.', errorCode: 'inexistent_user' }],
      ['a self-link', ALICE, { provider: 'auth0', user_id: '6650a1b2c3d4e5f600000001' },
        400, badRequest('Main identity and the new one are the same.')],
      ['a missing secondary', ALICE, { provider: 'auth0', user_id: 'ffffffffffffffffffffffff' },
        400, badRequest('Provided secondary account not found.')],
      ['the full provider|id form as user_id', ALICE, { provider: 'google-oauth2', user_id: DEMO.users.aliceGoogle },
        400, badRequest('Provided secondary account not found.')],
      ['a connection_id of another connection', ALICE,
        { provider: 'auth0', user_id: '6650a1b2c3d4e5f600000002', connection_id: 'con_0000000000000000' },
        400, badRequest('Provided secondary account not found.')],
    ])('refuses %s', async (_t, primary, json, status, body) => {
      const res = await adminLink(emulator(), primary, json);
      expect(res.status).toBe(status);
      expect(res.body).toEqual(body);
    }); // prettier-ignore

    it.each([
      ['to the same primary', ALICE],
      ['to another primary', DEMO.users.carol],
    ])('answers 409 when the identity is already linked %s', async (_t, secondPrimary) => {
      const e = emulator();
      const json = { provider: 'auth0', user_id: '6650a1b2c3d4e5f600000002' };
      expect((await adminLink(e, ALICE, json)).status).toBe(201);
      const res = await adminLink(e, secondPrimary, json);
      expect(res.status).toBe(409);
      expect(res.body).toEqual({
        statusCode: 409,
        error: 'Conflict',
        message: 'Specified identity already exists.',
      });
    });

    it('accepts a form-urlencoded body', async () => {
      const e = emulator();
      const token = await e.tokens.adminToken();
      const res = await call(e, 'POST', userPath(ALICE, '/identities'), {
        token,
        form: { provider: 'auth0', user_id: '6650a1b2c3d4e5f600000002' },
      });
      expect(res.status).toBe(201);
    });
  });

  describe('body validation', () => {
    it.each([
      ['an extra property', { provider: 'auth0', user_id: 'x', foo: 1 }, "'Additional properties not allowed: foo'."],
      ['an empty object', {}, "'Too few properties defined (0), minimum 1'."],
      ['an array', [], "'Expected type object but found type array'."],
      ['an unknown provider', { provider: 'myspace', user_id: 'x' }, `'No enum match for: "myspace"' on property provider.`],
      ['a non-string provider', { provider: 7, user_id: 'x' }, "'Expected type string but found type integer' on property provider."],
      ['a bad connection_id', { provider: 'auth0', user_id: 'x', connection_id: 'con_short' },
        "'String does not match pattern ^con_[A-Za-z0-9]{16}$: con_short' on property connection_id."],
      ['an empty user_id', { provider: 'auth0', user_id: '' }, "'String is too short (0 chars), minimum 1' on property user_id."],
      ['a boolean user_id', { provider: 'auth0', user_id: true },
        "'Expected type string,integer but found type boolean' on property user_id."],
      ['a fractional user_id', { provider: 'github', user_id: 1.5 },
        "'Expected type string,integer but found type number' on property user_id."],
      ['a non-string link_with', { link_with: 1 }, "'Expected type string but found type integer' on property link_with."],
      ['link_with with provider', { link_with: 'x', provider: 'auth0' },
        "'link_with cannot be combined with provider, user_id or connection_id'."],
      ['link_with with user_id', { link_with: 'x', user_id: 'y' },
        "'link_with cannot be combined with provider, user_id or connection_id'."],
      ['no provider', { user_id: 'x' }, "'Missing required property: provider'."],
      ['no user_id', { provider: 'auth0' }, "'Missing required property: user_id'."],
    ])('answers 400 invalid_body for %s', async (_t, json, detail) => {
      const res = await adminLink(emulator(), ALICE, json);
      expect(res.status).toBe(400);
      expect(res.body).toEqual(badRequest(`Payload validation error: ${detail}`, 'invalid_body'));
    }); // prettier-ignore

    it('answers 400 invalid_body for JSON that does not parse', async () => {
      const e = emulator();
      const token = await e.tokens.adminToken();
      const res = await call(e, 'POST', userPath(ALICE, '/identities'), { token, rawJson: '{"provider":' });
      expect(res.status).toBe(400);
      expect(res.body).toEqual(badRequest('Invalid request body', 'invalid_body'));
    });
  });

  describe('JWT mode (link_with)', () => {
    async function selfLink(e: Auth0Emulator, linkWith: string, userToken?: string) {
      const token = userToken ?? (await e.tokens.userAccessToken({ sub: ALICE }));
      return call(e, 'POST', userPath(ALICE, '/identities'), { token, json: { link_with: linkWith } });
    }

    it("links the ID token's subject with the primary's own token", async () => {
      const e = emulator();
      const res = await selfLink(e, await e.tokens.idToken({ sub: DEMO.users.aliceGithub }));
      expect(res.status).toBe(201);
      expect(res.body).toEqual([
        expect.objectContaining({ provider: 'auth0', user_id: '6650a1b2c3d4e5f600000001' }),
        expect.objectContaining({ provider: 'github', user_id: 4031337, profileData: expect.objectContaining({
          email: 'alice@example.com', email_verified: true }) }),
      ]); // prettier-ignore
      expect(e.tenant.getUser(DEMO.users.aliceGithub)).toBeUndefined();
    });

    it('lets an update:users caller send link_with whose aud is its own azp', async () => {
      const e = emulator();
      const idToken = await e.tokens.idToken({ sub: BOB, aud: DEMO.adminClientId });
      const res = await adminLink(e, ALICE, { link_with: idToken });
      expect(res.status).toBe(201);
    });

    it('refuses a current_user token that sends provider and user_id', async () => {
      const e = emulator();
      const token = await e.tokens.userAccessToken({ sub: ALICE });
      const res = await call(e, 'POST', userPath(ALICE, '/identities'), {
        token,
        json: { provider: 'auth0', user_id: '6650a1b2c3d4e5f600000002' },
      });
      expect(res.status).toBe(403);
      expect(res.body).toEqual({
        statusCode: 403,
        error: 'Forbidden',
        message: 'Insufficient scope, expected any of: update:users',
        errorCode: 'insufficient_scope',
      });
    });

    type LinkWithCase = [string, (e: Auth0Emulator) => Promise<string>, string];
    const CASES: LinkWithCase[] = [
      ['an HS256 token', (e) => e.tokens.idToken({ sub: BOB, alg: 'HS256' }), 'JWT (link_with) must have an alg of RS256'],
      ['an unsigned token', (e) => e.tokens.idToken({ sub: BOB, alg: 'none' }), 'JWT (link_with) must have an alg of RS256'],
      ['a token signed by another key', (e) => e.tokens.idToken({ sub: BOB, alg: 'foreign-RS256' }),
        'Invalid token (link_with).'],
      ['an expired token', (e) => e.tokens.idToken({ sub: BOB, expiresInSeconds: -5 }), 'Invalid token (link_with).'],
      ['garbage', async () => 'garbage', 'Invalid token (link_with).'],
      ['another issuer', (e) => e.tokens.idToken({ sub: BOB, issuer: 'https://evil.example.com/' }),
        'JWT (link_with) must have the same issuer as the calling user'],
      ['another audience', (e) => e.tokens.idToken({ sub: BOB, aud: 'some-other-client' }),
        "JWT (link_with) must have an aud claim that matches that of the calling token's azp"],
      ['no aud', (e) => e.tokens.sign({ iss: e.issuer, sub: BOB }, { expiresInSeconds: 60 }),
        'JWT (link_with) contains an invalid aud claim.'],
      ['no sub', (e) => e.tokens.idToken({ sub: null }), 'JWT (link_with) must contains sub claim'],
      ['a numeric sub', (e) => e.tokens.sign({ iss: e.issuer, sub: 42, aud: DEMO.spaClientId }, { expiresInSeconds: 60 }),
        'JWT (link_with) contains an invalid sub claim'],
      ['a sub that is no user', (e) => e.tokens.idToken({ sub: 'auth0|ffffffffffffffffffffffff' }),
        'Provided secondary account not found.'],
      ['its own sub', (e) => e.tokens.idToken({ sub: ALICE }), 'Main identity and the new one are the same.'],
    ]; // prettier-ignore

    it.each(CASES)('answers 400 to %s', async (_t, makeToken, message) => {
      const e = emulator();
      const res = await selfLink(e, await makeToken(e));
      expect(res.status).toBe(400);
      expect(res.body).toEqual(badRequest(message));
      expect(e.tenant.getUser(BOB)).toBeDefined();
    });
  });
});
