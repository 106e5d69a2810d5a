import { jest } from '@jest/globals';
import { DEMO } from '../../src/auth0-emulator/index.js';
import { launchBrowser, type BrowserSession } from '../support/browser.js';
import { demoTokens, startHarness, type Harness } from '../support/harness.js';

jest.setTimeout(60_000);

describe('GraphiQL in Chromium', () => {
  let h: Harness;
  let browser: BrowserSession;

  beforeAll(async () => {
    h = await startHarness({ env: { GRAPHIQL: 'true' } });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it('loads offline and runs `me` with the token set in its headers editor', async () => {
    const page = await browser.newPage();
    page.setDefaultTimeout(10_000);
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], {
      origin: h.gateway.origin,
    });
    await page.goto(h.url);
    await page.getByRole('tab', { name: /LinkJwtMode/ }).waitFor();

    const { alice } = await demoTokens(h.emulator);
    // The headers editor (open by default) is a Monaco editor: paste the JSON as a user would
    // (typing it would trigger Monaco's auto-closing brackets and quotes).
    await page
      .locator('section.graphiql-editor-tool[aria-label="Headers"] .graphiql-editor:not(.hidden)')
      .click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.evaluate(
      (text) => navigator.clipboard.writeText(text),
      JSON.stringify({ authorization: `Bearer ${alice}` }),
    );
    await page.keyboard.press('ControlOrMeta+V');

    await page.locator('.graphiql-execute-button').click();
    const result = page.locator('.result-window');
    await result.getByText(DEMO.users.alice).first().waitFor();
    expect(await result.innerText()).toContain('alice@example.com');

    // The gateway read Alice at the tenant with its service token to answer.
    expect(h.emulator.journal.count('get-user')).toBeGreaterThanOrEqual(1);
    expect(browser.offLoopbackRequests).toEqual([]);
    expect(browser.problems).toEqual([]);
  });
});
