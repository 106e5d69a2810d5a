import { DEMO } from '../../../src/auth0-emulator/index.js';
import { call, useEmulator } from '../../support/emulator-fixture.js';
import {
  authorizePath,
  browse,
  callbackParams,
  CookieJar,
  loginWithForm,
  SPA_CALLBACK,
  spaParams,
  type AuthorizeParams,
} from './browser-login.js';

let clock = Date.now();

// A second public client (web_origins without loopback wildcards) and a confidential one.
const OTHER_SPA = {
  client_id: 'other-spa',
  app_type: 'spa' as const,
  callbacks: [SPA_CALLBACK, 'http://127.0.0.1:5173'],
  web_origins: ['https://app.example'],
};

describe('OAuth errors of browser logins, as Auth0 gives them', () => {
  const emulator = useEmulator({ now: () => clock });
  beforeEach(() => {
    clock = Date.now();
    emulator().tenant.addClient(OTHER_SPA);
  });

  describe('GET /authorize', () => {
    it.each([
      ['an unknown client_id', { client_id: 'nope' }, 'invalid_request'],
      ['no client_id', { client_id: undefined }, 'invalid_request'],
      ['a redirect_uri not in callbacks', { redirect_uri: 'https://evil.example/callback' }, 'invalid_request'],
      ['a redirect_uri with another path on a registered origin', { client_id: 'other-spa', redirect_uri: 'http://127.0.0.1:5173/other' }, 'invalid_request'],
      ['no redirect_uri', { redirect_uri: undefined }, 'invalid_request'],
      ['web_message to an origin outside web_origins', { client_id: 'other-spa', response_mode: 'web_message' }, 'invalid_request'],
    ])('%s: a 400 error page, never a redirect', async (_t, extra: AuthorizeParams, error) => {
      const e = emulator();
      const { res, text } = await browse(e, new CookieJar(), authorizePath(spaParams(e, extra).params));
      expect(res.status).toBe(400);
      expect(res.headers.get('location')).toBeNull();
      expect(text).toContain(`data-error="${error}"`);
    }); // prettier-ignore

    it.each([
      ['an unsupported response_type', { response_type: 'token' }, 'unsupported_response_type'],
      ['no response_type', { response_type: undefined }, 'invalid_request'],
      ['no code_challenge from a public client', { code_challenge: undefined, code_challenge_method: undefined }, 'invalid_request'],
      ['the plain PKCE method', { code_challenge_method: 'plain' }, 'invalid_request'],
      ['a malformed code_challenge', { code_challenge: 'short' }, 'invalid_request'],
      ['an unknown audience', { audience: 'https://unknown.example/' }, 'access_denied'],
      ['an unknown connection', { connection: 'twitter' }, 'invalid_request'],
      ['an unsupported response_mode', { response_mode: 'form_post' }, 'invalid_request'],
      ['prompt=none with a session missing', { prompt: 'none' }, 'login_required'],
      ['a client without the authorization_code grant', { client_id: 'no-code-spa' }, 'unauthorized_client'],
    ])('%s: redirected to the callback with error and state', async (_t, extra: AuthorizeParams, error) => {
      const e = emulator();
      e.tenant.addClient({ ...OTHER_SPA, client_id: 'no-code-spa', grant_types: ['implicit'] });
      const { params } = spaParams(e, extra);
      const { res } = await browse(e, new CookieJar(), authorizePath(params));
      expect(res.headers.get('location')?.startsWith(`${SPA_CALLBACK}?`)).toBe(true);
      expect(callbackParams(res)).toEqual({ error, error_description: expect.any(String), state: params.state });
    }); // prettier-ignore
  });

  describe('POST /oauth/token', () => {
    async function issuedCode(extra: AuthorizeParams = {}) {
      const e = emulator();
      const { params, verifier } = spaParams(e, extra);
      const login = await loginWithForm(e, new CookieJar(), params, 'bob@example.com', DEMO.passwords.bob);
      const form: Record<string, string> = {
        grant_type: 'authorization_code',
        client_id: params.client_id as string,
        code: callbackParams(login.res).code,
        code_verifier: verifier,
        redirect_uri: params.redirect_uri as string,
      };
      return form;
    }

    type Case = [
      string,
      (form: Record<string, string>) => Promise<Record<string, string>> | Record<string, string>,
      number,
      string,
    ];
    const cases: Case[] = [
      ['a wrong code_verifier', (f) => ({ ...f, code_verifier: 'x'.repeat(43) }), 403, 'invalid_grant'],
      ['a code_verifier that is not RFC 7636 shaped', (f) => ({ ...f, code_verifier: 'short' }), 403, 'invalid_grant'],
      ['an unknown code', (f) => ({ ...f, code: 'not-a-code' }), 403, 'invalid_grant'],
      ['another redirect_uri', (f) => ({ ...f, redirect_uri: 'http://127.0.0.1:5173/elsewhere' }), 403, 'invalid_grant'],
      ['another public client', (f) => ({ ...f, client_id: 'other-spa' }), 403, 'invalid_grant'],
      ['a client without the authorization_code grant', (f) => ({ ...f, client_id: DEMO.serviceClientId,
        client_secret: DEMO.serviceClientSecret }), 403, 'unauthorized_client'],
      ['an unknown client', (f) => ({ ...f, client_id: 'nope' }), 401, 'access_denied'],
      ['no code', ({ code: _c, ...f }) => f, 400, 'invalid_request'],
      ['no redirect_uri', ({ redirect_uri: _r, ...f }) => f, 400, 'invalid_request'],
      ['no code_verifier', ({ code_verifier: _v, ...f }) => f, 400, 'invalid_request'],
      ['no client_id', ({ client_id: _c, ...f }) => f, 400, 'invalid_request'],
      ['an unknown refresh token', () => ({ grant_type: 'refresh_token', client_id: DEMO.spaClientId,
        refresh_token: 'nope' }), 403, 'invalid_grant'],
      ['a refresh grant without refresh_token', () => ({ grant_type: 'refresh_token', client_id: DEMO.spaClientId }),
        400, 'invalid_request'],
      ['a reused code', async (f) => {
        const first = await call(emulator(), 'POST', '/oauth/token', { form: f });
        expect(first.status).toBe(200);
        return f;
      }, 403, 'invalid_grant'],
      ['a code used once with a wrong verifier, then right', async (f) => {
        const first = await call(emulator(), 'POST', '/oauth/token', { form: { ...f, code_verifier: 'y'.repeat(43) } });
        expect(first.status).toBe(403);
        return f;
      }, 403, 'invalid_grant'],
      ['an expired code (60 s)', (f) => {
        clock += 60_001;
        return f;
      }, 403, 'invalid_grant'],
    ]; // prettier-ignore

    it.each(
      cases.map(([t, change, status, error]) => [`${t}: ${status} ${error}`, change, status, error] as const),
    )('%s', async (_t, change, status, error) => {
      const form = await change(await issuedCode());
      const res = await call(emulator(), 'POST', '/oauth/token', { form });
      expect(res.status).toBe(status);
      expect(res.body).toEqual({ error, error_description: expect.any(String) });
    });

    it('a code is still good just before it expires', async () => {
      const form = await issuedCode();
      clock += 59_000;
      const res = await call(emulator(), 'POST', '/oauth/token', { form });
      expect(res.status).toBe(200);
    });
  });
});
