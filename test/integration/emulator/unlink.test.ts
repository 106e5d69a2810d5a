import { DEMO, type Auth0Emulator } from '../../../src/auth0-emulator/index.js';
import { call, useEmulator, userPath } from '../../support/emulator-fixture.js';

const ALICE = DEMO.users.alice;

describe('DELETE /api/v2/users/{id}/identities/{provider}/{user_id}', () => {
  const emulator = useEmulator();

  async function linkAll(e: Auth0Emulator): Promise<void> {
    const token = await e.tokens.adminToken();
    for (const json of [
      { provider: 'google-oauth2', user_id: '108000000000000000001' },
      { provider: 'github', user_id: '4031337' },
    ]) {
      expect((await call(e, 'POST', userPath(ALICE, '/identities'), { token, json })).status).toBe(201);
    }
  }

  async function unlink(e: Auth0Emulator, primary: string, provider: string, id: string, token?: string) {
    return call(e, 'DELETE', userPath(primary, `/identities/${provider}/${encodeURIComponent(id)}`), {
      token: token ?? (await e.tokens.adminToken()),
    });
  }

  it('answers 200 with the remaining identities and recreates the standalone user without metadata', async () => {
    const e = emulator();
    await linkAll(e);
    const res = await unlink(e, ALICE, 'google-oauth2', '108000000000000000001');
    expect(res.status).toBe(200);
    expect(res.body).toEqual([
      expect.objectContaining({ provider: 'auth0', user_id: '6650a1b2c3d4e5f600000001' }),
      expect.objectContaining({ provider: 'github', user_id: 4031337 }),
    ]);
    const restored = e.tenant.getUser(DEMO.users.aliceGoogle)!;
    expect(restored).toMatchObject({
      user_id: DEMO.users.aliceGoogle,
      email: 'alice@example.com',
      email_verified: true,
      name: 'Alice L.',
      given_name: 'Alice',
      identities: [
        {
          provider: 'google-oauth2',
          user_id: '108000000000000000001',
          connection: 'google-oauth2',
          isSocial: true,
          access_token: 'ya29.demo-google-access-token',
          refresh_token: '1//demo-google-refresh-token',
        },
      ],
    });
    // The seed's expires_in is not in Auth0's identity schema, so no answer carries it.
    expect(restored.identities[0]).not.toHaveProperty('expires_in');
    expect(restored.identities[0].profileData).toBeUndefined();
    expect(restored.user_metadata).toBeUndefined();
    expect(restored.app_metadata).toBeUndefined();
    const token = await e.tokens.adminToken();
    expect((await call(e, 'GET', userPath(DEMO.users.aliceGoogle), { token })).status).toBe(200);
  });

  it('lets the primary unlink with its own update:current_user_identities token', async () => {
    const e = emulator();
    await linkAll(e);
    const token = await e.tokens.userAccessToken({ sub: ALICE });
    const res = await unlink(e, ALICE, 'github', '4031337', token);
    expect(res.status).toBe(200);
    expect(res.body).toHaveLength(2);
  });

  it.each([
    ['without read:user_idp_tokens', 'update:users', false],
    ['with read:user_idp_tokens', 'update:users read:user_idp_tokens', true],
  ])('returns provider tokens in the remaining identities only %s', async (_t, scope, expected) => {
    const e = emulator();
    await linkAll(e);
    const res = await unlink(e, ALICE, 'github', '4031337', await e.tokens.adminToken({ scope }));
    expect(res.status).toBe(200);
    expect('access_token' in (res.body as Record<string, unknown>[])[1]).toBe(expected);
  });

  it.each([
    ['the main identity', ALICE, 'auth0', '6650a1b2c3d4e5f600000001', 400,
      { statusCode: 400, error: 'Bad Request', message: 'Main identity cannot be removed.' }],
    ['for a missing primary', 'auth0|ffffffffffffffffffffffff', 'github', '4031337', 404,
      { statusCode: 404, error: 'Not Found', message: 'The user does not exist.', errorCode: 'inexistent_user' }],
    ['an identity that is not linked', ALICE, 'auth0', '6650a1b2c3d4e5f600000002', 404,
      { statusCode: 404, error: 'Not Found', message: 'The identity does not exist.' }],
    ['an unknown provider', ALICE, 'myspace', '1', 400, { statusCode: 400, error: 'Bad Request',
      message: `Path validation error: 'No enum match for: "myspace"' on property provider.`, errorCode: 'invalid_uri' }],
  ])('refuses to remove %s', async (_t, primary, provider, id, status, body) => {
    const e = emulator();
    await linkAll(e);
    const res = await unlink(e, primary, provider, id);
    expect(res.status).toBe(status);
    expect(res.body).toEqual(body);
  }); // prettier-ignore

  it('can link an unlinked identity again', async () => {
    const e = emulator();
    await linkAll(e);
    expect((await unlink(e, ALICE, 'github', '4031337')).status).toBe(200);
    const token = await e.tokens.adminToken();
    const res = await call(e, 'POST', userPath(ALICE, '/identities'), {
      token,
      json: { provider: 'github', user_id: 4031337 },
    });
    expect(res.status).toBe(201);
  });
});
