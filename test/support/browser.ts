// Chromium for browser tests (Debian's package driven by playwright-core): every request that
// would leave loopback is aborted and counted, and any console error or page error fails the
// test unless the test said it expects it.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { isLoopbackHost } from './network-guard.js';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// From STACK.md: no sandbox in containers, and nothing that phones home on its own.
const LAUNCH_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-dev-shm-usage',
];

export interface BrowserSession {
  browser: Browser;
  context: BrowserContext;
  /** URLs of requests that tried to leave loopback (all aborted); tests assert it is empty. */
  offLoopbackRequests: string[];
  /** Console errors and page errors not matched by `expectConsoleError`. */
  problems: string[];
  /** Console errors matching `pattern` are expected (and recorded in `expectedErrors`). */
  expectConsoleError(pattern: RegExp): void;
  expectedErrors: string[];
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<BrowserSession> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}: install it with \`sudo apt-get install -y chromium\` (npm test does it where it can) or set CHROMIUM_PATH`,
    );
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: LAUNCH_ARGS });
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const offLoopbackRequests: string[] = [];
  const problems: string[] = [];
  const expectedErrors: string[] = [];
  const expected: RegExp[] = [];

  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (isLoopbackHost(url.hostname)) return route.continue();
    offLoopbackRequests.push(url.href);
    return route.abort('blockedbyclient');
  });
  const watch = (page: Page) => {
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      const text = `${page.url()}: ${message.text()}`;
      if (expected.some((pattern) => pattern.test(message.text()))) expectedErrors.push(text);
      else problems.push(`console error: ${text}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${page.url()}: ${error.message}`));
  };
  // Popups (loginWithPopup) are pages of the same context: watched the same way.
  context.on('page', watch);

  return {
    browser,
    context,
    offLoopbackRequests,
    problems,
    expectedErrors,
    expectConsoleError: (pattern) => expected.push(pattern),
    newPage: () => context.newPage(),
    close: () => browser.close(),
  };
}
