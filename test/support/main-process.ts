// The built entry point run as `npm start` runs it, for tests of the real process.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loopbackOnlyEnv } from './network-guard.js';

const MAIN = resolve('dist/src/main.js');

export interface MainProcess {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

const running = new Set<MainProcess>();

/**
 * Starts `node dist/src/main.js` with only `env` (plus PATH, quiet logs, no minimum drain time and
 * the tests' network guard), in an empty working directory that is removed once it exits.
 */
export function runMain(env: Record<string, string>): MainProcess {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
  // A working directory of its own, so a developer's .env is not read.
  const cwd = mkdtempSync(join(tmpdir(), 'gateway-main-'));
  const child = spawn(process.execPath, [MAIN], {
    cwd,
    env: loopbackOnlyEnv({
      PATH: process.env.PATH ?? '',
      APOLLO_TELEMETRY_DISABLED: 'true',
      LOG_LEVEL: 'warn',
      SHUTDOWN_MIN_DRAIN_MS: '0',
      ...env,
    }),
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((done) =>
    child.on('exit', (code) => {
      rmSync(cwd, { recursive: true, force: true });
      done(code);
    }),
  );
  const r = { child, stdout: () => out, stderr: () => err, exited };
  running.add(r);
  exited.then(() => running.delete(r));
  return r;
}

/** Kills every process still running (afterEach): a failed assertion must not leave one behind. */
export function killAllMain(): void {
  for (const r of running) r.child.kill('SIGKILL');
  running.clear();
}

/** Resolves once stdout matches `marker` (the process prints it when ready). */
export function waitForOutput(r: MainProcess, marker: RegExp): Promise<string> {
  return new Promise((done, fail) => {
    const check = () => {
      if (marker.test(r.stdout())) {
        r.child.stdout.off('data', check);
        done(r.stdout());
      }
    };
    r.child.stdout.on('data', check);
    r.exited.then((code) => fail(new Error(`exited with ${code}: ${r.stderr()}`)));
    check();
  });
}

/** The URLs `npm start` prints (GraphQL, demo page, IDE, Auth0 origin). */
export function printedUrls(output: string) {
  const find = (label: string) => new RegExp(`^${label}: (\\S+)`, 'm').exec(output)?.[1];
  return {
    graphql: find('GraphQL'),
    demoPage: find('Demo page'),
    ide: find('GraphQL IDE'),
    auth0: find('Auth0'),
  };
}
