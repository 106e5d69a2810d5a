import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { DEMO } from '../../src/auth0-emulator/index.js';
import { demoTokens, startHarness, type Harness } from '../support/harness.js';
import { loopbackOnlyEnv } from '../support/network-guard.js';

// The example as a user runs it: compiled by `npm run build` (npm test builds before jest).
const EXAMPLE = resolve('dist/examples/link-accounts.js');
const run = promisify(execFile);

describe('examples/link-accounts.ts (typed Node client)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());
  beforeEach(() => h.emulator.tenant.reset());

  function runExample(env: Record<string, string>) {
    if (!existsSync(EXAMPLE)) throw new Error(`${EXAMPLE} is missing: run \`npm run build\` first`);
    return run(process.execPath, [EXAMPLE], {
      env: loopbackOnlyEnv({ PATH: process.env.PATH ?? '', ...env }),
    });
  }

  it('links the Google account in jwt mode and prints the identities', async () => {
    const tokens = await demoTokens(h.emulator);
    const { stdout } = await runExample({
      GATEWAY_URL: h.url,
      ACCESS_TOKEN: tokens.alice,
      PRIMARY_ID: DEMO.users.alice,
      LINK_WITH: tokens.aliceGoogleIdToken,
    });
    expect(JSON.parse(stdout)).toEqual([DEMO.users.alice, DEMO.users.aliceGoogle]);
    expect(h.emulator.journal.count('link')).toBe(1);
  });

  it('exits 1 with the error code when the gateway refuses', async () => {
    const tokens = await demoTokens(h.emulator);
    const failure = runExample({
      GATEWAY_URL: h.url,
      ACCESS_TOKEN: tokens.bob,
      PRIMARY_ID: DEMO.users.alice,
      LINK_WITH: tokens.aliceGoogleIdToken,
    });
    await expect(failure).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/^FORBIDDEN SUBJECT_MISMATCH: /),
    });
    expect(h.emulator.journal.count('link')).toBe(0);
  });
});
