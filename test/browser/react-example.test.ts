// The React reference app (examples/react), built as a user builds it (npm ci, codegen, tsc, vite
// build), served from a tiny loopback server that also forwards /graphql and /demo/config.json to
// a real gateway process (what `npm run dev` does), driven in Chromium against the emulator.
import { jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { DEMO, startAuth0Emulator, type Auth0Emulator } from '../../src/auth0-emulator/index.js';
import { launchBrowser, type BrowserSession } from '../support/browser.js';
import { killAllMain, printedUrls, runMain, waitForOutput } from '../support/main-process.js';

jest.setTimeout(120_000);

const APP = resolve('examples/react');
const DIST = join(APP, 'dist');
const MANIFEST = join(APP, 'src/gql/persisted-documents.json');
// Beside node_modules/.package-lock.json (npm's own record): the lock this install was made from.
const INSTALLED_LOCK = join(APP, 'node_modules/.installed-lock-sha256');
const run = promisify(execFile);

/** `npm ci` in the example unless its node_modules was installed from this very lock. */
async function installExample() {
  const lockHash = createHash('sha256')
    .update(readFileSync(join(APP, 'package-lock.json')))
    .digest('hex');
  if (existsSync(INSTALLED_LOCK) && readFileSync(INSTALLED_LOCK, 'utf8') === lockHash) return;
  await run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: APP });
  writeFileSync(INSTALLED_LOCK, lockHash);
}

/** Total gzipped size of the build's JavaScript, in bytes. */
function gzippedJavaScript(): number {
  const assets = join(DIST, 'assets');
  return readdirSync(assets)
    .filter((file) => file.endsWith('.js'))
    .reduce((sum, file) => sum + gzipSync(readFileSync(join(assets, file))).length, 0);
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

interface Frontend {
  origin: string;
  server: Server;
  /** Bodies of the GraphQL requests the app sent, as parsed JSON. */
  graphqlBodies: Array<Record<string, unknown>>;
}

/** Serves dist/ (index.html for any other path) and forwards the gateway's two paths to it. */
async function startFrontend(gatewayOrigin: string): Promise<Frontend> {
  const graphqlBodies: Array<Record<string, unknown>> = [];
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/graphql' || path === '/demo/config.json') {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        if (path === '/graphql' && req.method === 'POST') graphqlBodies.push(JSON.parse(body.toString()));
        const upstream = httpRequest(
          `${gatewayOrigin}${req.url}`,
          { method: req.method, headers: { ...req.headers, host: new URL(gatewayOrigin).host } },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        upstream.on('error', () => res.writeHead(502).end());
        upstream.end(body);
      });
      return;
    }
    const file = join(DIST, path);
    const asset = path.startsWith('/assets/') && existsSync(file) ? file : join(DIST, 'index.html');
    res.writeHead(200, { 'content-type': TYPES[extname(asset)] ?? 'application/octet-stream' });
    res.end(readFileSync(asset));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, graphqlBodies };
}

/** Starts `npm start`'s process against `emulator`, its demo settings on (the app reads them). */
async function startGateway(emulator: Auth0Emulator, env: Record<string, string> = {}) {
  const gateway = runMain({
    PORT: '0',
    AUTH0_DOMAIN: emulator.origin,
    AUTH0_CLIENT_ID: DEMO.serviceClientId,
    AUTH0_CLIENT_SECRET: DEMO.serviceClientSecret,
    DEMO_PAGE: 'true',
    ...env,
  });
  const urls = printedUrls(await waitForOutput(gateway, /^Demo page: \S+$/m));
  return new URL(urls.graphql!).origin;
}

const identities = (page: Page) =>
  page
    .locator('[data-identity-id]')
    .evaluateAll((items) => items.map((i) => i.getAttribute('data-identity-id')));
/** Bounded poll (the page's timeout) until the app shows exactly `ids`, signed in. */
async function waitForIdentities(page: Page, ids: string[]) {
  await page.waitForFunction(
    (expected) =>
      document.querySelector('main')?.dataset.state === 'signed-in' &&
      JSON.stringify(
        [...document.querySelectorAll('[data-identity-id]')].map((i) => i.getAttribute('data-identity-id')),
      ) === JSON.stringify(expected),
    ids,
  );
}

async function waitForLinkConnections(page: Page, connections: string[]) {
  await page.waitForFunction(
    (expected) =>
      JSON.stringify(
        [...document.querySelectorAll('[data-link-connection]')]
          .map((b) => b.getAttribute('data-link-connection'))
          .sort(),
      ) === JSON.stringify(expected),
    connections,
  );
}

async function signInAsAlice(page: Page, origin: string) {
  await page.goto(`${origin}/`);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.fill('input[name="username"]', 'alice@example.com');
  await page.fill('input[name="password"]', DEMO.passwords.alice);
  await page.click('button[type="submit"]');
  await waitForIdentities(page, [DEMO.users.alice]);
}

