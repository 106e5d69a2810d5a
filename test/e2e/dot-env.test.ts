// The real entry point reads ./.env; variables already set in the environment win.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const MAIN = resolve('dist/src/main.js');

describe('.env loading (dist/src/main.js)', () => {
  let dir: string;
  beforeAll(() => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
    dir = mkdtempSync(join(tmpdir(), 'dot-env-'));
    // Two invalid values: start-up stops at the first invalid variable and names it.
    writeFileSync(join(dir, '.env'), 'AUTH0_TIMEOUT_MS=from-dotenv\nAUTH0_MAX_WAIT_MS=from-dotenv\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs the gateway in the folder of the .env; it exits at once on a configuration error. */
  const start = (env: Record<string, string>) =>
    spawnSync(process.execPath, [MAIN], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 20_000,
      env: {
        PATH: process.env.PATH ?? '',
        APOLLO_TELEMETRY_DISABLED: 'true',
        // Set, so that no embedded emulator starts; nothing is ever sent there.
        AUTH0_DOMAIN: 'http://127.0.0.1:1',
        AUTH0_CLIENT_ID: 'cid',
        AUTH0_CLIENT_SECRET: 'shh',
        ...env,
      },
    });

  it('reads the variables of ./.env', () => {
    const run = start({});
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^auth0-link-gateway: AUTH0_TIMEOUT_MS: /m);
  });

  it('lets a variable already set win over .env', () => {
    const run = start({ AUTH0_TIMEOUT_MS: '5000' });
    expect(run.status).toBe(1);
    // AUTH0_TIMEOUT_MS came from the environment and was valid; the next one still came from .env.
    expect(run.stderr).not.toContain('AUTH0_TIMEOUT_MS');
    expect(run.stderr).toMatch(/^auth0-link-gateway: AUTH0_MAX_WAIT_MS: /m);
  });
});
