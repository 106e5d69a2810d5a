import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { DEMO, journalFingerprint } from '../../../src/auth0-emulator/index.js';
import { call, useEmulator } from '../../support/emulator-fixture.js';
import {
  authorizePath,
  browse,
  callbackParams,
  CookieJar,
  exchangeCode,
  loginWithForm,
  loginWithSocial,
  SPA_CALLBACK,
  SPA_ORIGIN,
  spaParams,
} from './browser-login.js';

let clock = Date.now();

/** The message a web_message page posts, and the origin it posts to. */
function postedMessage(html: string): { message: Record<string, unknown>; targetOrigin: string } {
  const match = /target\.postMessage\((\{.*\}), ("[^"]*")\);/.exec(html);
  if (!match) throw new Error(`no postMessage in ${html}`);
  return {
    message: JSON.parse(match[1]) as Record<string, unknown>,
    targetOrigin: JSON.parse(match[2]) as string,
  };
}

describe('browser logins (authorize, code + PKCE, sessions)', () => {
  const emulator = useEmulator({ now: () => clock });
  beforeEach(() => {
    clock = Date.now();
  });

  async function aliceLogin(jar = new CookieJar(), extra = {}) {
    const e = emulator();
    const { params, verifier } = spaParams(e, extra);
    const login = await loginWithForm(e, jar, params, 'alice@example.com', DEMO.passwords.alice);
    const query = callbackParams(login.res);
    return { jar, params, verifier, login, query };
  }

  async function aliceTokens(jar = new CookieJar()) {
    const { params, verifier, query } = await aliceLogin(jar);
    const res = await exchangeCode(emulator(), {
      client_id: DEMO.spaClientId,
      code: query.code,
      code_verifier: verifier,
      redirect_uri: params.redirect_uri as string,
    });
    expect(res.status).toBe(200);
    return { params, body: res.body, jar };
  }

  describe('the database login form', () => {
    it('has one form posting back, a username and a password field and one submit button', async () => {
      const e = emulator();
      const { text, res } = await browse(e, new CookieJar(), authorizePath(spaParams(e).params));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(text.match(/<form method="post">/g)).toHaveLength(1);
      expect(text).toMatch(/<input id="username" name="username"/);
      expect(text).toMatch(/<input id="password" name="password" type="password"/);
      expect(text.match(/<button type="submit"/g)).toHaveLength(1);
      // No /favicon.ico request (its 404 would be a console error in a browser test).
      expect(text).toContain('<link rel="icon" href="data:,">');
      // No connection asked: the social connections of the tenant are offered as links.
      expect(text).toMatch(
        /<a href="\/authorize\?[^"]*connection=google-oauth2" data-connection="google-oauth2">/,
      );
      expect(text).toMatch(/data-connection="github"/);
    });

    it('logs in, sets an HttpOnly SameSite=Lax session cookie and redirects with code and state', async () => {
      const { login, params, query, jar } = await aliceLogin();
      expect(login.res.headers.get('location')?.startsWith(`${SPA_CALLBACK}?`)).toBe(true);
      expect(query).toEqual({ code: expect.any(String), state: params.state });
      expect(login.res.headers.get('set-cookie')).toMatch(/^auth0=[^;]+; Path=\/; HttpOnly; SameSite=Lax$/);
      expect(jar.size).toBe(1);
    });

    it('re-renders the form with an error on a wrong password, keeping the username, without a session', async () => {
      const e = emulator();
      const jar = new CookieJar();
      const { text, res } = await loginWithForm(e, jar, spaParams(e).params, 'alice@example.com', 'wrong');
      expect(res.status).toBe(200);
      expect(text).toMatch(/<p class="error" role="alert">Wrong email or password.<\/p>/);
      expect(text).toMatch(/name="username"[^>]*value="alice@example.com"/);
      expect(jar.size).toBe(0);
    });

    it('never journals the password', async () => {
      await aliceLogin();
      const posted = emulator().journal.entries({ route: 'authorize', method: 'POST' });
      expect(posted).toHaveLength(1);
      expect(posted[0]).toMatchObject({
        status: 302,
        body: { username: 'alice@example.com', password: journalFingerprint(DEMO.passwords.alice) },
      });
      expect(JSON.stringify(emulator().journal.entries())).not.toContain(DEMO.passwords.alice);
    });
  });

  describe('social connections', () => {
    it.each([
      ['google-oauth2', [DEMO.users.aliceGoogle]],
      ['github', [DEMO.users.aliceGithub, DEMO.users.danaGithub]],
    ])('%s: a "continue as" button per user of the connection', async (connection, userIds) => {
      const e = emulator();
      const { text } = await browse(e, new CookieJar(), authorizePath(spaParams(e, { connection }).params));
      expect(text.match(/data-user-id="[^"]*"/g)).toEqual(userIds.map((id) => `data-user-id="${id}"`));
      expect(text).not.toMatch(/name="password"/);
    });
  });

  it.each([
    ['alice (database, by email)', {}, 'alice@example.com', DEMO.passwords.alice, DEMO.users.alice],
    ['alice (database, by user id)', {}, DEMO.users.alice, DEMO.passwords.alice, DEMO.users.alice],
    ["alice's unverified database twin", {}, 'ALICE@example.com', DEMO.passwords.aliceUnverified, DEMO.users.aliceUnverified],
    ['bob', {}, 'bob@example.com', DEMO.passwords.bob, DEMO.users.bob],
    ['carol', {}, 'carol@example.com', DEMO.passwords.carol, DEMO.users.carol],
    ["alice's Google account", { connection: 'google-oauth2' }, undefined, undefined, DEMO.users.aliceGoogle],
    ["alice's GitHub account", { connection: 'github' }, undefined, undefined, DEMO.users.aliceGithub],
  ])('every demo user logs in in the browser: %s', async (_t, extra, username, password, sub) => {
    const e = emulator();
    const jar = new CookieJar();
    const { params, verifier } = spaParams(e, extra);
    const login =
      username === undefined
        ? await loginWithSocial(e, jar, params, sub)
        : await loginWithForm(e, jar, params, username, password as string);
    const tokens = await exchangeCode(e, {
      client_id: DEMO.spaClientId,
      code: callbackParams(login.res).code,
      code_verifier: verifier,
      redirect_uri: SPA_CALLBACK,
    });
    expect(tokens.status).toBe(200);
    expect(decodeJwt(tokens.body.id_token as string).sub).toBe(sub);
  }); // prettier-ignore

  describe('POST /oauth/token authorization_code', () => {
    it('returns tokens whose ID token passes the checks auth0-spa-js makes, signed by the JWKS', async () => {
      const e = emulator();
      const { params, body } = await aliceTokens();
      expect(body).toEqual({
        access_token: expect.any(String),
        id_token: expect.any(String),
        refresh_token: expect.any(String),
        scope: 'openid profile email offline_access read:current_user update:current_user_identities',
        expires_in: 86400,
        token_type: 'Bearer',
      });
      const jwks = createRemoteJWKSet(new URL(`${e.origin}/.well-known/jwks.json`));
      const idToken = body.id_token as string;
      expect(decodeProtectedHeader(idToken)).toMatchObject({ alg: 'RS256', typ: 'JWT' });
      const { payload } = await jwtVerify(idToken, jwks, {
        issuer: `${e.origin}/`,
        audience: DEMO.spaClientId,
        algorithms: ['RS256'],
        currentDate: new Date(clock),
      });
      expect(payload).toMatchObject({
        sub: DEMO.users.alice,
        azp: DEMO.spaClientId,
        nonce: params.nonce,
        sid: expect.any(String),
        email: 'alice@example.com',
        email_verified: true,
        name: 'Alice Liddell',
        picture: expect.stringMatching(/^https:\/\//),
        auth_time: Math.floor(clock / 1000),
      });
      expect((payload.exp as number) > (payload.iat as number)).toBe(true);

      const { payload: access } = await jwtVerify(body.access_token as string, jwks, {
        issuer: e.issuer,
        audience: e.managementAudience,
        currentDate: new Date(clock),
      });
      expect(access).toMatchObject({
        sub: DEMO.users.alice,
        azp: DEMO.spaClientId,
        aud: [e.managementAudience, `${e.origin}/userinfo`],
        scope: 'openid profile email offline_access read:current_user update:current_user_identities',
      });
      // The Management API accepts it for the user's own record.
      const me = await call(e, 'GET', `/api/v2/users/${encodeURIComponent(DEMO.users.alice)}`, {
        token: body.access_token as string,
      });
      expect(me.status).toBe(200);
    });

    it('grants only the current_user scopes of the Management API, whatever else is asked', async () => {
      const e = emulator();
      const jar = new CookieJar();
      const { params, verifier } = spaParams(e, {
        scope: 'openid read:users update:users update:current_user_metadata read:current_user',
      });
      const login = await loginWithForm(e, jar, params, 'bob@example.com', DEMO.passwords.bob);
      const res = await exchangeCode(e, {
        client_id: DEMO.spaClientId,
        code: callbackParams(login.res).code,
        code_verifier: verifier,
        redirect_uri: SPA_CALLBACK,
      });
      expect(res.body.scope).toBe('openid update:current_user_metadata read:current_user');
      expect(res.body.refresh_token).toBeUndefined();
      expect(decodeJwt(res.body.id_token as string).email).toBeUndefined();
    });

    it('accepts a JSON body too (auth0-spa-js with useFormData: false)', async () => {
      const e = emulator();
      const { params, verifier, query } = await aliceLogin();
      const res = await call(e, 'POST', '/oauth/token', {
        json: {
          grant_type: 'authorization_code',
          client_id: DEMO.spaClientId,
          code: query.code,
          code_verifier: verifier,
          redirect_uri: params.redirect_uri,
        },
      });
      expect(res.status).toBe(200);
    });
  });

  describe('sessions and prompt', () => {
    it('signs in again without a page while the session lasts (SSO), unless prompt=login', async () => {
      const e = emulator();
      const { jar } = await aliceLogin();
      const again = await browse(e, jar, authorizePath(spaParams(e).params));
      expect(callbackParams(again.res).code).toEqual(expect.any(String));
      const forced = await browse(e, jar, authorizePath(spaParams(e, { prompt: 'login' }).params));
      expect(forced.res.status).toBe(200);
      expect(forced.text).toMatch(/name="password"/);
    });

    it('prompt=none: a code with a session, login_required without one', async () => {
      const e = emulator();
      const { params: noSession } = spaParams(e, { prompt: 'none' });
      const refused = await browse(e, new CookieJar(), authorizePath(noSession));
      expect(callbackParams(refused.res)).toEqual({
        error: 'login_required',
        error_description: 'Login required',
        state: noSession.state,
      });
      const { jar } = await aliceLogin();
      const silent = await browse(e, jar, authorizePath(spaParams(e, { prompt: 'none' }).params));
      expect(callbackParams(silent.res).code).toEqual(expect.any(String));
    });

    it('a session of another connection is not reused when a connection is asked (the second login of a link)', async () => {
      const e = emulator();
      const { jar } = await aliceLogin();
      const google = await browse(
        e,
        jar,
        authorizePath(spaParams(e, { connection: 'google-oauth2' }).params),
      );
      expect(google.res.status).toBe(200);
      expect(google.text).toMatch(`data-user-id="${DEMO.users.aliceGoogle}"`);
    });
  });

  describe('response_mode=web_message', () => {
    it('posts the code and state to the opener or parent, only to the redirect_uri origin', async () => {
      const e = emulator();
      const { jar } = await aliceLogin();
      const { params, verifier } = spaParams(e, {
        response_mode: 'web_message',
        prompt: 'none',
        redirect_uri: SPA_ORIGIN,
      });
      const { res, text } = await browse(e, jar, authorizePath(params));
      expect(res.status).toBe(200);
      expect(text).toContain('var target = window.opener || window.parent;');
      const { message, targetOrigin } = postedMessage(text);
      expect(targetOrigin).toBe(SPA_ORIGIN);
      expect(message).toEqual({
        type: 'authorization_response',
        response: { code: expect.any(String), state: params.state },
      });
      const tokens = await exchangeCode(e, {
        client_id: DEMO.spaClientId,
        code: (message.response as { code: string }).code,
        code_verifier: verifier,
        redirect_uri: SPA_ORIGIN,
      });
      expect(tokens.status).toBe(200);
    });

    it('posts errors with their state (silent login without a session)', async () => {
      const e = emulator();
      const { params } = spaParams(e, { response_mode: 'web_message', prompt: 'none' });
      const { text } = await browse(e, new CookieJar(), authorizePath(params));
      expect(postedMessage(text).message).toEqual({
        type: 'authorization_response',
        response: { error: 'login_required', error_description: 'Login required', state: params.state },
      });
    });

    it('answers the popup login (loginWithPopup) with the message page and a session', async () => {
      const e = emulator();
      const jar = new CookieJar();
      const { params } = spaParams(e, { response_mode: 'web_message', connection: 'github' });
      const { text } = await loginWithSocial(e, jar, params, DEMO.users.aliceGithub);
      expect(postedMessage(text).message.response).toEqual({ code: expect.any(String), state: params.state });
      expect(jar.size).toBe(1);
    });
  });

  describe('refresh_token grant', () => {
    const refresh = (token: string) =>
      call(emulator(), 'POST', '/oauth/token', {
        form: { grant_type: 'refresh_token', client_id: DEMO.spaClientId, refresh_token: token },
      });

    it('issues new tokens from a non-rotating refresh token, which keeps working', async () => {
      const { body } = await aliceTokens();
      for (let i = 0; i < 2; i += 1) {
        const res = await refresh(body.refresh_token as string);
        expect(res.status).toBe(200);
        expect(res.body).toEqual({
          access_token: expect.any(String),
          id_token: expect.any(String),
          scope: body.scope,
          expires_in: 86400,
          token_type: 'Bearer',
        });
        const id = decodeJwt((res.body as { id_token: string }).id_token);
        expect(id).toMatchObject({
          sub: DEMO.users.alice,
          aud: DEMO.spaClientId,
          sid: decodeJwt(body.id_token as string).sid,
        });
        expect(id.nonce).toBeUndefined();
      }
    });

    it('rotates when the client says rotation_type rotating: the old one is refused', async () => {
      const e = emulator();
      e.tenant.addClient({ ...spaClient(), refresh_token: { rotation_type: 'rotating' } });
      const { body } = await aliceTokens();
      const first = await refresh(body.refresh_token as string);
      expect(first.status).toBe(200);
      const next = (first.body as { refresh_token: string }).refresh_token;
      expect(next).toEqual(expect.any(String));
      expect(next).not.toBe(body.refresh_token);
      const reused = await refresh(body.refresh_token as string);
      expect(reused.status).toBe(403);
      expect(reused.body).toMatchObject({ error: 'invalid_grant' });
    });
  });

  describe('GET /userinfo', () => {
    it("answers the user's claims for the token's scopes", async () => {
      const { body } = await aliceTokens();
      const res = await call(emulator(), 'GET', '/userinfo', { token: body.access_token as string });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        sub: DEMO.users.alice,
        email: 'alice@example.com',
        email_verified: true,
        name: 'Alice Liddell',
        given_name: 'Alice',
      });
    });

    it.each([
      ['no token', undefined],
      ['a token not for /userinfo', 'admin'],
      ['garbage', 'not-a-jwt'],
    ])('answers 401 invalid_token for %s', async (_t, token) => {
      const e = emulator();
      const bearer = token === 'admin' ? await e.tokens.adminToken() : token;
      const res = await call(e, 'GET', '/userinfo', bearer === undefined ? {} : { token: bearer });
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ error: 'invalid_token' });
      expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    });
  });

  describe('GET /v2/logout', () => {
    it('ends the session and redirects to an allowed returnTo (the demo SPA: any loopback URL)', async () => {
      const e = emulator();
      const { jar } = await aliceLogin();
      const out = await browse(
        e,
        jar,
        `/v2/logout?client_id=${DEMO.spaClientId}&returnTo=${encodeURIComponent(SPA_ORIGIN)}`,
      );
      expect(out.res.status).toBe(302);
      expect(out.res.headers.get('location')).toBe(SPA_ORIGIN);
      expect(out.res.headers.get('set-cookie')).toMatch(
        /^auth0=; Path=\/; HttpOnly; SameSite=Lax; Max-Age=0$/,
      );
      const silent = await browse(e, jar, authorizePath(spaParams(e, { prompt: 'none' }).params));
      expect(callbackParams(silent.res).error).toBe('login_required');
    });

    it.each([
      ['a returnTo outside allowed_logout_urls', `client_id=${DEMO.spaClientId}&returnTo=${encodeURIComponent('https://evil.example/')}`],
      ['a returnTo without client_id', `returnTo=${encodeURIComponent(SPA_ORIGIN)}`],
    ])('refuses %s with an error page, never a redirect, and still ends the session', async (_t, query) => {
      const e = emulator();
      const { jar } = await aliceLogin();
      const out = await browse(e, jar, `/v2/logout?${query}`);
      expect(out.res.status).toBe(400);
      expect(out.res.headers.get('location')).toBeNull();
      expect(jar.size).toBe(0);
    }); // prettier-ignore

    it('without returnTo shows a page', async () => {
      const out = await browse(emulator(), new CookieJar(), '/v2/logout');
      expect(out.res.status).toBe(200);
      expect(out.text).toContain('logged out');
    });
  });

  describe('CORS on /oauth/token and /userinfo', () => {
    it.each(['/oauth/token', '/userinfo'])('%s: preflight allowed from a loopback origin, not from others', async (path) => {
      const e = emulator();
      const preflight = (origin: string) =>
        fetch(`${e.origin}${path}`, {
          method: 'OPTIONS',
          headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, auth0-client' },
        });
      const allowed = await preflight('http://localhost:3000');
      expect(allowed.status).toBe(204);
      expect(allowed.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
      expect(allowed.headers.get('access-control-allow-methods')).toContain('POST');
      expect(allowed.headers.get('access-control-allow-headers')).toBe('content-type, auth0-client');
      const refused = await preflight('https://evil.example');
      expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    }); // prettier-ignore

    it("allows the token response to the client's origins only", async () => {
      const e = emulator();
      const { params, verifier, query } = await aliceLogin();
      const form = {
        client_id: DEMO.spaClientId,
        code: query.code,
        code_verifier: verifier,
        redirect_uri: params.redirect_uri as string,
      };
      const ok = await exchangeCode(e, form, { origin: SPA_ORIGIN });
      expect(ok.headers.get('access-control-allow-origin')).toBe(SPA_ORIGIN);
      const again = await aliceLogin();
      const other = await exchangeCode(
        e,
        { ...form, code: again.query.code, code_verifier: again.verifier },
        { origin: 'https://evil.example' },
      );
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
      const { body } = await aliceTokens();
      const info = await call(e, 'GET', '/userinfo', {
        token: body.access_token as string,
        headers: { origin: 'http://[::1]:8080' },
      });
      expect(info.headers.get('access-control-allow-origin')).toBe('http://[::1]:8080');
    });
  });
});

function spaClient() {
  return {
    client_id: DEMO.spaClientId,
    name: 'Demo SPA',
    app_type: 'spa' as const,
    callbacks: ['http://127.0.0.1:*'],
    web_origins: ['http://127.0.0.1:*'],
    grant_types: ['authorization_code', 'refresh_token'],
  };
}
