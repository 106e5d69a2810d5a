// The emulator runs post-login Actions as Auth0 does (DESIGN §14), over real HTTP, with a small
// test Action whose behaviour the /authorize query picks (`test_mode`).
import { createHmac } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import {
  DEMO,
  DEMO_SEED,
  loadSeedFile,
  parseSeed,
  startAuth0Emulator,
  type Auth0Emulator,
  type SeedAction,
} from '../../../src/auth0-emulator/index.js';
import { call, useEmulator, userPath } from '../../support/emulator-fixture.js';
import {
  browse,
  callbackParams,
  CookieJar,
  exchangeCode,
  loginWithForm,
  loginWithSocial,
  spaParams,
} from './browser-login.js';

const SECRET = 'test-action-secret-0123456789';
const ELSEWHERE = 'http://127.0.0.1:9/elsewhere';

const TEST_ACTION = `
exports.onExecutePostLogin = async (event, api) => {
  const mode = event.request.query.test_mode;
  if (mode === 'deny') return api.access.deny('No entry for ' + event.user.email);
  if (mode === 'throw') throw new Error('the Action broke');
  if (mode === 'hang') return new Promise(() => {});
  if (mode === 'spin') for (;;) {}
  if (mode === 'meta') {
    api.user.setAppMetadata('seen', { count: event.stats.logins_count, connection: event.connection.name });
    api.user.setUserMetadata('theme', null);
    return;
  }
  if (mode === 'redirect') {
    const token = api.redirect.encodeToken({
      secret: event.secrets.SECRET,
      expiresInSeconds: 60,
      payload: { email: event.user.email, client: event.client.client_id, identities: event.user.identities.length },
    });
    api.redirect.sendUserTo('${ELSEWHERE}', { query: { session_token: token } });
  }
};
exports.onContinuePostLogin = async (event, api) => {
  const payload = api.redirect.validateToken({ secret: event.secrets.SECRET, tokenParameterName: 'session_token' });
  if (payload.primary) api.authentication.setPrimaryUser(payload.primary);
  api.user.setAppMetadata('continued', payload.note || 'yes');
};
`;

// Bound after the test Action: runs only once the first has finished (after /continue when it redirects).
const SECOND_ACTION = `
exports.onExecutePostLogin = async (event, api) => {
  api.user.setUserMetadata('second', 'session_token' in event.request.query ? 'after-continue' : 'at-login');
};
`;

const actions: SeedAction[] = [
  {
    name: 'test-action',
    code: TEST_ACTION,
    runtime: 'node22',
    secrets: [{ name: 'SECRET', value: SECRET }],
    supported_triggers: [{ id: 'post-login', version: 'v3' }],
  },
  { name: 'second', code: SECOND_ACTION, supported_triggers: [{ id: 'post-login', version: 'v3' }] },
];

function sign(claims: Record<string, unknown>, secret = SECRET): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const head = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

