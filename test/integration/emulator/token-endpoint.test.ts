import { decodeJwt } from 'jose';
import { DEMO } from '../../../src/auth0-emulator/index.js';
import { call, useEmulator } from '../../support/emulator-fixture.js';

// The demo gateway client's grant: users, and the roles and memberships of the carry-over (DESIGN §15).
const GATEWAY_SCOPE = [
  'read:users update:users read:roles read:role_members read:organizations',
  'read:organization_members read:organization_member_roles create:organization_members',
  'delete:organization_members create:organization_member_roles delete:organization_member_roles',
].join(' ');
const PASSWORD_REALM = 'http://auth0.com/oauth/grant-type/password-realm';
const CLIENT_GRANT_HINT =
  'You need to create a "client-grant" associated to this API. See: https://auth0.com/docs/api/v2#!/Client_Grants/post_client_grants';

describe('POST /oauth/token', () => {
  const emulator = useEmulator({ tokenLifetimeSeconds: 7200 });

  function gatewayCredentials(extra: Record<string, string> = {}): Record<string, string> {
    return {
      grant_type: 'client_credentials',
      client_id: DEMO.serviceClientId,
      client_secret: DEMO.serviceClientSecret,
      audience: emulator().managementAudience,
      ...extra,
    };
  }

  describe('client credentials', () => {
    it.each(['json', 'form'] as const)('issues a Management API token from a %s body', async (encoding) => {
      const e = emulator();
      const params = gatewayCredentials();
      const res = await call(
        e,
        'POST',
        '/oauth/token',
        encoding === 'json' ? { json: params } : { form: params },
      );
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        access_token: expect.any(String),
        scope: GATEWAY_SCOPE,
        expires_in: 7200,
        token_type: 'Bearer',
      });
      const claims = decodeJwt((res.body as { access_token: string }).access_token);
      expect(claims).toMatchObject({
        iss: e.issuer,
        sub: `${DEMO.serviceClientId}@clients`,
        aud: e.managementAudience,
        azp: DEMO.serviceClientId,
        scope: GATEWAY_SCOPE,
        gty: 'client-credentials',
      });
      expect((claims.exp as number) - (claims.iat as number)).toBe(7200);
    });

    it('limits the scope to the requested scopes the client was granted', async () => {
      const res = await call(emulator(), 'POST', '/oauth/token', {
        form: gatewayCredentials({ scope: 'read:users delete:users' }),
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ scope: 'read:users' });
    });

    it('accepts the client credentials in an HTTP Basic header', async () => {
      const { client_secret: _secret, client_id: _id, ...rest } = gatewayCredentials();
      const basic = Buffer.from(`${DEMO.serviceClientId}:${DEMO.serviceClientSecret}`).toString('base64');
      const res = await call(emulator(), 'POST', '/oauth/token', {
        form: rest,
        headers: { authorization: `Basic ${basic}` },
      });
      expect(res.status).toBe(200);
    });

    it.each([
      ['a wrong secret', { client_secret: 'nope' }, 401, 'access_denied', 'Unauthorized'],
      ['an unknown client', { client_id: 'ghost' }, 401, 'access_denied', 'Unauthorized'],
      ['a missing secret', { client_secret: '' }, 401, 'access_denied', 'Unauthorized'],
      ['another audience', { audience: 'https://api.example.com/' }, 403, 'access_denied',
        'Service not found: https://api.example.com/'],
      ['a client not allowed the grant', { client_id: DEMO.spaClientId, client_secret: '' }, 403,
        'unauthorized_client', "Grant type 'client_credentials' not allowed for the client."],
    ])('refuses %s', async (_title, override, status, error, description) => {
      const params = { ...gatewayCredentials(), ...override };
      const form = Object.fromEntries(Object.entries(params).filter(([, v]) => v !== ''));
      const res = await call(emulator(), 'POST', '/oauth/token', { form });
      expect(res.status).toBe(status);
      expect(res.body).toEqual({ error, error_description: description });
    }); // prettier-ignore

    it('refuses a client without a client grant for the Management API', async () => {
      const e = emulator();
      e.tenant.addClient({ client_id: 'm2m-no-grant', client_secret: 's3cret', app_type: 'non_interactive' });
      const res = await call(e, 'POST', '/oauth/token', {
        form: { ...gatewayCredentials(), client_id: 'm2m-no-grant', client_secret: 's3cret' },
      });
      expect(res.status).toBe(403);
      expect(res.body).toEqual({
        error: 'access_denied',
        error_description: `Client is not authorized to access "${e.managementAudience}". ${CLIENT_GRANT_HINT}`,
      });
    });
  });

  it.each([
    ['no grant_type', {}, 400, 'invalid_request', 'Missing required parameter: grant_type'],
    [
      'an unknown grant_type',
      { grant_type: 'magic' },
      400,
      'unsupported_grant_type',
      'Unsupported grant type: magic',
    ],
  ])('refuses %s', async (_title, form, status, error, description) => {
    const res = await call(emulator(), 'POST', '/oauth/token', { form });
    expect(res.status).toBe(status);
    expect(res.body).toEqual({ error, error_description: description });
  });

  it('refuses a JSON body that does not parse', async () => {
    const res = await call(emulator(), 'POST', '/oauth/token', { rawJson: '{"grant_type":' });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'invalid_request' });
  });

  describe('password and password-realm', () => {
    function login(extra: Record<string, string>): Record<string, string> {
      return {
        grant_type: PASSWORD_REALM,
        client_id: DEMO.spaClientId,
        realm: 'Username-Password-Authentication',
        username: 'bob@example.com',
        password: DEMO.passwords.bob,
        scope: 'openid profile email read:current_user update:current_user_identities',
        ...extra,
      };
    }

    it('issues an access token for the Management API and an ID token when openid is asked', async () => {
      const e = emulator();
      const res = await call(e, 'POST', '/oauth/token', { form: login({}) });
      expect(res.status).toBe(200);
      const body = res.body as Record<string, string | number>;
      expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 7200 });
      expect(decodeJwt(body.access_token as string)).toMatchObject({
        iss: e.issuer,
        sub: DEMO.users.bob,
        azp: DEMO.spaClientId,
        aud: [e.managementAudience, `${e.origin}/userinfo`],
        scope: 'openid profile email read:current_user update:current_user_identities',
      });
      expect(decodeJwt(body.id_token as string)).toMatchObject({
        iss: e.issuer,
        sub: DEMO.users.bob,
        aud: DEMO.spaClientId,
        email: 'bob@example.com',
        email_verified: true,
        name: 'Bob Builder',
      });
    });

    it('drops scopes a user token may not carry and omits the ID token without openid', async () => {
      const res = await call(emulator(), 'POST', '/oauth/token', {
        json: login({ scope: 'read:current_user update:users read:users', grant_type: 'password' }),
      });
      expect(res.status).toBe(200);
      const body = res.body as Record<string, string>;
      expect(body.scope).toBe('read:current_user');
      expect(body.id_token).toBeUndefined();
      expect(decodeJwt(body.access_token).aud).toBe(emulator().managementAudience);
    });

    it.each([
      ['the email in another case', { username: 'BOB@Example.com' }, DEMO.users.bob],
      ['the user_id', { username: DEMO.users.carol, password: DEMO.passwords.carol }, DEMO.users.carol],
      ['the realm that picks the Google account among shared emails',
        { username: 'alice@example.com', password: DEMO.passwords.aliceGoogle, realm: 'google-oauth2' },
        DEMO.users.aliceGoogle],
      ['the exact-case email within the database realm',
        { username: 'alice@example.com', password: DEMO.passwords.alice }, DEMO.users.alice],
    ])('logs in with %s', async (_title, extra, sub) => {
      const res = await call(emulator(), 'POST', '/oauth/token', { form: login(extra) });
      expect(res.status).toBe(200);
      expect(decodeJwt((res.body as { access_token: string }).access_token).sub).toBe(sub);
    }); // prettier-ignore

    it.each([
      ['a wrong password', { password: 'wrong' }],
      ['an unknown user', { username: 'nobody@example.com' }],
      ['a realm that is not the user connection', { realm: 'github' }],
    ])('answers 403 invalid_grant for %s', async (_title, extra) => {
      const res = await call(emulator(), 'POST', '/oauth/token', { form: login(extra) });
      expect(res.status).toBe(403);
      expect(res.body).toEqual({ error: 'invalid_grant', error_description: 'Wrong email or password.' });
    });

    it('requires a realm when several users share the email', async () => {
      const { realm: _realm, ...rest } = login({
        username: 'alice@example.com',
        password: DEMO.passwords.alice,
      });
      const res = await call(emulator(), 'POST', '/oauth/token', {
        form: { ...rest, grant_type: 'password' },
      });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: 'invalid_request' });
    });

    it.each([
      ['username', { username: '' }],
      ['password', { password: '' }],
      ['realm', { realm: '' }],
    ])('answers 400 invalid_request without %s', async (name, extra) => {
      const form = Object.fromEntries(Object.entries(login(extra)).filter(([, v]) => v !== ''));
      const res = await call(emulator(), 'POST', '/oauth/token', { form });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        error: 'invalid_request',
        error_description: `Missing required parameter: ${name}`,
      });
    });

    it('refuses an audience other than the Management API', async () => {
      const res = await call(emulator(), 'POST', '/oauth/token', {
        form: login({ audience: 'https://other.example.com/' }),
      });
      expect(res.status).toBe(403);
      expect(res.body).toEqual({
        error: 'access_denied',
        error_description: 'Service not found: https://other.example.com/',
      });
    });

    it('refuses the password grant to a client that does not allow it', async () => {
      const res = await call(emulator(), 'POST', '/oauth/token', {
        form: login({ client_id: DEMO.serviceClientId, client_secret: DEMO.serviceClientSecret }),
      });
      expect(res.status).toBe(403);
      expect(res.body).toEqual({
        error: 'unauthorized_client',
        error_description: `Grant type '${PASSWORD_REALM}' not allowed for the client.`,
      });
    });
  });
});
