// Linking at login, the service side over HTTP (DESIGN §14): the gateway and the emulator in this
// process, a cookie jar per "browser", session tokens signed here exactly as Auth0's
// `api.redirect.encodeToken` signs them. Each refusal ends in a `failed` hand-back with nothing linked.
import { randomBytes } from 'node:crypto';
import { jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { DEMO } from '../../src/auth0-emulator/index.js';
import { loadConfig } from '../../src/config.js';
import { startGateway, type RunningGateway } from '../../src/gateway.js';
import { createLogger } from '../../src/observability/logger.js';
import { identitiesInTenant } from '../support/account-mutations.js';
import { startHarness, type Harness } from '../support/harness.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';

const SECRET = 'login-link-test-secret-0123456789abcdef';
const CLIENT_ID = DEMO.loginLinkClientId;
const CLIENT_SECRET = DEMO.loginLinkClientSecret;
const { alice, aliceGoogle, aliceGithub, bob } = DEMO.users;
const key = new TextEncoder().encode(SECRET);

/** One browser: cookies per host (as browsers keep them, whatever the port), redirects not followed. */
class Browser {
  private readonly jar = new Map<string, Map<string, string>>();

  async fetch(url: string, init: { method?: string; form?: Record<string, string> } = {}) {
    const origin = new URL(url).hostname;
    const cookies = this.jar.get(origin) ?? new Map<string, string>();
    const response = await fetch(url, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      redirect: 'manual',
      headers: {
        ...(cookies.size ? { cookie: [...cookies].map(([n, v]) => `${n}=${v}`).join('; ') } : {}),
        ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      body: init.form ? new URLSearchParams(init.form).toString() : undefined,
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const [name, value] = [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)];
      const expired = attributes.some((a) => /^\s*max-age=0$/i.test(a));
      if (expired || value === '') cookies.delete(name);
      else cookies.set(name, value);
    }
    this.jar.set(origin, cookies);
    return response;
  }
}

const randomState = () => randomBytes(12).toString('base64url');

describe('linking at login, service side (HTTP, emulator)', () => {
  let h: Harness;
  let gatewayOrigin: string;
  let clockOffsetMs = 0;

  beforeAll(async () => {
    h = await startHarness({
      emulator: { now: () => Date.now() + clockOffsetMs },
      env: {
        LOGIN_LINK: 'true',
        LOGIN_LINK_SECRET: SECRET,
        LOGIN_LINK_CLIENT_ID: CLIENT_ID,
        LOGIN_LINK_CLIENT_SECRET: CLIENT_SECRET,
        CALLER_RATE_LIMIT: '20/60',
      },
    });
    gatewayOrigin = h.gateway.origin;
  });
  afterAll(() => h.close());
  beforeEach(() => {
    h.emulator.tenant.reset();
    clockOffsetMs = 0;
  });

  /** A session token as Auth0's encodeToken makes it: HS256, iss = the tenant's host, 10 minutes. */
  function sessionToken(sub: string, options: { secret?: Uint8Array; expiresAt?: number } = {}) {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ ip: '127.0.0.1' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(sub)
      .setIssuer(new URL(h.emulator.origin).host)
      .setIssuedAt(options.expiresAt ? options.expiresAt - 600 : now)
      .setExpirationTime(options.expiresAt ?? now + 600)
      .sign(options.secret ?? key);
  }

  async function openPage(browser: Browser, sub: string, token?: string, state = randomState()) {
    const query = new URLSearchParams({ session_token: token ?? (await sessionToken(sub)), state });
    const response = await browser.fetch(`${gatewayOrigin}/login-link?${query.toString()}`);
    const html = await response.text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
    return { response, html, csrf, state };
  }

  /** The hand-back a page or a redirect carries: `/continue` on the tenant, its token verified. */
  async function handBackOf(target: string | null, state: string) {
    expect(target).not.toBeNull();
    const url = new URL(target!.replaceAll('&amp;', '&'));
    expect(url.origin + url.pathname).toBe(`${h.emulator.origin}/continue`);
    expect(url.searchParams.get('state')).toBe(state);
    const { payload } = await jwtVerify(url.searchParams.get('session_token')!, key, {
      algorithms: ['HS256'],
    });
    return payload as JWTPayload & {
      outcome: string;
      state: string;
      primaryUserId?: string;
      declined?: string[];
    };
  }
  const continueLink = (html: string) => /<a href="([^"]+)" data-continue>/.exec(html)?.[1] ?? null;

  /** Signs in at the emulator's login form as `username` and follows to the gateway's callback. */
  async function signInAtTenant(browser: Browser, authorizeUrl: string, username: string, password: string) {
    const form = await browser.fetch(authorizeUrl);
    expect(form.status).toBe(200);
    const posted = await browser.fetch(authorizeUrl, { form: { username, password } });
    expect(posted.status).toBe(302);
    return posted.headers.get('location')!;
  }

  async function chooseCandidate(browser: Browser, sub: string, candidate: string) {
    const page = await openPage(browser, sub);
    expect(page.response.status).toBe(200);
    const started = await browser.fetch(`${gatewayOrigin}/login-link/start`, {
      form: { csrf: page.csrf!, candidate },
    });
    expect(started.status).toBe(302);
    return { page, authorizeUrl: started.headers.get('location')! };
  }

  const nothingLinked = () => {
    expect(identitiesInTenant(h.emulator, alice)).toEqual(['auth0|6650a1b2c3d4e5f600000001']);
    expect(identitiesInTenant(h.emulator, aliceGithub)).toEqual(['github|4031337']);
    expect(h.emulator.journal.entries().some((e) => e.method === 'POST' && /identities/.test(e.path))).toBe(
      false,
    );
  };

  it('links the account just used into the chosen candidate after its fresh sign-in, and hands back "linked"', async () => {
    const browser = new Browser();
    const { page, authorizeUrl } = await chooseCandidate(browser, aliceGithub, alice);
    // The page: masked emails and connections, one button per candidate, never a profile.
    expect(page.html).toContain('a***@example.com');
    expect(page.html).not.toContain('alice@example.com');
    expect(page.html).toContain(`name="candidate" value="${alice}"`);
    expect(page.html).toContain(`name="candidate" value="${aliceGoogle}"`);
    expect(page.html).not.toContain('<script');
    expect(page.response.headers.get('content-security-policy')).toContain("default-src 'none'");
    const cookie = page.response.headers.getSetCookie().join('\n');
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    // The candidate's sign-in: the tenant's /authorize for the service's application, fresh and bound.
    const authorize = new URL(authorizeUrl);
    expect(authorize.origin + authorize.pathname).toBe(`${h.emulator.origin}/authorize`);
    expect(Object.fromEntries(authorize.searchParams)).toMatchObject({
      client_id: CLIENT_ID,
      connection: 'Username-Password-Authentication',
      prompt: 'login',
      max_age: '0',
      login_hint: 'alice@example.com',
      code_challenge_method: 'S256',
      redirect_uri: `${gatewayOrigin}/login-link/callback`,
    });
    expect(authorize.searchParams.get('nonce')).toBeTruthy();
    const callback = await signInAtTenant(browser, authorizeUrl, 'alice@example.com', DEMO.passwords.alice);
    const done = await browser.fetch(callback);
    expect(done.status).toBe(302);
    const back = await handBackOf(done.headers.get('location'), page.state);
    expect(back).toMatchObject({ sub: aliceGithub, outcome: 'linked', primaryUserId: alice });
    expect(identitiesInTenant(h.emulator, alice)).toEqual([
      'auth0|6650a1b2c3d4e5f600000001',
      'github|4031337',
    ]);
    expect(identitiesInTenant(h.emulator, aliceGithub)).toBeNull();
    const metrics = await (await fetch(`${gatewayOrigin}/metrics`)).text();
    expect(metrics).toMatch(/^login_link_outcomes_total\{step="callback",outcome="linked"\} 1$/m);
    // The same core as every link: its audit line, with mode "login".
    expect(h.auditEvents()).toContainEqual(
      expect.objectContaining({
        event: 'account.link',
        mode: 'login',
        primaryId: alice,
        secondary: aliceGithub,
      }),
    );
  });

  it('"Not now" and "Don\'t ask again" hand back at once, "never" naming the declined candidates', async () => {
    const first = new Browser();
    const skipPage = await openPage(first, aliceGithub);
    const skip = await first.fetch(`${gatewayOrigin}/login-link/start`, {
      form: { csrf: skipPage.csrf!, decision: 'skip' },
    });
    expect(skip.status).toBe(302);
    expect(skip.headers.getSetCookie().join()).toMatch(/Max-Age=0/);
    expect(await handBackOf(skip.headers.get('location'), skipPage.state)).toMatchObject({
      sub: aliceGithub,
      outcome: 'skipped',
    });

    const browser = new Browser();
    const page = await openPage(browser, aliceGithub);
    const never = await browser.fetch(`${gatewayOrigin}/login-link/start`, {
      form: { csrf: page.csrf!, decision: 'never' },
    });
    expect(never.status).toBe(302);
    const declined = await handBackOf(never.headers.get('location'), page.state);
    expect(declined.outcome).toBe('declined');
    expect([...declined.declined!].sort()).toEqual([alice, aliceGoogle].sort());
    expect(declined.primaryUserId).toBeUndefined();
    nothingLinked();
  });

  it('refuses a replayed session token (single use)', async () => {
    const token = await sessionToken(aliceGithub);
    const first = await openPage(new Browser(), aliceGithub, token);
    expect(first.response.status).toBe(200);
    const replay = await openPage(new Browser(), aliceGithub, token, first.state);
    expect(replay.response.status).toBe(400);
    expect(replay.html).not.toContain('name="candidate"');
    expect(await handBackOf(continueLink(replay.html), replay.state)).toMatchObject({
      outcome: 'failed',
      sub: aliceGithub,
    });
    nothingLinked();
  });

  it('refuses an expired session token and one signed with another secret', async () => {
    const expired = await openPage(
      new Browser(),
      aliceGithub,
      await sessionToken(aliceGithub, { expiresAt: Math.floor(Date.now() / 1000) - 60 }),
    );
    const forged = await openPage(
      new Browser(),
      aliceGithub,
      await sessionToken(aliceGithub, {
        secret: new TextEncoder().encode('another-secret-0123456789abcdef-xyz'),
      }),
    );
    for (const refused of [expired, forged]) {
      expect(refused.response.status).toBe(400);
      expect(refused.html).not.toContain('name="candidate"');
      expect((await handBackOf(continueLink(refused.html), refused.state)).outcome).toBe('failed');
    }
    // Nothing was read for them: a refused token costs no Auth0 call.
    expect(h.emulator.journal.entries().filter((e) => e.path.startsWith('/api/v2/'))).toEqual([]);
    nothingLinked();
  });

  it('refuses a POST without the CSRF token and a candidate the page did not offer', async () => {
    const browser = new Browser();
    const page = await openPage(browser, aliceGithub);
    const noCsrf = await browser.fetch(`${gatewayOrigin}/login-link/start`, { form: { candidate: alice } });
    expect(noCsrf.status).toBe(403);
    expect((await handBackOf(continueLink(await noCsrf.text()), page.state)).outcome).toBe('failed');

    const other = new Browser();
    const second = await openPage(other, aliceGithub);
    const notOffered = await other.fetch(`${gatewayOrigin}/login-link/start`, {
      form: { csrf: second.csrf!, candidate: bob },
    });
    expect(notOffered.status).toBe(400);
    expect((await handBackOf(continueLink(await notOffered.text()), second.state)).outcome).toBe('failed');
    nothingLinked();
  });

  it("refuses a callback carrying another browser's state", async () => {
    const a = new Browser();
    const { authorizeUrl } = await chooseCandidate(a, aliceGithub, alice);
    const callbackOfA = await signInAtTenant(a, authorizeUrl, 'alice@example.com', DEMO.passwords.alice);
    const b = new Browser();
    const { page: pageOfB } = await chooseCandidate(b, aliceGithub, alice);
    const refused = await b.fetch(callbackOfA);
    expect(refused.status).toBe(400);
    const html = await refused.text();
    // Refused on the state itself, before the code is exchanged (PKCE would refuse it later too).
    expect(html).toContain('not started in this browser');
    expect((await handBackOf(continueLink(html), pageOfB.state)).outcome).toBe('failed');
    // And with no session at all, there is nothing to hand back.
    const stranger = await new Browser().fetch(callbackOfA);
    expect(stranger.status).toBe(400);
    expect(continueLink(await stranger.text())).toBeNull();
    nothingLinked();
  });

  it('refuses a candidate sign-in as a different user', async () => {
    const browser = new Browser();
    const { page, authorizeUrl } = await chooseCandidate(browser, aliceGithub, alice);
    const callback = await signInAtTenant(browser, authorizeUrl, 'bob@example.com', DEMO.passwords.bob);
    const refused = await browser.fetch(callback);
    expect(refused.status).toBe(400);
    const html = await refused.text();
    expect(html).toContain('different account');
    expect((await handBackOf(continueLink(html), page.state)).outcome).toBe('failed');
    nothingLinked();
  });

  it('refuses a candidate sign-in whose auth_time is older than 5 minutes', async () => {
    const browser = new Browser();
    const { page, authorizeUrl } = await chooseCandidate(browser, aliceGithub, alice);
    // The tenant's clock ten minutes behind: the sign-in it reports happened ten minutes ago.
    clockOffsetMs = -10 * 60 * 1000;
    const callback = await signInAtTenant(browser, authorizeUrl, 'alice@example.com', DEMO.passwords.alice);
    const refused = await browser.fetch(callback);
    expect(refused.status).toBe(400);
    const html = await refused.text();
    expect(html).toContain('not fresh');
    expect((await handBackOf(continueLink(html), page.state)).outcome).toBe('failed');
    nothingLinked();
  });

  describe('two replicas on one Redis', () => {
    let redis: RedisServer;
    let replicas: RunningGateway[];

    beforeAll(async () => {
      redis = await startRedisServer();
      const config = loadConfig({
        AUTH0_DOMAIN: h.emulator.origin,
        AUTH0_CLIENT_ID: DEMO.serviceClientId,
        AUTH0_CLIENT_SECRET: DEMO.serviceClientSecret,
        PORT: '0',
        USER_CACHE_TTL_MS: '0',
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: `login-link-${process.pid}:`,
        LOGIN_LINK: 'true',
        LOGIN_LINK_SECRET: SECRET,
        LOGIN_LINK_CLIENT_ID: CLIENT_ID,
        LOGIN_LINK_CLIENT_SECRET: CLIENT_SECRET,
      });
      const logger = createLogger({ level: 'silent' });
      replicas = [await startGateway(config, { logger }), await startGateway(config, { logger })];
    });
    afterAll(async () => {
      for (const replica of replicas ?? []) await replica.close();
      await redis?.stop();
    });

    it('agree on single use, and either one continues a session the other opened', async () => {
      const [a, b] = replicas;
      const token = await sessionToken(aliceGithub);
      const state = randomState();
      const query = new URLSearchParams({ session_token: token, state }).toString();
      const browser = new Browser();
      const opened = await browser.fetch(`${a.origin}/login-link?${query}`);
      expect(opened.status).toBe(200);
      const csrf = /name="csrf" value="([^"]+)"/.exec(await opened.text())![1];
      const replayed = await new Browser().fetch(`${b.origin}/login-link?${query}`);
      expect(replayed.status).toBe(400);
      expect((await handBackOf(continueLink(await replayed.text()), state)).outcome).toBe('failed');
      // The session is sealed in the browser's cookie: replica B reads what A wrote.
      const started = await browser.fetch(`${b.origin}/login-link/start`, {
        form: { csrf, decision: 'skip' },
      });
      expect(started.status).toBe(302);
      expect((await handBackOf(started.headers.get('location'), state)).outcome).toBe('skipped');
    });
  });

  describe('POST /login-link/check', () => {
    const checkToken = (sub: string, seconds = 60, secret = key) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(sub)
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + seconds)
        .sign(secret);
    const check = async (token: string | null) => {
      const response = await fetch(`${gatewayOrigin}/login-link/check`, {
        method: 'POST',
        headers: token === null ? {} : { authorization: `Bearer ${token}` },
      });
      return { status: response.status, text: await response.text() };
    };

    it('answers a count of users with the same verified email, never their ids', async () => {
      const answer = await check(await checkToken(aliceGithub));
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.text)).toEqual({ candidates: 2 });
      expect(answer.text).not.toMatch(/auth0\||google-oauth2\||@/);
      expect(JSON.parse((await check(await checkToken(DEMO.users.carol))).text)).toEqual({ candidates: 0 });
    });

    it('refuses a missing, forged or long-lived bearer token', async () => {
      expect((await check(null)).status).toBe(401);
      expect(
        (await check(await checkToken(aliceGithub, 60, new TextEncoder().encode('x'.repeat(40))))).status,
      ).toBe(401);
      expect((await check(await checkToken(aliceGithub, 600))).status).toBe(401);
      expect(h.emulator.journal.entries().filter((e) => e.path.startsWith('/api/v2/'))).toEqual([]);
    });

    it('limits each user to CALLER_RATE_LIMIT checks per window', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 21; i++) statuses.push((await check(await checkToken(bob))).status);
      expect(statuses.slice(0, 20).every((s) => s === 200)).toBe(true);
      expect(statuses[20]).toBe(429);
      // Another user has a budget of their own.
      expect((await check(await checkToken(DEMO.users.carol))).status).toBe(200);
    });
  });

  it('writes no token, secret or email to its logs', () => {
    const logs = h.logLines.join('\n');
    expect(logs).toContain('linking at login');
    expect(logs).not.toContain(SECRET);
    expect(logs).not.toContain(CLIENT_SECRET);
    expect(logs).not.toMatch(/eyJ[\w-]+\.[\w-]+/);
    expect(logs).not.toContain('alice@example.com');
  });
});