describe('post-login Actions in the emulator', () => {
  const emulator = useEmulator({
    seed: {
      ...DEMO_SEED,
      actions,
      triggers: { 'post-login': [{ action_name: 'test-action' }, { action_name: 'second' }] },
    },
    actionTimeoutMs: 400,
  });

  async function socialLogin(mode: string, userId: string = DEMO.users.aliceGithub) {
    const e = emulator();
    const jar = new CookieJar();
    const { params, verifier } = spaParams(e, { connection: 'github', test_mode: mode });
    const login = await loginWithSocial(e, jar, params, userId);
    return { e, jar, params, verifier, login };
  }

  /** The redirect of a suspended login: where, its session token's claims and the continue state. */
  function suspended(res: Response) {
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location') ?? '');
    return {
      location,
      state: location.searchParams.get('state') ?? '',
      token: location.searchParams.get('session_token') ?? '',
    };
  }

  function continueToken(e: Auth0Emulator, state: string, extra: Record<string, unknown> = {}) {
    const iat = Math.floor(Date.now() / 1000);
    return sign({
      iss: new URL(e.origin).host,
      sub: DEMO.users.aliceGithub,
      state,
      iat,
      exp: iat + 60,
      ...extra,
    });
  }

  async function tokensOf(
    e: Auth0Emulator,
    params: Record<string, string | undefined>,
    verifier: string,
    code: string,
  ) {
    const res = await exchangeCode(e, {
      client_id: DEMO.spaClientId,
      code,
      code_verifier: verifier,
      redirect_uri: params.redirect_uri as string,
    });
    expect(res.status).toBe(200);
    return decodeJwt(res.body.id_token as string);
  }

  it('suspends the login at sendUserTo: a 302 to the URL with its query and a state Auth0 adds, no code yet', async () => {
    const { e, login } = await socialLogin('redirect');
    const { location, state, token } = suspended(login.res);
    expect(`${location.origin}${location.pathname}`).toBe(ELSEWHERE);
    expect(state).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(location.searchParams.has('code')).toBe(false);
    const claims = decodeJwt(token);
    // encodeToken: iss = the tenant's domain (the origin's host), sub = the user, ip, the payload, 60 s.
    expect(claims).toMatchObject({
      iss: new URL(e.origin).host,
      sub: DEMO.users.aliceGithub,
      ip: expect.stringMatching(/127\.0\.0\.1/),
      email: 'alice@example.com',
      client: DEMO.spaClientId,
      identities: 1,
    });
    expect((claims.exp as number) - (claims.iat as number)).toBe(60);
    // The Actions bound after the redirecting one have not run.
    expect(e.tenant.getUser(DEMO.users.aliceGithub)?.user_metadata?.second).toBeUndefined();
  });

  it('resumes at GET /continue: onContinuePostLogin, the remaining Actions, then the code to the callback', async () => {
    const { e, jar, params, verifier, login } = await socialLogin('redirect');
    const { state } = suspended(login.res);
    const back = await browse(
      e,
      jar,
      `/continue?${new URLSearchParams({ state, session_token: continueToken(e, state, { note: 'hi' }) })}`,
    );
    const query = callbackParams(back.res);
    expect(query.state).toBe(params.state);
    expect(query.code).toBeTruthy();
    const user = e.tenant.getUser(DEMO.users.aliceGithub);
    expect(user?.app_metadata?.continued).toBe('hi');
    expect(user?.user_metadata?.second).toBe('after-continue');
    expect((await tokensOf(e, params, verifier, query.code)).sub).toBe(DEMO.users.aliceGithub);
    // The login started an SSO session: the next /authorize answers with a code at once (and runs the Actions).
    const again = await browse(
      e,
      jar,
      `/authorize?${new URLSearchParams(spaParams(e).params as Record<string, string>)}`,
    );
    expect(callbackParams(again.res).code).toBeTruthy();
  });

  it('resumes at POST /continue with the token in a form body', async () => {
    const { e, jar, login } = await socialLogin('redirect');
    const { state } = suspended(login.res);
    const back = await browse(e, jar, '/continue', { state, session_token: continueToken(e, state) });
    expect(callbackParams(back.res).code).toBeTruthy();
  });

  it('refuses /continue without a state, with an unknown one, and a state used once already', async () => {
    const { e, jar, login } = await socialLogin('redirect');
    const { state } = suspended(login.res);
    const missing = await browse(e, jar, '/continue');
    expect(missing.res.status).toBe(400);
    expect(missing.text).toContain('invalid_request');
    const unknown = await browse(e, jar, `/continue?state=${'x'.repeat(43)}`);
    expect(unknown.res.status).toBe(400);
    const first = await browse(
      e,
      jar,
      `/continue?${new URLSearchParams({ state, session_token: continueToken(e, state) })}`,
    );
    expect(callbackParams(first.res).code).toBeTruthy();
    const replay = await browse(
      e,
      jar,
      `/continue?${new URLSearchParams({ state, session_token: continueToken(e, state) })}`,
    );
    expect(replay.res.status).toBe(400);
    expect(replay.res.headers.get('location')).toBeNull();
  });

  it.each([
    [
      'a wrong signature',
      (e: Auth0Emulator, s: string) => sign({ ...decodeJwt(continueToken(e, s)) }, 'another-secret'),
      /invalid signature/,
    ],
    [
      'an expired token',
      (e: Auth0Emulator, s: string) => continueToken(e, s, { exp: Math.floor(Date.now() / 1000) - 5 }),
      /expired/,
    ],
    [
      'the state of another login',
      (e: Auth0Emulator) => continueToken(e, 'another-state'),
      /State in the token does not match/,
    ],
    ['another subject', (e: Auth0Emulator, s: string) => continueToken(e, s, { sub: DEMO.users.bob }), /sub/],
    [
      'no iss claim',
      (e: Auth0Emulator, s: string) => continueToken(e, s, { iss: undefined }),
      /standard claims/,
    ],
  ])(
    'validateToken refuses %s: the login fails with access_denied at the callback',
    async (_label, make, reason) => {
      const { e, jar, params, login } = await socialLogin('redirect');
      const { state } = suspended(login.res);
      const back = await browse(
        e,
        jar,
        `/continue?${new URLSearchParams({ state, session_token: make(e, state) })}`,
      );
      const query = callbackParams(back.res);
      expect(query).toMatchObject({ error: 'access_denied', state: params.state });
      expect(query.error_description).toMatch(reason);
      expect(query.code).toBeUndefined();
      expect(e.tenant.getUser(DEMO.users.aliceGithub)?.app_metadata?.continued).toBeUndefined();
    },
  );

  describe('setPrimaryUser', () => {
    async function linkGithubIntoAlice(e: Auth0Emulator) {
      const token = await e.tokens.adminToken({ scope: 'update:users' });
      const res = await call(e, 'POST', userPath(DEMO.users.alice, '/identities'), {
        token,
        json: { provider: 'github', user_id: '4031337' },
      });
      expect(res.status).toBe(201);
    }

    it("finishes the login as the primary: the tokens the application gets are the primary's", async () => {
      const { e, jar, params, verifier, login } = await socialLogin('redirect');
      const { state } = suspended(login.res);
      await linkGithubIntoAlice(e);
      const token = continueToken(e, state, { primary: DEMO.users.alice });
      const back = await browse(e, jar, `/continue?${new URLSearchParams({ state, session_token: token })}`);
      const query = callbackParams(back.res);
      expect(query.code).toBeTruthy();
      const idToken = await tokensOf(e, params, verifier, query.code);
      expect(idToken.sub).toBe(DEMO.users.alice);
      // Metadata set after setPrimaryUser lands on the primary.
      expect(e.tenant.getUser(DEMO.users.alice)?.app_metadata?.continued).toBe('yes');
    });

    it('without it, a login whose user was linked away fails (its user no longer exists)', async () => {
      const { e, jar, login } = await socialLogin('redirect');
      const { state } = suspended(login.res);
      await linkGithubIntoAlice(e);
      const back = await browse(
        e,
        jar,
        `/continue?${new URLSearchParams({ state, session_token: continueToken(e, state) })}`,
      );
      const query = callbackParams(back.res);
      expect(query.error).toBe('access_denied');
      expect(query.error_description).toMatch(/setPrimaryUser/);
    });

    it('refuses a primary that does not hold the identity that logged in', async () => {
      const { e, jar, login } = await socialLogin('redirect');
      const { state } = suspended(login.res);
      const token = continueToken(e, state, { primary: DEMO.users.bob });
      const back = await browse(e, jar, `/continue?${new URLSearchParams({ state, session_token: token })}`);
      expect(callbackParams(back.res)).toMatchObject({ error: 'access_denied' });
    });
  });

  it('api.access.deny sends access_denied and the reason to the callback, and starts no session', async () => {
    const e = emulator();
    const jar = new CookieJar();
    const { params } = spaParams(e, { test_mode: 'deny' });
    const login = await loginWithForm(e, jar, params, 'bob@example.com', DEMO.passwords.bob);
    expect(callbackParams(login.res)).toMatchObject({
      error: 'access_denied',
      error_description: 'No entry for bob@example.com',
      state: params.state,
    });
    expect(jar.size).toBe(0);
  });

  it('an Action that throws fails the login with access_denied and its message', async () => {
    const { login } = await socialLogin('throw');
    expect(callbackParams(login.res)).toMatchObject({
      error: 'access_denied',
      error_description: 'the Action broke',
    });
  });

  it('an Action that never finishes fails the login after the time limit', async () => {
    const { login } = await socialLogin('hang');
    const query = callbackParams(login.res);
    expect(query.error).toBe('access_denied');
    expect(query.error_description).toMatch(/did not finish within 400 ms/);
  });

  it('an Action stuck in a synchronous loop is stopped too: the login fails, the emulator goes on', async () => {
    const { login } = await socialLogin('spin');
    const query = callbackParams(login.res);
    expect(query.error).toBe('access_denied');
    expect(query.error_description).toMatch(/timed out after 400ms/);
  });

  it('writes app and user metadata at the end of the trigger; event.stats.logins_count counts logins', async () => {
    const e = emulator();
    const { params } = spaParams(e, { test_mode: 'meta' });
    const first = await loginWithForm(e, new CookieJar(), params, 'alice@example.com', DEMO.passwords.alice);
    expect(callbackParams(first.res).code).toBeTruthy();
    const again = spaParams(e, { test_mode: 'meta' }).params;
    await loginWithForm(e, new CookieJar(), again, 'alice@example.com', DEMO.passwords.alice);
    const user = e.tenant.getUser(DEMO.users.alice);
    expect(user?.app_metadata).toEqual({
      plan: 'pro',
      seen: { count: 2, connection: 'Username-Password-Authentication' },
    });
    // setUserMetadata(key, null) removes the key; the second Action ran at login (no redirect).
    expect(user?.user_metadata).toEqual({ second: 'at-login' });
  });

  it('deployActions replaces the Actions; an invalid deployment is refused and changes nothing', async () => {
    const e = emulator();
    expect(() =>
      e.deployActions({
        actions: [{ name: 'bad', code: 'exports.onExecutePostLogin = (' }],
        triggers: { 'post-login': [{ action_name: 'bad' }] },
      }),
    ).toThrow(/does not compile/);
    expect(() =>
      e.deployActions({ actions: [], triggers: { 'post-login': [{ action_name: 'missing' }] } }),
    ).toThrow(/no action named missing/);
    expect(() =>
      e.deployActions({
        actions: [{ name: 'm2m', code: '', supported_triggers: [{ id: 'credentials-exchange' }] }],
        triggers: { 'post-login': [{ action_name: 'm2m' }] },
      }),
    ).toThrow(/does not support the post-login trigger/);
    // Still the seed's Actions.
    expect(callbackParams((await socialLogin('deny')).login.res).error).toBe('access_denied');
    e.deployActions({
      actions: [
        {
          name: 'logger',
          code: "exports.onExecutePostLogin = async (event) => { console.log('login of', event.user.user_id, require('node:crypto').createHash('sha256').update('x').digest('hex').length); };",
        },
      ],
      triggers: { 'post-login': [{ action_name: 'logger' }] },
    });
    expect(callbackParams((await socialLogin('deny')).login.res).code).toBeTruthy();
    expect(e.actionLogs()).toContain(`[logger] log: login of ${DEMO.users.aliceGithub} 64`);
    // reset() goes back to the seed's Actions.
    e.tenant.reset();
    expect(callbackParams((await socialLogin('deny')).login.res).error).toBe('access_denied');
  });

  it('prompt=none with an SSO session: a redirecting Action answers interaction_required', async () => {
    const { e, jar, login } = await socialLogin('meta');
    expect(callbackParams(login.res).code).toBeTruthy();
    const { params } = spaParams(e, { connection: 'github', prompt: 'none', test_mode: 'redirect' });
    const silent = await browse(
      e,
      jar,
      `/authorize?${new URLSearchParams(params as Record<string, string>)}`,
    );
    expect(callbackParams(silent.res)).toMatchObject({ error: 'interaction_required', state: params.state });
  });
});

