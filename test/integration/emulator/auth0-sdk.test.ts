// The official node-auth0 SDK (v6) as an independent client of the emulator's wire format.
import { ManagementError } from 'auth0';
import { UsersClient } from 'auth0/users';
import { DEMO } from '../../../src/auth0-emulator/index.js';
import { useEmulator } from '../../support/emulator-fixture.js';

describe('official auth0 SDK against the emulator', () => {
  const emulator = useEmulator();

  async function usersClient(scope = 'read:users update:users'): Promise<UsersClient> {
    const e = emulator();
    const token = await e.tokens.adminToken({ scope });
    // ManagementClient hard-codes https://{domain}; the generated sub-clients take a baseUrl.
    return new UsersClient({ baseUrl: `${e.origin}/api/v2`, token, maxRetries: 0 });
  }

  it('links in admin mode, reads the primary and unlinks', async () => {
    const e = emulator();
    const users = await usersClient();

    const linked = await users.identities.link(DEMO.users.alice, { provider: 'github', user_id: '4031337' });
    expect(linked.map((i) => [i.provider, i.user_id])).toEqual([
      ['auth0', '6650a1b2c3d4e5f600000001'],
      ['github', 4031337],
    ]);

    const primary = await users.get(DEMO.users.alice);
    expect(primary.user_id).toBe(DEMO.users.alice);
    expect(primary.identities?.map((i) => i.provider)).toEqual(['auth0', 'github']);

    const byEmail = await users.listUsersByEmail({ email: 'alice@example.com' });
    expect(byEmail.map((u) => u.user_id)).toEqual([DEMO.users.alice, DEMO.users.aliceGoogle]);

    const page = await users.list({ q: 'identities.user_id:"4031337"', search_engine: 'v3' });
    expect(page.data.map((u) => u.user_id)).toEqual([DEMO.users.alice]);

    const remaining = await users.identities.delete(DEMO.users.alice, 'github', '4031337');
    expect(remaining.map((i) => i.provider)).toEqual(['auth0']);
    expect(e.tenant.getUser(DEMO.users.aliceGithub)).toBeDefined();

    expect(e.journal.entries().map((entry) => [entry.route, entry.status])).toEqual([
      ['link', 201],
      ['get-user', 200],
      ['users-by-email', 200],
      ['search-users', 200],
      ['unlink', 200],
    ]);
    expect(e.journal.entries({ route: 'link' })[0].path).toBe(
      '/api/v2/users/auth0%7C6650a1b2c3d4e5f600000001/identities',
    );
  });

  it("links in JWT mode with the primary's own token and the secondary's ID token", async () => {
    const e = emulator();
    const token = await e.tokens.userAccessToken({ sub: DEMO.users.alice });
    const users = new UsersClient({ baseUrl: `${e.origin}/api/v2`, token, maxRetries: 0 });
    const linkWith = await e.tokens.idToken({ sub: DEMO.users.aliceGoogle });
    const linked = await users.identities.link(DEMO.users.alice, { link_with: linkWith });
    expect(linked.map((i) => i.provider)).toEqual(['auth0', 'google-oauth2']);
    expect(linked[1]).not.toHaveProperty('access_token');
  });

  it('surfaces Auth0 errors as the SDK typed errors with the emulator bodies', async () => {
    const users = await usersClient();
    await users.identities.link(DEMO.users.alice, { provider: 'auth0', user_id: '6650a1b2c3d4e5f600000002' });

    const conflict = await users.identities
      .link(DEMO.users.carol, { provider: 'auth0', user_id: '6650a1b2c3d4e5f600000002' })
      .catch((error: unknown) => error);
    expect(conflict).toBeInstanceOf(ManagementError);
    expect(conflict).toMatchObject({
      statusCode: 409,
      body: { message: 'Specified identity already exists.' },
    });

    const missing = await users.get(DEMO.users.bob).catch((error: unknown) => error);
    expect(missing).toMatchObject({ statusCode: 404, body: { errorCode: 'inexistent_user' } });

    const readOnly = await usersClient('read:users');
    const forbidden = await readOnly.identities
      .delete(DEMO.users.alice, 'auth0', '6650a1b2c3d4e5f600000002')
      .catch((error: unknown) => error);
    expect(forbidden).toMatchObject({ statusCode: 403, body: { errorCode: 'insufficient_scope' } });
  });
});
