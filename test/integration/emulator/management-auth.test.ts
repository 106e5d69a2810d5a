import { DEMO, type Auth0Emulator } from '../../../src/auth0-emulator/index.js';
import { call, useEmulator, userPath } from '../../support/emulator-fixture.js';

interface Endpoint {
  name: string;
  method: string;
  path: string;
  json?: unknown;
}

const ENDPOINTS: Endpoint[] = [
  { name: 'link', method: 'POST', path: userPath(DEMO.users.alice, '/identities'),
    json: { provider: 'auth0', user_id: '6650a1b2c3d4e5f600000002' } },
  { name: 'unlink', method: 'DELETE', path: userPath(DEMO.users.alice, '/identities/github/4031337') },
  { name: 'get-user', method: 'GET', path: userPath(DEMO.users.alice) },
  { name: 'users-by-email', method: 'GET', path: '/api/v2/users-by-email?email=alice%40example.com' },
  { name: 'search-users', method: 'GET', path: '/api/v2/users?q=email%3A%22alice%40example.com%22&search_engine=v3' },
]; // prettier-ignore

type TokenCase = [title: string, token: (e: Auth0Emulator) => Promise<string | undefined>, message: string];

const BAD_TOKENS: TokenCase[] = [
  ['no bearer', async () => undefined, 'Missing authentication'],
  ['a garbage token', async () => 'not-a-jwt', 'Invalid token'],
  ['an expired token', (e) => e.tokens.adminToken({ expiresInSeconds: -10 }),
    'Expired token received for JSON Web Token validation'],
  ['a token signed by a foreign key', (e) => e.tokens.sign(adminClaims(e), { alg: 'foreign-RS256' }),
    'Invalid signature received for JSON Web Token validation'],
  ['a foreign signature under the tenant kid', async (e) => {
    const kid = (((await call(e, 'GET', '/.well-known/jwks.json')).body as { keys: { kid: string }[] }).keys[0]).kid;
    return e.tokens.sign(adminClaims(e), { alg: 'foreign-RS256', kid });
  }, 'Invalid signature received for JSON Web Token validation'],
  ['an HS256 token', (e) => e.tokens.sign(adminClaims(e), { alg: 'HS256' }), 'Invalid token'],
  ['an unsigned token', (e) => e.tokens.sign(adminClaims(e), { alg: 'none' }), 'Invalid token'],
  ['another issuer', (e) => e.tokens.adminToken({ issuer: 'https://evil.example.com/' }), 'Invalid token'],
  ['another audience', (e) => e.tokens.adminToken({ audience: 'https://api.example.com/' }), 'Invalid token'],
  ['a token without exp', (e) => e.tokens.sign({ ...adminClaims(e), exp: undefined }), 'Invalid token'],
]; // prettier-ignore

function adminClaims(e: Auth0Emulator): Record<string, unknown> {
  const iat = Math.floor(Date.now() / 1000);
  return { iss: e.issuer, sub: `${DEMO.adminClientId}@clients`, aud: e.managementAudience, iat, exp: iat + 600,
    azp: DEMO.adminClientId, scope: 'read:users update:users', gty: 'client-credentials' }; // prettier-ignore
}

describe('Management API bearer verification', () => {
  const emulator = useEmulator();

  describe.each(ENDPOINTS)('$name', (endpoint) => {
    it.each(BAD_TOKENS)('answers 401 to %s', async (_title, makeToken, message) => {
      const e = emulator();
      const token = await makeToken(e);
      const res = await call(e, endpoint.method, endpoint.path, { token, json: endpoint.json });
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ statusCode: 401, error: 'Unauthorized', message });
      expect(e.tenant.getUser(DEMO.users.bob)).toBeDefined();
    });
  });

  it('refuses a non-Bearer authorization scheme', async () => {
    const res = await call(emulator(), 'GET', userPath(DEMO.users.alice), {
      headers: { authorization: 'Basic abc' },
    });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
  });

  it('accepts the management audience inside an audience array', async () => {
    const e = emulator();
    const token = await e.tokens.adminToken({ audience: ['https://api.example.com/', e.managementAudience] });
    expect((await call(e, 'GET', userPath(DEMO.users.bob), { token })).status).toBe(200);
  });

  it('accepts scopes granted through a permissions claim', async () => {
    const e = emulator();
    const token = await e.tokens.adminToken({ permissions: ['read:users'] });
    expect((await call(e, 'GET', userPath(DEMO.users.bob), { token })).status).toBe(200);
  });

  it.each([
    ['link', 'POST', userPath(DEMO.users.alice, '/identities'), 'update:users,update:current_user_identities'],
    ['unlink', 'DELETE', userPath(DEMO.users.alice, '/identities/github/4031337'),
      'update:users,update:current_user_identities'],
    ['get-user', 'GET', userPath(DEMO.users.alice), 'read:users,read:current_user,read:user_idp_tokens'],
    ['users-by-email', 'GET', '/api/v2/users-by-email?email=a', 'read:users'],
    ['search-users', 'GET', '/api/v2/users', 'read:users'],
  ])('answers 403 insufficient_scope on %s without a fitting scope', async (_name, method, path, expected) => {
    const e = emulator();
    const token = await e.tokens.adminToken({ scope: 'read:clients' });
    const res = await call(e, method, path, { token, json: method === 'POST' ? { link_with: 'x' } : undefined });
    expect(res.status).toBe(403);
    expect(res.body).toEqual({
      statusCode: 403,
      error: 'Forbidden',
      message: `Insufficient scope, expected any of: ${expected}`,
      errorCode: 'insufficient_scope',
    });
  }); // prettier-ignore

  it.each([
    ['link', 'POST', userPath(DEMO.users.bob, '/identities'), 'update:current_user_identities'],
    [
      'unlink',
      'DELETE',
      userPath(DEMO.users.bob, '/identities/github/4031337'),
      'update:current_user_identities',
    ],
    ['get-user', 'GET', userPath(DEMO.users.bob), 'read:current_user'],
  ])(
    'answers 403 on %s when a current_user token acts on another user',
    async (_name, method, path, scope) => {
      const e = emulator();
      const token = await e.tokens.userAccessToken({ sub: DEMO.users.alice, scope });
      const res = await call(e, method, path, {
        token,
        json: method === 'POST' ? { link_with: 'x' } : undefined,
      });
      expect(res.status).toBe(403);
      expect(res.body).toEqual({
        statusCode: 403,
        error: 'Forbidden',
        message: 'User to be acted on does not match subject in bearer token',
      });
    },
  );

  it('answers 400 invalid_uri for a path segment that does not decode', async () => {
    const e = emulator();
    const res = await call(e, 'GET', '/api/v2/users/auth0%E0%A4%A', { token: await e.tokens.adminToken() });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'Invalid request URI',
      errorCode: 'invalid_uri',
    });
  });
});