describe('Actions in a seed file', () => {
  it("reads an Action's code from the .js file it names, as the Deploy CLI's tenant.yaml does", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'emulator-actions-'));
    try {
      await writeFile(
        join(dir, 'deny.js'),
        "exports.onExecutePostLogin = async (event, api) => { api.access.deny('from a file'); };",
      );
      const seed = {
        ...DEMO_SEED,
        actions: [{ name: 'deny', code: './deny.js' }],
        triggers: { 'post-login': [{ action_name: 'deny' }] },
      };
      await writeFile(join(dir, 'seed.json'), JSON.stringify(seed));
      const emulator = await startAuth0Emulator({ seed: await loadSeedFile(join(dir, 'seed.json')) });
      try {
        const { params } = spaParams(emulator);
        const login = await loginWithForm(
          emulator,
          new CookieJar(),
          params,
          'bob@example.com',
          DEMO.passwords.bob,
        );
        expect(callbackParams(login.res)).toMatchObject({
          error: 'access_denied',
          error_description: 'from a file',
        });
      } finally {
        await emulator.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a binding to an Action the seed does not have', () => {
    expect(() =>
      parseSeed({ ...DEMO_SEED, actions: [], triggers: { 'post-login': [{ action_name: 'ghost' }] } }),
    ).toThrow(/triggers\.post-login\[0\]\.action_name: no action ghost in actions/);
  });
});
