// The gateway as operators run it: `node dist/src/main.js` in a child process (`npm test` builds
// first), against an emulator, on a free port of 127.0.0.1.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEMO } from '../../src/auth0-emulator/index.js';
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
process.on('SIGTERM', () => gateway.drain(config.shutdownTimeoutMs).then(() => process.exit(0)));
`;
const READY_TIMEOUT_MS = 20_000;

export interface GatewayProcess {
  /** `http://127.0.0.1:PORT/graphql` */
  readonly url: string;
  readonly origin: string;
  /** Everything it wrote on stdout and stderr so far (JSON log lines and the start-up banner). */
  output(): string;
  /** Parsed JSON log lines so far. */
  logLines(): Record<string, unknown>[];
  readyz(): Promise<{ status: number; body: { checks: Record<string, boolean> } }>;
  stop(): Promise<void>;
  /** Sends `signal` (`SIGKILL`: a crash, no drain) and resolves once the process has exited. */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** Sends a signal without waiting (a drain test watches what happens meanwhile). */
  signal(name: NodeJS.Signals): void;
  /** Resolves with the exit code once the process has exited (`null` when a signal ended it). */
  readonly exited: Promise<number | null>;
}

/** Starts one gateway process and resolves once its `/readyz` answers 200. */
export async function startGatewayProcess(
  emulatorOrigin: string,
  env: Record<string, string> = {},
  gatewayOptions?: Omit<GatewayOptions, 'logger'>,
): Promise<GatewayProcess> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
  const args = gatewayOptions
    ? ['--input-type=module', '-e', ENTRY_WITH_OPTIONS, JSON.stringify(gatewayOptions)]
    : [MAIN];
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, args, {
    // A working directory of its own, so a developer's .env is not read.
    cwd: mkdtempSync(join(tmpdir(), 'gateway-replica-')),
    env: {
      PATH: process.env.PATH ?? '',
      APOLLO_TELEMETRY_DISABLED: 'true',
      AUTH0_DOMAIN: emulatorOrigin,
      AUTH0_CLIENT_ID: DEMO.serviceClientId,
      AUTH0_CLIENT_SECRET: DEMO.serviceClientSecret,
      PORT: '0',
      LOG_LEVEL: 'warn',
      ...env,
    },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));

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

  const gateway: GatewayProcess = {
    url,
    origin,
    output: () => output,
    logLines: () =>
      output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    async readyz() {
      const response = await fetch(`${origin}/readyz`);
      return {
        status: response.status,
        body: (await response.json()) as { checks: Record<string, boolean> },
      };
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
    async kill(signal) {
      if (child.exitCode !== null || child.signalCode !== null) return;
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
