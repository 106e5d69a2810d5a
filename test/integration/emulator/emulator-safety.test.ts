// The emulator as an embedded default (DESIGN §9): loopback only unless asked twice, never in
// production, a bounded journal that holds no credential, a CLI that prints no secret.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { DEMO, journalFingerprint, MAX_JOURNAL_ENTRIES } from '../../../src/auth0-emulator/index.js';
import { RequestJournal } from '../../../src/auth0-emulator/journal.js';
import type { JournalEntry } from '../../../src/auth0-emulator/types.js';
import { call, useEmulator } from '../../support/emulator-fixture.js';
import { CookieJar, exchangeCode, callbackParams, loginWithForm, spaParams } from './browser-login.js';

const CLI = resolve('dist/src/auth0-emulator/cli.js');

/** Runs the CLI until it prints its banner (then stops it) or exits by itself. */
function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', APOLLO_TELEMETRY_DISABLED: 'true', ...env },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      // The banner ends with the last curl example: everything it prints is out by then.
      if (/An admin \(client credentials\) token[^\n]*\n[^\n]*curl[^\n]*\n/.test(out)) child.kill('SIGTERM');
    });
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('exit', (code) => done({ code, out, err }));
  });
}

describe('the emulator CLI', () => {
  it('refuses --host 0.0.0.0 without --allow-remote', async () => {
    const { code, err, out } = await runCli(['--port', '0', '--host', '0.0.0.0']);
    expect(code).toBe(1);
    expect(err).toMatch(/--host 0\.0\.0\.0: not a loopback address.*--allow-remote/);
    expect(out).toBe('');
  });

  it('refuses to start when NODE_ENV=production', async () => {
    const { code, err } = await runCli(['--port', '0'], { NODE_ENV: 'production' });
    expect(code).toBe(1);
    expect(err).toMatch(/NODE_ENV=production/);
  });

  it('prints no demo password and no client secret, and says where they are', async () => {
    const { out } = await runCli(['--port', '0']);
    expect(out).toMatch(/^Auth0 emulator listening on http:\/\/127\.0\.0\.1:\d+$/m);
    for (const secret of [
      ...Object.values(DEMO.passwords),
      DEMO.serviceClientSecret,
      DEMO.adminClientSecret,
      DEMO.loginLinkClientSecret,
    ]) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain('src/auth0-emulator/demo-seed.ts');
  });
});

describe('the request journal', () => {
  const emulator = useEmulator();

  it('holds no bearer token, client secret, password, code_verifier or refresh token in clear', async () => {
    const e = emulator();
    const secrets: string[] = [DEMO.serviceClientSecret, DEMO.passwords.alice];
    // Client credentials (secret), then a Management API call with the token it got.
    const service = await call(e, 'POST', '/oauth/token', {
      form: {
        grant_type: 'client_credentials',
        client_id: DEMO.serviceClientId,
        client_secret: DEMO.serviceClientSecret,
        audience: e.managementAudience,
      },
    });
    const serviceToken = (service.body as { access_token: string }).access_token;
    secrets.push(serviceToken);
    await call(e, 'GET', `/api/v2/users/${encodeURIComponent(DEMO.users.alice)}`, { token: serviceToken });
    // A browser login (password form, PKCE code exchange), then the refresh token grant.
    const jar = new CookieJar();
    const { params, verifier } = spaParams(e);
    const login = await loginWithForm(e, jar, params, 'alice@example.com', DEMO.passwords.alice);
    const tokens = await exchangeCode(e, {
      client_id: DEMO.spaClientId,
      code: callbackParams(login.res).code,
      code_verifier: verifier,
      redirect_uri: params.redirect_uri as string,
    });
    const refreshToken = tokens.body.refresh_token as string;
    expect(refreshToken).toEqual(expect.any(String));
    secrets.push(verifier, refreshToken, tokens.body.access_token as string);
    await call(e, 'POST', '/oauth/token', {
      form: { grant_type: 'refresh_token', client_id: DEMO.spaClientId, refresh_token: refreshToken },
    });

    const journal = JSON.stringify(e.journal.entries());
    for (const secret of secrets) expect(journal).not.toContain(secret);
    expect(journal).not.toMatch(/Bearer eyJ/);
    // What it keeps instead tells which credential was sent.
    const read = e.journal.entries({ route: 'get-user' })[0];
    expect(read.headers.authorization).toBe(`Bearer ${journalFingerprint(serviceToken)}`);
    expect(e.journal.entries({ route: 'token' })[0].body).toMatchObject({
      client_id: DEMO.serviceClientId,
      client_secret: journalFingerprint(DEMO.serviceClientSecret),
    });
  });

  it(`keeps the last ${MAX_JOURNAL_ENTRIES} requests at most`, () => {
    const journal = new RequestJournal();
    const entry = (i: number): JournalEntry => ({
      route: 'unknown', method: 'GET', path: `/${i}`, query: {}, headers: {}, body: undefined, status: 404,
    }); // prettier-ignore
    for (let i = 0; i < MAX_JOURNAL_ENTRIES + 1500; i++) journal.begin(entry(i));
    const kept = journal.entries();
    expect(kept).toHaveLength(MAX_JOURNAL_ENTRIES);
    expect(kept[0].path).toBe('/1500');
    expect(kept.at(-1)?.path).toBe(`/${MAX_JOURNAL_ENTRIES + 1499}`);
    expect(journal.count()).toBe(MAX_JOURNAL_ENTRIES);
  });
});
