import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { DEMO_SEED, loadSeedFile, parseSeed, startAuth0Emulator } from '../../../src/auth0-emulator/index.js';
import { call } from '../../support/emulator-fixture.js';

const VALID = {
  clients: [{ client_id: 'spa', app_type: 'spa', grant_types: ['password'] }],
  users: [
    { user_id: 'auth0|u1', email: 'u1@example.com', email_verified: true, password: 'pw-1', custom: 'kept' },
    { user_id: 'samlp|corp|u2', email: 'u2@corp.example' },
  ],
};

describe('seeds', () => {
  it.each([
    ['a user_id without a provider', { ...VALID, users: [{ user_id: 'u1' }] }, /users\[0\]\.user_id/],
    ['a wrong app_type', { ...VALID, clients: [{ client_id: 'c', app_type: 'web' }] }, /clients\[0\]\.app_type/],
    ['callbacks that are not a list', { ...VALID, clients: [{ client_id: 'c', callbacks: 'http://x/cb' }] },
      /clients\[0\]\.callbacks/],
    ['a web origin that is not a string', { ...VALID, clients: [{ client_id: 'c', web_origins: [1] }] },
      /clients\[0\]\.web_origins\[0\]/],
    ['an unknown token_endpoint_auth_method', { ...VALID, clients: [{ client_id: 'c', token_endpoint_auth_method: 'magic' }] },
      /clients\[0\]\.token_endpoint_auth_method/],
    ['duplicate client ids', { ...VALID, clients: [{ client_id: 'c' }, { client_id: 'c' }] },
      /clients\[1\]\.client_id: duplicate/],
    ['a grant scope that is a string', { ...VALID, client_grants: [{ client_id: 'spa', audience: 'https://t/api/v2/', scope: 'read:users' }] },
      /client_grants\[0\]\.scope/],
    ['a grant without audience', { ...VALID, client_grants: [{ client_id: 'spa', scope: [] }] },
      /client_grants\[0\]\.audience/],
    ['a grant for an unknown client', { ...VALID, client_grants: [{ client_id: 'nope', audience: 'https://t/api/v2/', scope: [] }] },
      /client_grants\[0\]\.client_id: no client nope/],
    ['two grants for one client and audience', { ...VALID, client_grants: [
      { client_id: 'spa', audience: 'https://t/api/v2/', scope: [] }, { client_id: 'spa', audience: 'https://t/api/v2/', scope: [] }] },
      /client_grants\[1\]: duplicate/],
    ['a user_id that is a number', { ...VALID, users: [{ user_id: 42 }] }, /users\[0\]\.user_id/],
    ['a non-boolean email_verified', { ...VALID, users: [{ user_id: 'auth0|x', email_verified: 'yes' }] },
      /users\[0\]\.email_verified/],
    ['an identity without provider', { ...VALID, users: [{ user_id: 'auth0|x', identities: [{ user_id: 'x' }] }] },
      /users\[0\]\.identities\[0\]\.provider/],
    ['missing clients', { users: [] }, /clients/],
    ['duplicate user ids', { ...VALID, users: [VALID.users[0], VALID.users[0]] }, /users\[1\]\.user_id: duplicate/],
  ])('refuses %s, naming the field', (_t, seed, pattern) => {
    expect(() => parseSeed(seed)).toThrow(pattern);
  }); // prettier-ignore

  it('accepts unknown fields of users, clients and the seed itself, and ignores them', () => {
    const seed = parseSeed({
      ...VALID,
      rules: [],
      clients: [
        { client_id: 'c', app_type: 'spa', jwt_configuration: { alg: 'RS256' }, is_first_party: true },
      ],
      users: [{ user_id: 'auth0|x', logins_count: 3, last_login: '2024-01-01T00:00:00.000Z' }],
    });
    expect(seed.clients[0]).toMatchObject({ client_id: 'c', is_first_party: true });
  });

  it('accepts the demo seed', () => {
    expect(parseSeed(JSON.parse(JSON.stringify(DEMO_SEED)))).toEqual(DEMO_SEED);
  });

  it('loads a seed file that replaces the demo tenant', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'emulator-seed-'));
    try {
      const file = join(dir, 'seed.json');
      await writeFile(file, JSON.stringify(VALID));
      const seed = await loadSeedFile(file);
      const emulator = await startAuth0Emulator({ seed });
      try {
        expect(emulator.tenant.listUsers().map((u) => u.user_id)).toEqual(['auth0|u1', 'samlp|corp|u2']);
        expect(emulator.tenant.getUser('auth0|u1')).toMatchObject({ custom: 'kept', name: 'u1@example.com' });
        expect(emulator.tenant.getUser('samlp|corp|u2')?.identities).toEqual([
          { provider: 'samlp', user_id: 'corp|u2', connection: 'samlp', isSocial: false },
        ]);
        const res = await call(emulator, 'POST', '/oauth/token', {
          form: { grant_type: 'password', client_id: 'spa', username: 'u1@example.com', password: 'pw-1' },
        });
        expect(res.status).toBe(200);
        expect(decodeJwt((res.body as { access_token: string }).access_token).sub).toBe('auth0|u1');
      } finally {
        await emulator.close();
      }
      await writeFile(file, '{not json');
      await expect(loadSeedFile(file)).rejects.toThrow(/not JSON/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('adds users and clients at runtime and forgets them on reset', async () => {
    const emulator = await startAuth0Emulator();
    try {
      emulator.tenant.addUser({ user_id: 'auth0|extra', email: 'extra@example.com' });
      expect(() => emulator.tenant.addUser({ user_id: 'auth0|extra' })).toThrow(/already exists/);
      expect(emulator.tenant.getUser('auth0|extra')).toBeDefined();
      emulator.tenant.addClient({ client_id: 'm2m', client_secret: 's', app_type: 'non_interactive' });
      emulator.tenant.addClientGrant({
        client_id: 'm2m',
        audience: 'https://x.eu.auth0.com/api/v2/',
        scope: ['read:users'],
      });
      expect(() => emulator.tenant.addClientGrant({ client_id: 'nope', audience: 'a', scope: [] })).toThrow(
        /unknown client/,
      );
      const form = {
        grant_type: 'client_credentials',
        client_id: 'm2m',
        client_secret: 's',
        audience: emulator.managementAudience,
      };
      const granted = await call(emulator, 'POST', '/oauth/token', { form });
      expect(granted.body).toMatchObject({ scope: 'read:users' });
      emulator.tenant.reset();
      expect(emulator.tenant.getUser('auth0|extra')).toBeUndefined();
      expect((await call(emulator, 'POST', '/oauth/token', { form })).status).toBe(401);
      expect(emulator.tenant.listUsers()).toHaveLength(8);
    } finally {
      await emulator.close();
    }
  });

  it('closes promptly while a request is held by a latency fault', async () => {
    const emulator = await startAuth0Emulator();
    emulator.faults.add({ route: 'jwks', latencyMs: 600_000 });
    const pending = fetch(`${emulator.origin}/.well-known/jwks.json`).catch((error: unknown) => error);
    while (emulator.journal.count('jwks') === 0) await new Promise((resolve) => setImmediate(resolve));
    await emulator.close();
    expect(await pending).toMatchObject({ message: 'fetch failed' });
  });
});
