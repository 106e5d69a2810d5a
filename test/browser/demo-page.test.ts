import { jest } from '@jest/globals';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { DEMO } from '../../src/auth0-emulator/index.js';
import { launchBrowser, type BrowserSession } from '../support/browser.js';
import {
  killAllMain,
  printedUrls,
  runMain,
  waitForOutput,
  type MainProcess,
} from '../support/main-process.js';

jest.setTimeout(90_000);

const DOCS = 'docs';

/** Full-page screenshot into docs/; the tenant's origin (a random port) is masked so reruns match. */
async function screenshot(page: Page, name: string) {
  mkdirSync(DOCS, { recursive: true });
  await page.screenshot({
    path: `${DOCS}/${name}.png`,
    fullPage: true,
    mask: [page.locator('#tenant')],
    maskColor: '#e9ecef',
  });
}

const identityRows = (page: Page) =>
  page
    .locator('#identities tbody tr')
    .evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.identityId));

/** Polls the page (bounded by the page timeout) until it shows `count` identities, signed in. */
async function waitForIdentities(page: Page, count: number) {
  // document.body is null for a moment while the page comes back from the login form.
  await page.waitForFunction(
    (n) =>
      document.body?.dataset.state === 'signed-in' &&
      document.querySelectorAll('#identities tbody tr').length === n,
    count,
  );
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

/** Signs in to the second account in the popup the page opens for `connection`. */
async function linkThroughPopup(page: Page, connection: string, signIn: (popup: Page) => Promise<void>) {
  await page.selectOption('#connection', connection);
  const [popup] = await Promise.all([page.waitForEvent('popup'), page.click('#link')]);
  await signIn(popup);
}

describe('the demo page on the embedded tenant (npm start), in Chromium', () => {
  let gateway: MainProcess;
  let urls: ReturnType<typeof printedUrls>;
  let browser: BrowserSession;

  beforeAll(async () => {
    // With the project's trusted documents manifest: the page sends document ids only.
    gateway = runMain({
      PORT: '0',
      TRUSTED_DOCUMENTS: resolve('examples/generated/persisted-documents.json'),
    });
    urls = printedUrls(await waitForOutput(gateway, /^Demo page: \S+$/m));
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    killAllMain();
  });

  it('signs in, links the demo Google account through a popup, unlinks it, and explains a refusal', async () => {
    expect(urls.demoPage).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await browser.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(urls.demoPage!);
    await page.locator('#sign-in').waitFor();
    await screenshot(page, 'demo-signed-out');

    // Sign in: the SDK redirects to the tenant's login form and back with a code (PKCE).
    await page.click('#sign-in');
    await page.fill('input[name="username"]', 'alice@example.com');
    await page.fill('input[name="password"]', DEMO.passwords.alice);
    await page.click('button[type="submit"]');
    await waitForIdentities(page, 1);
    expect(await page.locator('#user-id').innerText()).toBe(DEMO.users.alice);
    expect(await identityRows(page)).toEqual([DEMO.users.alice]);
    await screenshot(page, 'demo-signed-in');

    // Tokens live in memory only: nothing a script injected into the page could read from storage.
    expect(await storedJwts(page)).toEqual([]);
    // A reload signs in again silently, through the tenant's session (prompt=none).
    await page.reload();
    await waitForIdentities(page, 1);
    expect(await page.locator('#user-id').innerText()).toBe(DEMO.users.alice);
    expect(await storedJwts(page)).toEqual([]);

    // Link: a popup signs in to the Google account ("continue as"); its ID token is linkWith.
    await linkThroughPopup(page, 'google-oauth2', (popup) =>
      popup.click(`button[data-user-id="${DEMO.users.aliceGoogle}"]`),
    );
    await waitForIdentities(page, 2);
    expect(await identityRows(page)).toEqual([DEMO.users.alice, DEMO.users.aliceGoogle]);
    // Still Alice: the popup's session did not replace the primary's.
    expect(await page.locator('#user-id').innerText()).toBe(DEMO.users.alice);
    await screenshot(page, 'demo-linked');

    // Unlink the Google identity: back to one.
    await page.click(`tr[data-identity-id="${DEMO.users.aliceGoogle}"] button.unlink`);
    await waitForIdentities(page, 1);
    expect(await identityRows(page)).toEqual([DEMO.users.alice]);
    await screenshot(page, 'demo-unlinked');

    // A refusal, explained: linking Alice's own database account into herself.
    await linkThroughPopup(page, 'Username-Password-Authentication', async (popup) => {
      await popup.fill('input[name="username"]', 'alice@example.com');
      await popup.fill('input[name="password"]', DEMO.passwords.alice);
      await popup.click('button[type="submit"]');
    });
    await page.locator('#problem:not([hidden])').waitFor();
    expect(await page.locator('#problem-code').innerText()).toBe('BAD_USER_INPUT');
    expect(await page.locator('#problem-reason').innerText()).toBe('SAME_ACCOUNT');
    expect(await page.locator('#problem-explanation').innerText()).toMatch(/signed-in account itself/);
    await waitForIdentities(page, 1);
    await screenshot(page, 'demo-refused');

    // The log shows every request and response, newest first, with no token in it.
    const titles = await page.locator('#log .log-title').allInnerTexts();
    expect(titles.reverse()).toEqual([
      // After the reload: the log starts again.
      '→ POST /graphql · Me',
      '← 200 · Me',
      '→ POST /graphql · Link',
      '← 200 · Link',
      '→ POST /graphql · Unlink',
      '← 200 · Unlink',
      '→ POST /graphql · Link',
      '← 200 · Link',
    ]);
    const logText = await page.locator('#log').innerText();
    expect(logText).toContain('Bearer <JWT elided>');
    expect(logText).toMatch(/"documentId": "sha256:[0-9a-f]{64}"/);
    expect(logText).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);

    expect(await storedJwts(page)).toEqual([]);
    expect(browser.offLoopbackRequests).toEqual([]);
    expect(browser.problems).toEqual([]);
  });
});
