import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { decodeJwt } from 'jose';
import { loadSeedFile, startAuth0Emulator, type Auth0Emulator } from '../../../src/auth0-emulator/index.js';
import { call } from '../../support/emulator-fixture.js';

// Clients exactly as GET /api/v2/clients returns them, grants as GET /api/v2/client-grants does.
const SEED_FILE = resolve('test/integration/emulator/fixtures/auth0-export-seed.json');
const CLI = resolve('dist/src/auth0-emulator/cli.js');
const SPA = 'AcmeSpaClientId0000000000000001';
const M2M = 'AcmeM2MClientId0000000000000002';
const M2M_SECRET = 'acme-m2m-secret';

function credentials(audience: string, extra: Record<string, string> = {}): Record<string, string> {
  return { grant_type: 'client_credentials', client_id: M2M, client_secret: M2M_SECRET, audience, ...extra };
}

describe('a seed written in Auth0 Management API shapes', () => {
  let emulator: Auth0Emulator;
  beforeAll(async () => {
    emulator = await startAuth0Emulator({ seed: await loadSeedFile(SEED_FILE) });
  });
  afterAll(() => emulator.close());

  it('keeps the users and ignores the fields the emulator has no use for', () => {
    expect(emulator.tenant.listUsers().map((u) => u.user_id)).toEqual([
      'auth0|65f000000000000000000001',
      'github|123',
    ]);
    expect(emulator.tenant.getUser('auth0|65f000000000000000000001')).toMatchObject({
      created_at: '2024-03-01T09:00:00.000Z',
      identities: [{ provider: 'auth0', connection: 'Username-Password-Authentication' }],
    });
  });

  it.each([
    ["the tenant's Management API, from the client grant on the exported tenant's /api/v2/", 'management',
      200, { scope: 'read:users update:users' }],
    ['another API, from its own client grant', 'https://api.acme.example', 200, { scope: 'read:orders' }],
    ['an API with no client grant', 'https://unknown.acme.example', 403, { error: 'access_denied' }],
    ["another tenant's Management API", 'https://other.eu.auth0.com/api/v2/', 403, { error: 'access_denied' }],
  ])('client credentials for %s', async (_t, audience, status, body) => {
    const aud = audience === 'management' ? emulator.managementAudience : audience;
    const res = await call(emulator, 'POST', '/oauth/token', { form: credentials(aud) });
    expect(res.status).toBe(status);
    expect(res.body).toMatchObject(body);
    if (status === 200) {
      expect(decodeJwt((res.body as { access_token: string }).access_token)).toMatchObject({
        aud,
        azp: M2M,
        sub: `${M2M}@clients`,
      });
    }
  }); // prettier-ignore

  it.each([
    ['a grant type the client does not list', { grant_type: 'password', client_id: M2M, client_secret: M2M_SECRET,
      username: 'ann@acme.example', password: 'Ann-pass-1' }, 403, 'unauthorized_client'],
    ['client credentials for a public client (grant_types without it)', { grant_type: 'client_credentials',
      client_id: SPA, audience: 'https://api.acme.example' }, 403, 'unauthorized_client'],
    ['a wrong secret for a client_secret_post client', { ...credentials('https://api.acme.example'),
      client_secret: 'wrong' }, 401, 'access_denied'],
  ])('honours the client fields: refuses %s', async (_t, form, status, error) => {
    const res = await call(emulator, 'POST', '/oauth/token', { form: form as Record<string, string> });
    expect(res.status).toBe(status);
    expect(res.body).toMatchObject({ error });
  }); // prettier-ignore

  it('runs from the CLI with --seed, printing the clients and their granted Management API scopes', async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
    const child = spawn(process.execPath, [CLI, '--port', '0', '--seed', SEED_FILE], {
      env: { PATH: process.env.PATH ?? '' },
    });
    try {
      let out = '';
      const origin = await new Promise<string>((done, fail) => {
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const match = /listening on (http:\/\/\S+)[\s\S]*Clients[^\n]*\n(?:.*\n){2}/.exec(out);
          if (match) done(match[1]);
        });
        child.on('exit', (code) => fail(new Error(`emulator CLI exited with ${code}: ${out}`)));
      });
      expect(out).toMatch(new RegExp(`${M2M}\\s+non_interactive\\s+read:users update:users`));
      // The secret stays in the seed file, which the output names.
      expect(out).not.toContain(M2M_SECRET);
      expect(out).toContain(SEED_FILE);
      const res = await fetch(`${origin}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(credentials(`${origin}/api/v2/`)),
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ scope: 'read:users update:users' });
    } finally {
      const exited = new Promise((done) => child.on('exit', done));
      child.kill('SIGTERM');
      await exited;
    }
  });
});
