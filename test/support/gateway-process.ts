// The gateway as operators run it: `node dist/src/main.js` in a child process (`npm test` builds
// first), against an emulator, on a free port of 127.0.0.1, behind the tests' network guard.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEMO } from '../../src/auth0-emulator/index.js';
import { loopbackOnlyEnv } from './network-guard.js';
import type { GatewayOptions } from '../../src/gateway.js';

const MAIN = resolve('dist/src/main.js');

/**
 * The built gateway started as main.ts starts it (config from the environment, the drain on
 * SIGTERM), with `startGateway` options that have no environment variable (a test's short
 * reconciliation delays): passed as JSON in argv.
 */
const ENTRY_WITH_OPTIONS = `
const file = (path) => ${JSON.stringify(pathToFileURL(resolve('.')).href)} + '/' + path;
await import(file('node_modules/reflect-metadata/Reflect.js'));
const { loadConfig } = await import(file('dist/src/config.js'));
const { startGateway } = await import(file('dist/src/gateway.js'));
const config = loadConfig(process.env);
const gateway = await startGateway(config, JSON.parse(process.argv[1]));
console.log('GraphQL: ' + gateway.url);
process.on('SIGTERM', () =>
  gateway.drain({ timeoutMs: config.shutdownTimeoutMs, minDrainMs: config.shutdownMinDrainMs }).then(() => process.exit(0)),
);
`;
const READY_TIMEOUT_MS = 20_000;

/** What `/readyz` answered. */
export interface Readiness {
  status: number;
  headers: Headers;
  body: { status: string; checks: Record<string, boolean> };
}

export interface GatewayProcess {
  /** `http://127.0.0.1:PORT/graphql` */
  readonly url: string;
  readonly origin: string;
  /** Everything it wrote on stdout and stderr so far (JSON log lines and the start-up banner). */
  output(): string;
  /** Parsed JSON log lines so far (complete lines of stdout only). */
  logLines(): Record<string, unknown>[];
  readyz(): Promise<Readiness>;
  /** Is the process still running? */
  running(): boolean;
  stop(): Promise<void>;
  /** Sends `signal` (`SIGKILL`: a crash, no drain) and resolves once the process has exited. */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** Sends a signal without waiting (a drain test watches what happens meanwhile). */
  signal(name: NodeJS.Signals): void;
  /** Resolves with the exit code once the process has exited (`null` when a signal ended it). */
  readonly exited: Promise<number | null>;
}

/**
 * Collects text that arrives in chunks and hands out its complete lines only: a line cut across
 * two chunks is parsed once its end has come.
 */
export class JsonLines {
  private text = '';
  private readonly parsed: Record<string, unknown>[] = [];

  push(chunk: string): void {
    this.text += chunk;
    const end = this.text.lastIndexOf('\n');
    if (end === -1) return;
    const complete = this.text.slice(0, end);
    this.text = this.text.slice(end + 1);
    for (const line of complete.split('\n')) {
      if (line.startsWith('{')) this.parsed.push(JSON.parse(line) as Record<string, unknown>);
    }
  }

  lines(): Record<string, unknown>[] {
    return [...this.parsed];
  }
}

/**
 * Defaults of every gateway process a test starts: quiet logs, and no minimum drain time, so that
 * stopping one at the end of a suite costs nothing (test/e2e/drain.test.ts sets its own).
 */
const PROCESS_DEFAULTS = { LOG_LEVEL: 'warn', SHUTDOWN_MIN_DRAIN_MS: '0' };

/** Starts one gateway process and resolves once its `/readyz` answers 200. */
export async function startGatewayProcess(
  emulatorOrigin: string,
  env: Record<string, string> = {},
  gatewayOptions?: Omit<GatewayOptions, 'logger'>,
): Promise<GatewayProcess> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
  // A working directory of its own, so a developer's .env is not read; removed once it exits.
  const cwd = mkdtempSync(join(tmpdir(), 'gateway-replica-'));
  const args = gatewayOptions
    ? ['--input-type=module', '-e', ENTRY_WITH_OPTIONS, JSON.stringify(gatewayOptions)]
    : [MAIN];
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, args, {
    cwd,
    env: loopbackOnlyEnv({
      PATH: process.env.PATH ?? '',
      APOLLO_TELEMETRY_DISABLED: 'true',
      AUTH0_DOMAIN: emulatorOrigin,
      AUTH0_CLIENT_ID: DEMO.serviceClientId,
      AUTH0_CLIENT_SECRET: DEMO.serviceClientSecret,
      PORT: '0',
      ...PROCESS_DEFAULTS,
      ...env,
    }),
  });
  let output = '';
  const logs = new JsonLines();
  child.stdout.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    output += text;
    logs.push(text);
  });
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<number | null>((done) =>
    child.once('exit', (code) => {
      rmSync(cwd, { recursive: true, force: true });
      done(code);
    }),
  );

  const url = await new Promise<string>((done, fail) => {
    const check = () => {
      const match = /GraphQL: (http:\/\/\S+\/graphql)/.exec(output);
      if (match) {
        child.stdout.off('data', check);
        done(match[1]);
      }
    };
    child.stdout.on('data', check);
    void exited.then(() => fail(new Error(`gateway exited before listening:\n${output}`)));
  });
  const origin = url.replace(/\/graphql$/, '');
  const running = () => child.exitCode === null && child.signalCode === null;

  const gateway: GatewayProcess = {
    url,
    origin,
    output: () => output,
    logLines: () => logs.lines(),
    async readyz() {
      const response = await fetch(`${origin}/readyz`);
      return {
        status: response.status,
        headers: response.headers,
        body: (await response.json()) as Readiness['body'],
      };
    },
    running,
    async stop() {
      if (!running()) return;
      child.kill('SIGTERM');
      await exited;
    },
    async kill(signal) {
      if (!running()) return;
      child.kill(signal);
      await exited;
    },
    signal(name) {
      child.kill(name);
    },
    exited,
  };
  await waitFor(async () => (await gateway.readyz()).status === 200, READY_TIMEOUT_MS, 'gateway ready');
  return gateway;
}

/**
 * Polls a real state (an HTTP answer, a process's readiness) until `condition` holds: for states
 * that raise no event the test could wait on. Fails after `timeoutMs`.
 */
export async function waitFor(condition: () => Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
