// The child processes the benchmark drives: the emulator host, the gateway, the hand-written server.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { DEMO, type RateLimit } from '../src/auth0-emulator/index.js';
import type {
  BenchTenantShape,
  HostCommand,
  HostReady,
  HostReply,
  HostRequest,
  LinkStatuses,
  ManagementStatuses,
  RouteCounts,
} from './protocol.js';

const distRoot = fileURLToPath(new URL('../', import.meta.url));
const START_TIMEOUT_MS = 30_000;

function exitError(child: ChildProcess, what: string, stderr: () => string): Promise<never> {
  return new Promise((_, reject) =>
    child.once('exit', (code, signal) =>
      reject(new Error(`${what} exited (${signal ?? code}) before it was ready:\n${stderr()}`)),
    ),
  );
}

function timeout(ms: number, what: string): Promise<never> {
  return new Promise((_, reject) => {
    setTimeout(() => reject(new Error(`${what} not ready after ${ms} ms`)), ms).unref();
  });
}

/** The last few kB the child wrote on stdout and stderr. */
function collectOutput(child: ChildProcess): () => string {
  let text = '';
  const keep = (chunk: Buffer) => {
    text = (text + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => text;
}

/** Stops a child we started: SIGTERM, then SIGKILL if it lingers. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** Resident set size of a process in bytes (Linux /proc; `null` elsewhere). */
export async function readRssBytes(pid: number): Promise<number | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * CPU time (user + system) a process has used so far, in milliseconds (Linux /proc; `null` elsewhere).
 * /proc counts in clock ticks, which are 1/100 s on Linux.
 */
export async function readCpuMs(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

/** The emulator in its own process; the methods mirror the in-process control API the tests use. */
export class EmulatorProcess {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();

  private constructor(
    private readonly child: ChildProcess,
    readonly origin: string,
  ) {
    child.on('message', (message: HostReply) => {
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.ok) waiter.resolve(message.value);
      else waiter.reject(new Error(message.error));
    });
  }

  /** `timeoutMs`: a large seed takes its time (the emulator seeds in O(users²)). */
  static async start(shape: BenchTenantShape, timeoutMs = START_TIMEOUT_MS): Promise<EmulatorProcess> {
    const child = fork(`${distRoot}bench/emulator-host.js`, [], {
      env: { ...process.env, BENCH_TENANT: JSON.stringify(shape) },
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    const stderr = collectOutput(child);
    const ready = new Promise<HostReady>((resolve) => {
      const onMessage = (message: HostReady) => {
        if (message.ready) {
          child.off('message', onMessage);
          resolve(message);
        }
      };
      child.on('message', onMessage);
    });
    const { origin } = await Promise.race([
      ready,
      exitError(child, 'emulator host', stderr),
      timeout(timeoutMs, 'emulator host'),
    ]).catch((error: unknown) => {
      child.kill('SIGKILL');
      throw error;
    });
    return new EmulatorProcess(child, origin);
  }

  get pid(): number {
    return this.child.pid as number;
  }

  private call<T>(command: HostCommand): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, ...command } satisfies HostRequest);
    });
  }

  /** Back to the seed: every bench secondary standalone again; journal and bucket cleared. */
  reset = () => this.call<null>({ op: 'reset' });
  setRateLimit = (limit: RateLimit | false) => this.call<null>({ op: 'set-rate-limit', limit });
  clearJournal = () => this.call<null>({ op: 'clear-journal' });
  linkStatuses = () => this.call<LinkStatuses>({ op: 'link-statuses' });
  routeCounts = () => this.call<RouteCounts>({ op: 'route-counts' });
  managementTally = (reset: boolean) => this.call<ManagementStatuses>({ op: 'management-tally', reset });
  userAccessTokens = (subs: string[]) => this.call<string[]>({ op: 'mint-user-tokens', subs });
  idTokens = (subs: string[]) => this.call<string[]>({ op: 'mint-id-tokens', subs });
  adminToken = (scope: string) => this.call<string>({ op: 'mint-admin-token', scope });

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.disconnect();
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    await stopChild(this.child);
  }
}

/** A server child process that prints its GraphQL URL on stdout. */
export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  /** How it ended when it exited on its own (`null` while running or after close()). */
  unexpectedExit(): string | null;
  /** Its last few kB of output, for a report when something went wrong. */
  outputTail(): string;
  close(): Promise<void>;
}

async function startServer(
  script: string,
  env: Record<string, string>,
  urlLine: RegExp,
  what: string,
): Promise<ServerProcess> {
  // e.g. BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the servers under test.
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, script], {
    cwd: distRoot,
    env: { PATH: process.env.PATH ?? '', APOLLO_TELEMETRY_DISABLED: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr = collectOutput(child);
  const url = new Promise<string>((resolve) => {
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const match = urlLine.exec(out);
      if (match) {
        child.stdout?.off('data', onData);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', onData);
  });
  let closing = false;
  let exit: string | null = null;
  child.once('exit', (code, signal) => {
    if (!closing) exit = `exited on its own (${signal ?? `code ${code}`})`;
  });
  const found = await Promise.race([
    url,
    exitError(child, what, stderr),
    timeout(START_TIMEOUT_MS, what),
  ]).catch(async (error: unknown) => {
    await stopChild(child);
    throw error;
  });
  return {
    url: found,
    pid: child.pid as number,
    unexpectedExit: () => exit,
    outputTail: stderr,
    close: () => {
      closing = true;
      return stopChild(child);
    },
  };
}

/**
 * `node dist/src/main.js` against the emulator with the DEMO service client, on an ephemeral port;
 * resolves once `/readyz` answers 200 (JWKS reachable, service token fetched).
 */
export async function startGatewayProcess(
  emulatorOrigin: string,
  env: Record<string, string> = {},
): Promise<ServerProcess> {
  const server = await startServer(
    `${distRoot}src/main.js`,
    {
      AUTH0_DOMAIN: emulatorOrigin,
      AUTH0_CLIENT_ID: DEMO.serviceClientId,
      AUTH0_CLIENT_SECRET: DEMO.serviceClientSecret,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'warn',
      NODE_ENV: 'production',
      // The bench links thousands of times with one admin token: not what the per-caller limit is for.
      CALLER_RATE_LIMIT: '100000000/60',
      ...(process.env.BENCH_GATEWAY_ENV
        ? (JSON.parse(process.env.BENCH_GATEWAY_ENV) as Record<string, string>)
        : {}),
      ...env,
    },
    /GraphQL: (http:\/\/\S+\/graphql)/,
    'gateway',
  );
  const readyz = server.url.replace(/\/graphql$/, '/readyz');
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const response = await fetch(readyz).catch(() => undefined);
    if (response?.status === 200) break;
    if (Date.now() > deadline) {
      await server.close();
      throw new Error(`gateway at ${server.url} never became ready`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return server;
}

/** The hand-written Apollo Server + fetch resolver (bench/minimal-server.ts). */
export function startMinimalServer(emulatorOrigin: string): Promise<ServerProcess> {
  return startServer(
    `${distRoot}bench/minimal-server.js`,
    {
      AUTH0_ORIGIN: emulatorOrigin,
      AUTH0_CLIENT_ID: DEMO.serviceClientId,
      AUTH0_CLIENT_SECRET: DEMO.serviceClientSecret,
      NODE_ENV: 'production',
    },
    /GraphQL: (http:\/\/\S+\/graphql)/,
    'minimal server',
  );
}