/** Clicks the candidate's link button and signs in to it in the popup ("continue as"). */
async function linkByPopup(page: Page, connection: string, userId: string) {
  const [popup] = await Promise.all([
    page.waitForEvent('popup'),
    page.click(`[data-link-connection="${connection}"]`),
  ]);
  await popup.click(`button[data-user-id="${userId}"]`);
}

/** Every JWT-looking value in the page's localStorage and sessionStorage. */
const storedJwts = (page: Page) =>
  page.evaluate(() =>
    [localStorage, sessionStorage].flatMap((storage) =>
      Object.keys(storage)
        .map((key) => `${key}=${storage.getItem(key)}`)
        .filter((entry) => /eyJ[\w-]+\.[\w-]+\./.test(entry)),
    ),
  );

const alert = (page: Page) => page.getByRole('alert');

describe('the React example (examples/react) on real gateway processes, in Chromium', () => {
  let plainEmulator: Auth0Emulator;
  let trustedEmulator: Auth0Emulator;
  let plain: Frontend;
  let trusted: Frontend;
  let jsGzipBytes: number;

  beforeAll(async () => {
    // The build and the first gateway's start overlap; the second gateway needs the build's manifest.
    [plainEmulator, trustedEmulator] = await Promise.all([
      startAuth0Emulator({ port: 0 }),
      startAuth0Emulator({ port: 0 }),
    ]);
    const [, plainGateway] = await Promise.all([
      // NODE_ENV is `test` under jest: React's development build would be measured instead.
      installExample().then(() =>
        run('npm', ['run', 'build', '--silent'], {
          cwd: APP,
          env: { ...process.env, NODE_ENV: 'production' },
        }),
      ),
      startGateway(plainEmulator),
    ]);
    // A listed-documents gateway with a tiny per-caller budget: two link/unlink attempts a minute.
    const trustedGateway = await startGateway(trustedEmulator, {
      TRUSTED_DOCUMENTS: MANIFEST,
      CALLER_RATE_LIMIT: '2/60',
    });
    [plain, trusted] = await Promise.all([startFrontend(plainGateway), startFrontend(trustedGateway)]);
    jsGzipBytes = gzippedJavaScript();
    console.log(
      `examples/react production build: ${(jsGzipBytes / 1024).toFixed(1)} kB of gzipped JavaScript`,
    );
  });
  afterAll(async () => {
    killAllMain();
    for (const f of [plain, trusted]) {
      if (!f) continue;
      f.server.closeAllConnections();
      await new Promise((done) => f.server.close(done));
    }
    await Promise.all([plainEmulator?.close(), trustedEmulator?.close()]);
  });

  it('builds to less than 250 kB of gzipped JavaScript, with a manifest of its documents', () => {
    expect(jsGzipBytes).toBeLessThan(250 * 1024);
    const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8')) as Record<string, string>;
    expect(
      Object.values(manifest)
        .map((d) => /^(?:query|mutation) (\w+)/.exec(d)?.[1])
        .sort(),
    ).toEqual(['LinkAccount', 'LinkCandidates', 'Me', 'UnlinkAccount']);
  });

  describe('against the gateway without a document list', () => {
    let browser: BrowserSession;
    let page: Page;
    beforeAll(async () => {
      browser = await launchBrowser();
      page = await browser.newPage();
      page.setDefaultTimeout(15_000);
    });
    afterAll(() => browser?.close());

    it('signs in, links by popup, unlinks, explains errors, and links by redirect when the popup is blocked or closed', async () => {
      await signInAsAlice(page, plain.origin);
      await waitForLinkConnections(page, ['github', 'google-oauth2']);
      expect(await page.locator('[data-user-id]').getAttribute('data-user-id')).toBe(DEMO.users.alice);

      // Link by popup: the new identity appears without a reload, and the candidate is gone.
      await linkByPopup(page, 'google-oauth2', DEMO.users.aliceGoogle);
      await waitForIdentities(page, [DEMO.users.alice, DEMO.users.aliceGoogle]);
      await waitForLinkConnections(page, ['github']);
      expect(plainEmulator.journal.entries({ route: 'link' }).map((e) => e.status)).toEqual([201]);
      await page.screenshot({ path: 'docs/react-example.png', fullPage: true });

      // UNAUTHENTICATED: the gateway gets a token it cannot verify; the app offers to sign in again.
      await page.route('**/graphql', (route) =>
        route.continue({ headers: { ...route.request().headers(), authorization: 'Bearer not-a-token' } }),
      );
      await page
        .locator(`[data-identity-id="${DEMO.users.aliceGoogle}"]`)
        .getByRole('button', { name: 'Unlink' })
        .click();
      await alert(page).waitFor();
      expect(await alert(page).getAttribute('data-code')).toBe('UNAUTHENTICATED');
      expect(await alert(page).getAttribute('data-action')).toBe('sign-in');
      await alert(page).getByRole('button', { name: 'Sign in again' }).waitFor();
      await page.unroute('**/graphql');
      expect(plainEmulator.journal.entries({ route: 'unlink' })).toEqual([]);

      // Unlink: back to one identity, and the Google account is a candidate again.
      await page
        .locator(`[data-identity-id="${DEMO.users.aliceGoogle}"]`)
        .getByRole('button', { name: 'Unlink' })
        .click();
      await waitForIdentities(page, [DEMO.users.alice]);
      await waitForLinkConnections(page, ['github', 'google-oauth2']);
      expect(await alert(page).count()).toBe(0);

      // ALREADY_LINKED (Auth0's 409): shown with nothing for the user to do.
      plainEmulator.faults.add({
        route: 'link',
        status: 409,
        body: {
          statusCode: 409,
          error: 'Conflict',
          message: 'Identity already linked',
          errorCode: 'identity_conflict',
        },
      });
      await linkByPopup(page, 'google-oauth2', DEMO.users.aliceGoogle);
      await alert(page).waitFor();
      expect(await alert(page).getAttribute('data-code')).toBe('CONFLICT');
      expect(await alert(page).getAttribute('data-reason')).toBe('ALREADY_LINKED');
      expect(await alert(page).getAttribute('data-action')).toBe('none');
      expect(await identities(page)).toEqual([DEMO.users.alice]);

      // Popup blocked: the linking login goes by redirect, the link is made on the way back, and
      // the app is signed in as Alice again (not as the account just signed in to).
      await page.evaluate(() => {
        window.open = () => null;
      });
      await page.click('[data-link-connection="github"]');
      await page.click(`button[data-user-id="${DEMO.users.aliceGithub}"]`);
      await waitForIdentities(page, [DEMO.users.alice, DEMO.users.aliceGithub]);
      expect(await page.locator('[data-user-id]').getAttribute('data-user-id')).toBe(DEMO.users.alice);
      await waitForLinkConnections(page, ['google-oauth2']);
      expect(await alert(page).count()).toBe(0);

      // A popup closed without an answer (as COOP can make it look): the redirect takes over too.
      const [popup] = await Promise.all([
        page.waitForEvent('popup'),
        page.click('[data-link-connection="google-oauth2"]'),
      ]);
      await popup.close();
      await page.click(`button[data-user-id="${DEMO.users.aliceGoogle}"]`);
      await waitForIdentities(page, [DEMO.users.alice, DEMO.users.aliceGithub, DEMO.users.aliceGoogle]);
      expect(await page.locator('[data-user-id]').getAttribute('data-user-id')).toBe(DEMO.users.alice);
      await waitForLinkConnections(page, []);

      expect(await storedJwts(page)).toEqual([]);
      expect(browser.offLoopbackRequests).toEqual([]);
      expect(browser.problems).toEqual([]);
    });
  });

  describe('against a gateway on TRUSTED_DOCUMENTS from the build’s manifest', () => {
    let browser: BrowserSession;
    beforeAll(async () => {
      browser = await launchBrowser();
    });
    afterAll(() => browser?.close());

    it('sends document ids only, links and unlinks, and shows RATE_LIMITED with retryAfter', async () => {
      const page = await browser.newPage();
      page.setDefaultTimeout(15_000);
      await signInAsAlice(page, trusted.origin);
      await linkByPopup(page, 'google-oauth2', DEMO.users.aliceGoogle);
      await waitForIdentities(page, [DEMO.users.alice, DEMO.users.aliceGoogle]);
      await waitForLinkConnections(page, ['github']);
      await page
        .locator(`[data-identity-id="${DEMO.users.aliceGoogle}"]`)
        .getByRole('button', { name: 'Unlink' })
        .click();
      await waitForIdentities(page, [DEMO.users.alice]);

      // The third link/unlink attempt within the minute: refused before any Auth0 call.
      await waitForLinkConnections(page, ['github', 'google-oauth2']);
      await linkByPopup(page, 'google-oauth2', DEMO.users.aliceGoogle);
      await alert(page).waitFor();
      expect(await alert(page).getAttribute('data-code')).toBe('RATE_LIMITED');
      expect(await alert(page).getAttribute('data-reason')).toBe('CALLER_LIMIT');
      expect(await alert(page).getAttribute('data-action')).toBe('retry');
      const retryAfter = Number(await alert(page).getAttribute('data-retry-after'));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);
      const retry = alert(page).getByRole('button', { name: /^Try again in \d+ s$/ });
      expect(await retry.isDisabled()).toBe(true);
      expect(trustedEmulator.journal.entries({ route: 'link' })).toHaveLength(1);

      // Every request named a listed document by its id; none carried a query.
      const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8')) as Record<string, string>;
      expect(trusted.graphqlBodies.length).toBeGreaterThanOrEqual(6);
      for (const body of trusted.graphqlBodies) {
        expect(body.query).toBeUndefined();
        const hash = (body.extensions as { persistedQuery?: { sha256Hash?: string } }).persistedQuery
          ?.sha256Hash;
        expect(Object.keys(manifest)).toContain(hash);
      }

      expect(await storedJwts(page)).toEqual([]);
      expect(browser.offLoopbackRequests).toEqual([]);
      expect(browser.problems).toEqual([]);
    });
  });
});
