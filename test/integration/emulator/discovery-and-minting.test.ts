import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { DEMO } from '../../../src/auth0-emulator/index.js';
import { call, useEmulator } from '../../support/emulator-fixture.js';

describe('Auth0 emulator discovery and token minting', () => {
  const emulator = useEmulator();

  it('serves one RS256 signing key in /.well-known/jwks.json', async () => {
    const res = await call(emulator(), 'GET', '/.well-known/jwks.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const { keys } = res.body as { keys: Record<string, unknown>[] };
    expect(keys).toHaveLength(1);
    expect(keys[0]).toEqual({
      alg: 'RS256',
      kty: 'RSA',
      use: 'sig',
      n: expect.any(String),
      e: 'AQAB',
      kid: expect.any(String),
    });
  });

  it('publishes the issuer with a trailing slash and the endpoints in openid-configuration', async () => {
    const e = emulator();
    const res = await call(e, 'GET', '/.well-known/openid-configuration');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      issuer: `${e.origin}/`,
      token_endpoint: `${e.origin}/oauth/token`,
      jwks_uri: `${e.origin}/.well-known/jwks.json`,
      userinfo_endpoint: `${e.origin}/userinfo`,
      id_token_signing_alg_values_supported: ['HS256', 'RS256', 'PS256'],
      subject_types_supported: ['public'],
    });
    expect(e.issuer).toBe(`${e.origin}/`);
    expect(e.managementAudience).toBe(`${e.origin}/api/v2/`);
    expect(e.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('answers unknown routes 404 and journals them as unknown', async () => {
    const e = emulator();
    const res = await call(e, 'GET', '/api/v2/clients');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ statusCode: 404, error: 'Not Found', message: 'Not Found' });
    expect(e.journal.entries()).toEqual([expect.objectContaining({ route: 'unknown', status: 404 })]);
  });

  async function verifyWithJwks(token: string) {
    const jwks = (await call(emulator(), 'GET', '/.well-known/jwks.json')).body as Parameters<
      typeof createLocalJWKSet
    >[0];
    return jwtVerify(token, createLocalJWKSet(jwks), { issuer: emulator().issuer });
  }

  it('mints user access tokens with Auth0 claims, verifiable with the JWKS', async () => {
    const e = emulator();
    const token = await e.tokens.userAccessToken({ sub: DEMO.users.alice });
    const { payload, protectedHeader } = await verifyWithJwks(token);
    expect(protectedHeader).toMatchObject({ alg: 'RS256', typ: 'JWT' });
    expect(payload).toMatchObject({
      iss: e.issuer,
      sub: DEMO.users.alice,
      azp: DEMO.spaClientId,
      aud: [e.managementAudience, `${e.origin}/userinfo`],
      scope: 'openid profile email read:current_user update:current_user_identities',
    });
    expect((payload.exp as number) - (payload.iat as number)).toBe(3600);
  });

  it('mints admin tokens shaped like client-credentials tokens', async () => {
    const e = emulator();
    const payload = decodeJwt(await e.tokens.adminToken({ permissions: ['read:users'] }));
    expect(payload).toMatchObject({
      sub: `${DEMO.adminClientId}@clients`,
      azp: DEMO.adminClientId,
      aud: e.managementAudience,
      gty: 'client-credentials',
      permissions: ['read:users'],
    });
    expect(payload.scope).toBeUndefined();
    expect(decodeJwt(await e.tokens.adminToken()).scope).toBe('read:users update:users');
  });

  it('mints ID tokens that default email claims from the tenant and can omit sub', async () => {
    const e = emulator();
    const payload = decodeJwt(await e.tokens.idToken({ sub: DEMO.users.aliceUnverified }));
    expect(payload).toMatchObject({
      iss: e.issuer,
      sub: DEMO.users.aliceUnverified,
      aud: DEMO.spaClientId,
      email: 'ALICE@example.com',
      email_verified: false,
    });
    expect(decodeJwt(await e.tokens.idToken({ sub: null })).sub).toBeUndefined();
  });

  it.each([
    ['HS256', 'HS256'],
    ['none', 'none'],
    ['foreign-RS256', 'RS256'],
  ] as const)('signs %s tokens that the JWKS does not verify', async (alg, headerAlg) => {
    const token = await emulator().tokens.idToken({ sub: DEMO.users.bob, alg });
    expect(decodeProtectedHeader(token).alg).toBe(headerAlg);
    await expect(verifyWithJwks(token)).rejects.toThrow();
  });

  it('signs arbitrary claims, with an already-expired exp when asked', async () => {
    const token = await emulator().tokens.sign({ sub: 'x', custom: 1 }, { expiresInSeconds: -60 });
    const payload = decodeJwt(token);
    expect(payload).toMatchObject({ sub: 'x', custom: 1 });
    expect((payload.exp as number) - (payload.iat as number)).toBe(-60);
  });
});
