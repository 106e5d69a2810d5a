import { jest } from '@jest/globals';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { DEMO, startAuth0Emulator, type Auth0Emulator } from '../../src/auth0-emulator/index.js';
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

/** Screenshot of one part of the page into docs/. */
async function screenshotOf(page: Page, selector: string, name: string) {
  mkdirSync(DOCS, { recursive: true });
  await page.locator(selector).screenshot({ path: `${DOCS}/${name}.png` });
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

/** Signs in as Alice on the tenant's login form the page redirects to, and waits for her identity. */
async function signInAsAlice(page: Page) {
  await page.click('#sign-in');
  await page.fill('input[name="username"]', 'alice@example.com');
  await page.fill('input[name="password"]', DEMO.passwords.alice);
  await page.click('button[type="submit"]');
  await waitForIdentities(page, 1);
}

/** The preview panel's identities after the link, each with its mark ('added' for the new one). */
const previewRows = (page: Page) =>
  page
    .locator('#preview-identities tbody tr')
    .evaluateAll((rows) =>
      rows.map((r) => [(r as HTMLElement).dataset.identityId, r.lastElementChild?.textContent ?? '']),
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
      // Alice's three demo accounts share a verified email: with linking at login on, the tenant's
      // Action would offer to link them at each sign-in. This suite is about the page's own linking.
      LOGIN_LINK: 'false',
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
    await signInAsAlice(page);
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
    // First the preview (linkPreview): nothing is linked until the user says so.
    await page.getByRole('region', { name: 'Before you link' }).waitFor();
    expect(await previewRows(page)).toEqual([
      [DEMO.users.alice, ''],
      [DEMO.users.aliceGoogle, 'added'],
    ]);
    expect(await page.locator('#preview-discarded').innerText()).toBe('user_metadata keys: from');
    expect(await identityRows(page)).toEqual([DEMO.users.alice]);
    await screenshotOf(page, '#signed-in', 'demo-preview');
    await page.getByRole('button', { name: 'Link', exact: true }).click();
    await waitForIdentities(page, 2);
    expect(await page.locator('#preview').isHidden()).toBe(true);
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
    // The preview already names the refusal, and the panel offers no Link button.
    await page.locator('#problem:not([hidden])').waitFor();
    expect(await page.locator('#preview-verdict').innerText()).toMatch(
      /^Refused: BAD_USER_INPUT SAME_ACCOUNT\./,
    );
    expect(await page.locator('#preview-link').isHidden()).toBe(true);
    expect(await page.locator('#preview dl').isHidden()).toBe(true);
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
      '→ POST /graphql · Preview',
      '← 200 · Preview',
      '→ POST /graphql · Link',
      '← 200 · Link',
      '→ POST /graphql · Unlink',
      '← 200 · Unlink',
      '→ POST /graphql · Preview',
      '← 200 · Preview',
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

describe('the demo page asks linkPreview before it links (gateway beside an emulator the test reads)', () => {
  let emulator: Auth0Emulator;
  let gateway: MainProcess;
  let urls: ReturnType<typeof printedUrls>;
  let browser: BrowserSession;

  beforeAll(async () => {
    emulator = await startAuth0Emulator({ port: 0 });
    gateway = runMain({
      PORT: '0',
      AUTH0_DOMAIN: emulator.origin,
      AUTH0_CLIENT_ID: DEMO.serviceClientId,
      AUTH0_CLIENT_SECRET: DEMO.serviceClientSecret,
      DEMO_PAGE: 'true',
    });
    urls = printedUrls(await waitForOutput(gateway, /^Demo page: \S+$/m));
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    killAllMain();
    await emulator?.close();
  });

  it('Cancel sends no link to Auth0; Link after a preview with mergeMetadata links and keeps the metadata; Undo takes the link back', async () => {
    const page = await browser.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(urls.demoPage!);
    await page.locator('#sign-in').waitFor();
    await signInAsAlice(page);
    const continueAsGoogle = (popup: Page) => popup.click(`button[data-user-id="${DEMO.users.aliceGoogle}"]`);
    const googleUserId = DEMO.users.aliceGoogle.slice('google-oauth2|'.length);

    // Without mergeMetadata: the Google account's user_metadata key is what Auth0 would discard.
    await linkThroughPopup(page, 'google-oauth2', continueAsGoogle);
    const panel = page.getByRole('region', { name: 'Before you link' });
    await panel.waitFor();
    expect(await page.locator('#preview-verdict').innerText()).toMatch(/^Allowed/);
    expect(await previewRows(page)).toEqual([
      [DEMO.users.alice, ''],
      [DEMO.users.aliceGoogle, 'added'],
    ]);
    expect(await page.locator('#preview-kept').innerText()).toBe(
      'its identity only (mergeMetadata not asked)',
    );
    expect(await page.locator('#preview-discarded').innerText()).toBe('user_metadata keys: from');
    await page.getByRole('button', { name: 'Cancel' }).click();
    await panel.waitFor({ state: 'hidden' });
    expect(await page.locator('#log .log-title').first().innerText()).toBe(
      'Link cancelled: nothing was sent to linkAccounts',
    );
    // The preview read both users and wrote nothing: no link, no metadata PATCH reached the tenant.
    expect(emulator.journal.entries({ route: 'link' })).toEqual([]);
    expect(emulator.journal.entries({ method: 'PATCH' })).toEqual([]);
    expect(emulator.tenant.getUser(DEMO.users.aliceGoogle)).toBeDefined();
    expect(await identityRows(page)).toEqual([DEMO.users.alice]);

    // With mergeMetadata: the key is kept, nothing is discarded; Link makes exactly one link call.
    await page.check('#merge-metadata');
    await linkThroughPopup(page, 'google-oauth2', continueAsGoogle);
    await panel.waitFor();
    expect(await page.locator('#preview-kept').innerText()).toBe('user_metadata keys: from');
    expect(await page.locator('#preview-discarded').innerText()).toBe('user_metadata keys: none');
    expect(emulator.journal.entries({ route: 'link' })).toEqual([]);
    await page.getByRole('button', { name: 'Link', exact: true }).click();
    await waitForIdentities(page, 2);
    expect(await identityRows(page)).toEqual([DEMO.users.alice, DEMO.users.aliceGoogle]);
    const links = emulator.journal.entries({ route: 'link' });
    expect(links).toHaveLength(1);
    expect(links[0]!.status).toBe(201);
    expect(emulator.tenant.getUser(DEMO.users.alice)?.user_metadata).toEqual({
      theme: 'dark',
      from: 'google',
    });
    expect(emulator.tenant.getUser(DEMO.users.aliceGoogle)).toBeUndefined();

    // Undo, offered beside the link just made: the Google account is a separate user again, with
    // its metadata, and the key the link merged into Alice is gone from her.
    const undo = page.getByRole('region', { name: `Linked google-oauth2 ${googleUserId}.` });
    await undo.waitFor();
    await undo.getByRole('button', { name: 'Undo' }).click();
    await waitForIdentities(page, 1);
    expect(await identityRows(page)).toEqual([DEMO.users.alice]);
    expect(await page.locator('#undo').isHidden()).toBe(true);
    expect(await page.locator('#problem').isHidden()).toBe(true);
    expect(emulator.journal.entries({ route: 'unlink' })).toHaveLength(1);
    expect(emulator.tenant.getUser(DEMO.users.aliceGoogle)).toMatchObject({
      user_id: DEMO.users.aliceGoogle,
      identities: [{ provider: 'google-oauth2', user_id: googleUserId }],
      user_metadata: { from: 'google' },
    });
    expect(emulator.tenant.getUser(DEMO.users.alice)?.identities).toHaveLength(1);
    expect(emulator.tenant.getUser(DEMO.users.alice)?.user_metadata).toEqual({ theme: 'dark' });
    expect(await page.locator('#log .log-title').first().innerText()).toBe('← 200 · UndoLink');

    expect(browser.offLoopbackRequests).toEqual([]);
    expect(browser.problems).toEqual([]);
  });
});
