// Linking at login in Chromium (DESIGN §14): a tiny app starts a login with the GitHub connection,
// the emulator runs the repo's post-login Action, the service's page offers the password account,
// its fresh sign-in links the two, and the app's tokens are the primary's.
import { jest } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { decodeJwt } from 'jose';
import type { Page } from 'playwright-core';
import { DEMO } from '../../src/auth0-emulator/index.js';
import { suggestAccountLinkDeployment } from '../../src/login-link/action-deployment.js';
import { identitiesInTenant } from '../support/account-mutations.js';
import { launchBrowser, type BrowserSession } from '../support/browser.js';
import { startHarness, type Harness } from '../support/harness.js';

jest.setTimeout(60_000);

const SECRET = 'login-link-browser-secret-0123456789abcdef';
const CLIENT_ID = DEMO.loginLinkClientId;
const CLIENT_SECRET = DEMO.loginLinkClientSecret;
const { dana, danaGithub, carol } = DEMO.users;

/**
 * The application: `/login?connection=…` starts an authorization-code login (PKCE, the demo SPA
 * client) and `/callback` exchanges the code and shows the ID token's `sub`.
 */
async function startApp(tenant: string): Promise<{ origin: string; server: Server }> {
  const pending = new Map<string, string>();
  let origin = '';
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', origin);
    if (url.pathname === '/login') {
      const state = randomBytes(12).toString('base64url');
      const verifier = randomBytes(32).toString('base64url');
      pending.set(state, verifier);
      const query = new URLSearchParams({
        response_type: 'code',
        client_id: DEMO.spaClientId,
        redirect_uri: `${origin}/callback`,
        scope: 'openid profile email',
        connection: url.searchParams.get('connection') ?? 'github',
        state,
        nonce: randomBytes(12).toString('base64url'),
        code_challenge: createHash('sha256').update(verifier).digest('base64url'),
        code_challenge_method: 'S256',
      });
      res.writeHead(302, { location: `${tenant}/authorize?${query.toString()}` }).end();
      return;
    }
    if (url.pathname === '/callback') {
      const verifier = pending.get(url.searchParams.get('state') ?? '');
      void fetch(`${tenant}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          client_id: DEMO.spaClientId,
          code: url.searchParams.get('code') ?? '',
          code_verifier: verifier ?? '',
          redirect_uri: `${origin}/callback`,
        }),
      })
        .then(async (answer) => {
          const body = (await answer.json()) as { id_token?: string };
          const sub = body.id_token ? String(decodeJwt(body.id_token).sub) : 'none';
          res.writeHead(200, { 'content-type': 'text/html' }).end(`<p id="sub">${sub}</p>`);
        })
        .catch(() => res.writeHead(500).end());
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, server };
}

describe('linking at login in Chromium (the repo Action on the emulator)', () => {
  let h: Harness;
  let app: { origin: string; server: Server };
  let session: BrowserSession;
  let page: Page;
  /** Every URL the browser asked for, in order. */
  let visited: string[];

  const deploy = (gatewayUrl: string, extra: { name: string; value: string }[] = []) => {
    const deployment = suggestAccountLinkDeployment({ gatewayUrl, secret: SECRET, clientId: CLIENT_ID });
    deployment.actions[0].secrets.push(...extra);
    h.emulator.deployActions(deployment);
  };

  beforeAll(async () => {
    h = await startHarness({
      env: {
        LOGIN_LINK: 'true',
        LOGIN_LINK_SECRET: SECRET,
        LOGIN_LINK_CLIENT_ID: CLIENT_ID,
        LOGIN_LINK_CLIENT_SECRET: CLIENT_SECRET,
      },
    });
    app = await startApp(h.emulator.origin);
    session = await launchBrowser();
  });
  afterAll(async () => {
    await session?.close();
    await new Promise((resolve) => app?.server.close(resolve));
    await h?.close();
  });
  beforeEach(async () => {
    h.emulator.tenant.reset();
    deploy(h.gateway.origin);
    await session.context.clearCookies();
    page = await session.newPage();
    page.setDefaultTimeout(10_000);
    visited = [];
    page.on('request', (request) => {
      if (request.isNavigationRequest()) visited.push(request.url());
    });
  });
  afterEach(async () => {
    await page.close();
    expect(session.problems).toEqual([]);
    expect(session.offLoopbackRequests).toEqual([]);
  });

  /** The app's login with GitHub, as Dana's GitHub account, up to wherever the login leads. */
  async function signInWithGithub() {
    await page.goto(`${app.origin}/login?connection=github`);
    await page.click(`button[data-user-id="${danaGithub}"]`);
  }
  const landedAs = async () => {
    await page.waitForURL(`${app.origin}/callback**`);
    return page.locator('#sub').innerText();
  };
  const sawLinkPage = () => visited.some((url) => url.startsWith(`${h.gateway.origin}/login-link?`));

  it('links at login: the page lists the password account, its sign-in links, the app gets the primary', async () => {
    const started = performance.now();
    await signInWithGithub();
    await page.waitForURL(`${h.gateway.origin}/login-link?**`);
    const offered = await page
      .locator('button[name="candidate"]')
      .evaluateAll((buttons) => buttons.map((b) => (b as HTMLButtonElement).value));
    expect(offered).toEqual([dana]);
    expect(await page.locator('main').innerText()).toContain('d***@example.com');
    expect(await page.locator('main').innerText()).not.toContain('dana@example.com');
    mkdirSync('docs', { recursive: true });
    await page.screenshot({ path: 'docs/login-link.png', fullPage: true });
    await page.click(`button[name="candidate"][value="${dana}"]`);
    // The tenant's password form, for the chosen account.
    await page.waitForURL(`${h.emulator.origin}/authorize?**`);
    expect(await page.inputValue('input[name="username"]')).toBe('');
    await page.fill('input[name="username"]', 'dana@example.com');
    await page.fill('input[name="password"]', DEMO.passwords.dana);
    await page.click('button[type="submit"]');
    expect(await landedAs()).toBe(dana);
    const tookMs = Math.round(performance.now() - started);
    expect(identitiesInTenant(h.emulator, dana)).toEqual([dana, danaGithub]);
    expect(identitiesInTenant(h.emulator, danaGithub)).toBeNull();
    // Measured for the report; never asserted.
    console.log(`login-link browser flow: ${tookMs} ms`);
  });

  it('"Not now": the login finishes as the GitHub account, nothing linked', async () => {
    await signInWithGithub();
    await page.click('button[name="decision"][value="skip"]');
    expect(await landedAs()).toBe(danaGithub);
    expect(identitiesInTenant(h.emulator, danaGithub)).toEqual([danaGithub]);
  });

  it('"Don\'t ask again": recorded on the user, and the next login is not redirected', async () => {
    await signInWithGithub();
    await page.click('button[name="decision"][value="never"]');
    expect(await landedAs()).toBe(danaGithub);
    const declined = (h.emulator.tenant.getUser(danaGithub)?.app_metadata as Record<string, unknown>)
      .account_linking as { declined: string[] };
    expect(declined.declined).toEqual([dana]);
    visited = [];
    // A new login, not the tenant's session: the Action runs again for it.
    await session.context.clearCookies();
    await signInWithGithub();
    expect(await landedAs()).toBe(danaGithub);
    expect(sawLinkPage()).toBe(false);
  });

  it('no candidate, the service down, or the check timing out: no redirect, the login finishes', async () => {
    await page.goto(`${app.origin}/login?connection=Username-Password-Authentication`);
    await page.fill('input[name="username"]', 'carol@example.com');
    await page.fill('input[name="password"]', DEMO.passwords.carol);
    await page.click('button[type="submit"]');
    expect(await landedAs()).toBe(carol);

    // Down: nothing listens where the Action looks for the service.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const downUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((resolve) => closed.close(resolve));
    deploy(downUrl);
    await session.context.clearCookies();
    await signInWithGithub();
    expect(await landedAs()).toBe(danaGithub);

    // Hanging: a service that accepts and never answers, cut by the Action's timeout.
    const hanging = createServer(() => undefined);
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    deploy(`http://127.0.0.1:${(hanging.address() as AddressInfo).port}`, [
      { name: 'CHECK_TIMEOUT_MS', value: '300' },
    ]);
    await session.context.clearCookies();
    await signInWithGithub();
    expect(await landedAs()).toBe(danaGithub);
    hanging.closeAllConnections();
    await new Promise((resolve) => hanging.close(resolve));
    expect(sawLinkPage()).toBe(false);
    expect(identitiesInTenant(h.emulator, danaGithub)).toEqual([danaGithub]);
  });
});
