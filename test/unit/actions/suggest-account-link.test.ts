// The repo's Action (actions/suggest-account-link.js) run by the emulator's post-login runtime,
// with a stub of the service's check endpoint on loopback (DESIGN §14 steps 1, 2 and 5).
import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt, jwtVerify } from 'jose';
import { DEMO, type Auth0Emulator } from '../../../src/auth0-emulator/index.js';
import { call, useEmulator, userPath } from '../../support/emulator-fixture.js';
import {
  browse,
  callbackParams,
  CookieJar,
  exchangeCode,
  loginWithForm,
  loginWithSocial,
  spaParams,
} from '../../integration/emulator/browser-login.js';

const SECRET = 'login-link-secret-for-tests-0123456789abcdef';
const ACTION_FILE = new URL('../../../actions/suggest-account-link.js', import.meta.url);
const { dana, danaGithub, alice, aliceGithub } = DEMO.users;

interface CheckRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  body: string;
}

/** The service's POST /login-link/check, answering as the test says (or never). */
class StubGateway {
  readonly requests: CheckRequest[] = [];
  answer: 'hang' | { status: number; body: string } = { status: 200, body: '{"candidates":0}' };
  private readonly server: Server = createServer((req, res) => void this.handle(req, res));

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += String(chunk);
    this.requests.push({
      method: req.method ?? '',
      path: req.url ?? '',
      authorization: req.headers.authorization,
      body,
    });
    if (this.answer === 'hang') return;
    res.writeHead(this.answer.status, { 'content-type': 'application/json' }).end(this.answer.body);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function sign(claims: Record<string, unknown>, secret = SECRET): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const head = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

describe('actions/suggest-account-link.js', () => {
  const emulator = useEmulator();
  const gateway = new StubGateway();
  let gatewayUrl = '';
  let code = '';

  beforeAll(async () => {
    gatewayUrl = await gateway.start();
    code = await readFile(ACTION_FILE, 'utf8');
  });
  afterAll(() => gateway.stop());

  function deploy(e: Auth0Emulator, url = gatewayUrl): void {
    e.deployActions({
      actions: [
        {
          name: 'suggest-account-link',
          code,
          secrets: [
            { name: 'GATEWAY_URL', value: `${url}/` },
            { name: 'LOGIN_LINK_SECRET', value: SECRET },
            { name: 'LOGIN_LINK_CLIENT_ID', value: DEMO.loginLinkClientId },
            // The 3 s of production, shortened so that a check that never answers stays cheap.
            { name: 'CHECK_TIMEOUT_MS', value: '300' },
          ],
          supported_triggers: [{ id: 'post-login', version: 'v3' }],
        },
      ],
      triggers: { 'post-login': [{ action_name: 'suggest-account-link' }] },
    });
  }

  beforeEach(() => {
    gateway.requests.length = 0;
    gateway.answer = { status: 200, body: '{"candidates":0}' };
    deploy(emulator());
  });

  async function githubLogin(userId: string = danaGithub) {
    const e = emulator();
    const jar = new CookieJar();
    const { params, verifier } = spaParams(e, { connection: 'github' });
    const { res } = await loginWithSocial(e, jar, params, userId);
    return { e, jar, params, verifier, res };
  }

  async function subOf(
    e: Auth0Emulator,
    params: Record<string, string | undefined>,
    verifier: string,
    c: string,
  ) {
    const res = await exchangeCode(e, {
      client_id: DEMO.spaClientId,
      code: c,
      code_verifier: verifier,
      redirect_uri: params.redirect_uri as string,
    });
    expect(res.status).toBe(200);
    return decodeJwt(res.body.id_token as string).sub;
  }

  async function admin(e: Auth0Emulator) {
    return e.tokens.adminToken({ scope: 'read:users update:users' });
  }

  describe('skips without asking the service', () => {
    it("the service's own link client (the candidate's login)", async () => {
      const e = emulator();
      gateway.answer = { status: 200, body: '{"candidates":1}' };
      const params = {
        client_id: DEMO.loginLinkClientId,
        redirect_uri: 'http://127.0.0.1:4000/login-link/callback',
        response_type: 'code',
        scope: 'openid email',
        state: 'st',
        nonce: 'n',
        connection: 'Username-Password-Authentication',
      };
      const { res } = await loginWithForm(
        e,
        new CookieJar(),
        params,
        'dana@example.com',
        DEMO.passwords.dana,
      );
      expect(callbackParams(res).code).toBeTruthy();
      expect(gateway.requests).toHaveLength(0);
    });

    it("an application's own fresh sign-in (prompt=login: its linking popup or a step-up)", async () => {
      const e = emulator();
      gateway.answer = { status: 200, body: '{"candidates":1}' };
      const { params } = spaParams(e, { prompt: 'login' });
      const { res } = await loginWithForm(
        e,
        new CookieJar(),
        params,
        'dana@example.com',
        DEMO.passwords.dana,
      );
      expect(callbackParams(res).code).toBeTruthy();
      expect(gateway.requests).toHaveLength(0);
    });

    it('an unverified email', async () => {
      const e = emulator();
      gateway.answer = { status: 200, body: '{"candidates":1}' };
      const { params } = spaParams(e);
      const { res } = await loginWithForm(
        e,
        new CookieJar(),
        params,
        'ALICE@example.com',
        DEMO.passwords.aliceUnverified,
      );
      expect(callbackParams(res).code).toBeTruthy();
      expect(gateway.requests).toHaveLength(0);
    });

    it('a user with more than one identity', async () => {
      const e = emulator();
      gateway.answer = { status: 200, body: '{"candidates":1}' };
      const linked = await call(e, 'POST', userPath(alice, '/identities'), {
        token: await admin(e),
        json: { provider: 'github', user_id: aliceGithub.slice('github|'.length) },
      });
      expect(linked.status).toBe(201);
      const { params } = spaParams(e);
      const { res } = await loginWithForm(
        e,
        new CookieJar(),
        params,
        'alice@example.com',
        DEMO.passwords.alice,
      );
      expect(callbackParams(res).code).toBeTruthy();
      expect(gateway.requests).toHaveLength(0);
    });

    it('a user who declined for good (app_metadata.account_linking.declined)', async () => {
      const e = emulator();
      gateway.answer = { status: 200, body: '{"candidates":1}' };
      const patched = await call(e, 'PATCH', userPath(danaGithub), {
        token: await admin(e),
        json: { app_metadata: { account_linking: { declined: [dana] } } },
      });
      expect(patched.status).toBe(200);
      expect(callbackParams((await githubLogin()).res).code).toBeTruthy();
      expect(gateway.requests).toHaveLength(0);
    });
  });

  it('asks the service with a bearer token it signs (HS256, sub = the user, 60 s); 0 candidates: the login goes on', async () => {
    const { e, params, verifier, res } = await githubLogin();
    const query = callbackParams(res);
    expect(await subOf(e, params, verifier, query.code)).toBe(danaGithub);
    expect(gateway.requests).toHaveLength(1);
    const [check] = gateway.requests;
    expect(check).toMatchObject({ method: 'POST', path: '/login-link/check' });
    const bearer = /^Bearer (.+)$/.exec(check.authorization ?? '')?.[1] ?? '';
    const { payload, protectedHeader } = await jwtVerify(bearer, new TextEncoder().encode(SECRET));
    expect(protectedHeader.alg).toBe('HS256');
    expect(payload.sub).toBe(danaGithub);
    expect((payload.exp as number) - (payload.iat as number)).toBe(60);
  });

  it.each([
    ['answers 500', { status: 500, body: '{"error":"boom"}' }],
    ['answers something that is not JSON', { status: 200, body: 'not json' }],
    ['never answers (the timeout)', 'hang' as const],
  ])('the check %s: the login goes on untouched', async (_label, answer) => {
    gateway.answer = answer;
    const { e, params, verifier, res } = await githubLogin();
    expect(await subOf(e, params, verifier, callbackParams(res).code)).toBe(danaGithub);
    expect(gateway.requests).toHaveLength(1);
  });

  it('the service down (nothing listens): the login goes on untouched', async () => {
    const down = new StubGateway();
    const url = await down.start();
    await down.stop();
    deploy(emulator(), url);
    const { res } = await githubLogin();
    expect(callbackParams(res).code).toBeTruthy();
  });

  describe('with candidates', () => {
    beforeEach(() => {
      gateway.answer = { status: 200, body: '{"candidates":1}' };
    });

    async function suspended() {
      const login = await githubLogin();
      expect(login.res.status).toBe(302);
      const location = new URL(login.res.headers.get('location') ?? '');
      return {
        ...login,
        location,
        state: location.searchParams.get('state') ?? '',
        sessionToken: location.searchParams.get('session_token') ?? '',
      };
    }

    function continuePath(e: Auth0Emulator, state: string, claims: Record<string, unknown>, secret = SECRET) {
      const iat = Math.floor(Date.now() / 1000);
      const token = sign(
        { iss: new URL(e.origin).host, sub: danaGithub, state, iat, exp: iat + 60, ...claims },
        secret,
      );
      return `/continue?${new URLSearchParams({ state, session_token: token })}`;
    }

    it("sends the browser to <GATEWAY_URL>/login-link with a 10-minute session token and Auth0's state", async () => {
      const { e, location, state, sessionToken } = await suspended();
      expect(`${location.origin}${location.pathname}`).toBe(`${gatewayUrl}/login-link`);
      expect(state).not.toBe('');
      const { payload } = await jwtVerify(sessionToken, new TextEncoder().encode(SECRET), {
        issuer: new URL(e.origin).host,
      });
      expect(payload.sub).toBe(danaGithub);
      expect((payload.exp as number) - (payload.iat as number)).toBe(600);
    });

    it("linked: setPrimaryUser, so the application gets the primary's tokens", async () => {
      const { e, jar, params, verifier, state } = await suspended();
      const linked = await call(e, 'POST', userPath(dana, '/identities'), {
        token: await admin(e),
        json: { provider: 'github', user_id: '5050505' },
      });
      expect(linked.status).toBe(201);
      const back = await browse(e, jar, continuePath(e, state, { outcome: 'linked', primaryUserId: dana }));
      const query = callbackParams(back.res);
      expect(query.state).toBe(params.state);
      expect(await subOf(e, params, verifier, query.code)).toBe(dana);
    });

    it.each(['skipped', 'failed'])(
      '%s: the login finishes as the account just used, nothing recorded',
      async (outcome) => {
        const { e, jar, params, verifier, state } = await suspended();
        const back = await browse(e, jar, continuePath(e, state, { outcome, primaryUserId: dana }));
        expect(await subOf(e, params, verifier, callbackParams(back.res).code)).toBe(danaGithub);
        expect(e.tenant.getUser(danaGithub)?.app_metadata).toBeUndefined();
      },
    );

    it('declined: records app_metadata.account_linking.declined, and the next login is not redirected', async () => {
      const { e, jar, params, verifier, state } = await suspended();
      const back = await browse(e, jar, continuePath(e, state, { outcome: 'declined', declined: [dana] }));
      expect(await subOf(e, params, verifier, callbackParams(back.res).code)).toBe(danaGithub);
      expect(e.tenant.getUser(danaGithub)?.app_metadata).toEqual({ account_linking: { declined: [dana] } });
      gateway.requests.length = 0;
      const next = await githubLogin();
      expect(callbackParams(next.res).code).toBeTruthy();
      expect(gateway.requests).toHaveLength(0);
    });

    it('an answer that does not validate (wrong secret): the login goes on as the account just used', async () => {
      const { e, jar, params, verifier, state } = await suspended();
      const back = await browse(
        e,
        jar,
        continuePath(e, state, { outcome: 'linked', primaryUserId: dana }, 'wrong'),
      );
      expect(await subOf(e, params, verifier, callbackParams(back.res).code)).toBe(danaGithub);
    });
  });
});
