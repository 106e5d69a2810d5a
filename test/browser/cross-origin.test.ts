import { jest } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { DEMO } from '../../src/auth0-emulator/index.js';
import { demoPageAssets } from '../../src/frontend/browser-routes.js';
import { launchBrowser } from '../support/browser.js';
import { killAllMain, printedUrls, runMain, waitForOutput } from '../support/main-process.js';

jest.setTimeout(90_000);

const ASSETS = demoPageAssets();

/**
 * A frontend on an origin of its own: a tiny static server with the demo page's files and a
 * configuration whose GraphQL URL is the gateway's, on another origin.
 */
async function startFrontend(pageConfig: () => unknown): Promise<{ origin: string; server: Server }> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/demo/config.json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(pageConfig()));
    }
    const asset = ASSETS.get(path);
    if (!asset) {
      res.writeHead(404);
      return res.end();
    }
    res.writeHead(200, { 'content-type': asset.contentType });
    res.end(readFileSync(asset.file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

async function signInAsAlice(page: Page, origin: string) {
  await page.goto(`${origin}/`);
  await page.click('#sign-in');
  await page.fill('input[name="username"]', 'alice@example.com');
  await page.fill('input[name="password"]', DEMO.passwords.alice);
  await page.click('button[type="submit"]');
}

describe('a frontend on another origin, in Chromium', () => {
  let allowed: { origin: string; server: Server };
  let refused: { origin: string; server: Server };
  let pageConfig: Record<string, unknown>;

  beforeAll(async () => {
    // The frontends' origins must be known before the gateway starts (CORS_ORIGINS).
    allowed = await startFrontend(() => pageConfig);
    refused = await startFrontend(() => pageConfig);
    // LOGIN_LINK off: the tenant's Action would offer Alice's other accounts at sign-in (login-link tests cover it).
    const gateway = runMain({ PORT: '0', CORS_ORIGINS: allowed.origin, LOGIN_LINK: 'false' });
    const urls = printedUrls(await waitForOutput(gateway, /^Demo page: \S+$/m));
    // The gateway's own page configuration, with its absolute GraphQL URL.
    const own = (await (await fetch(`${urls.demoPage}demo/config.json`)).json()) as Record<string, unknown>;
    pageConfig = { ...own, graphqlUrl: urls.graphql };
  });
  afterAll(async () => {
    killAllMain();
    for (const f of [allowed, refused]) await new Promise((resolve) => f?.server.close(resolve));
  });

  it('links cross-origin from an origin in CORS_ORIGINS, with auth0-spa-js against the emulator', async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(15_000);
      await signInAsAlice(page, allowed.origin);
      await page.waitForFunction(() => document.querySelectorAll('#identities tbody tr').length === 1);

      await page.selectOption('#connection', 'google-oauth2');
      const [popup] = await Promise.all([page.waitForEvent('popup'), page.click('#link')]);
      await popup.click(`button[data-user-id="${DEMO.users.aliceGoogle}"]`);
      // The page previews the link (linkPreview, cross-origin too) before it links.
      await page.locator('#preview-identities tbody tr').nth(1).waitFor();
      await page.getByRole('button', { name: 'Link', exact: true }).click();
      await page.waitForFunction(() => document.querySelectorAll('#identities tbody tr').length === 2);
      expect(
        await page
          .locator('#identities tbody tr')
          .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-identity-id'))),
      ).toEqual([DEMO.users.alice, DEMO.users.aliceGoogle]);
      expect(browser.offLoopbackRequests).toEqual([]);
      expect(browser.problems).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it('is refused by the browser from an origin not in CORS_ORIGINS', async () => {
    const browser = await launchBrowser();
    browser.expectConsoleError(/has been blocked by CORS policy/);
    browser.expectConsoleError(/Failed to load resource: net::ERR_FAILED/);
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(15_000);
      // Signing in works (the tenant allows the origin); calling the gateway does not.
      await signInAsAlice(page, refused.origin);
      await page.locator('#problem:not([hidden])').waitFor();
      expect(await page.locator('#problem-message').innerText()).toMatch(/Failed to fetch/);
      expect(await page.locator('#identities tbody tr').count()).toBe(0);
      expect(browser.expectedErrors.some((e) => /blocked by CORS policy/.test(e))).toBe(true);
      expect(browser.offLoopbackRequests).toEqual([]);
      expect(browser.problems).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
