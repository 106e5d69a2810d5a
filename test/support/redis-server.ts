// A real redis-server (Debian's package) on a free loopback port, started and stopped by a test.
// `npm test` installs the package when it is missing (test/support/ensure-system-packages.sh); a
// test that needs it fails with one line saying so, never skips.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** Stops the server (its data is gone unless it was started `persistent`). */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function assertInstalled(): void {
  const found = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  if (found.error || found.status !== 0) {
    throw new Error(
      'redis-server is not installed: `npm test` installs it, or run `sudo apt-get install -y redis-server`',
    );
  }
}

/** redis-server could not bind its port: another process took it since it was found free. */
class PortTakenError extends Error {}

function launch(port: number, dataDir: string | undefined): Promise<ChildProcess> {
  // Persistent: every write in the append-only file before it is answered, so a restart keeps
  // what a client was told is stored (a Redis deployed for durability, as the outbox needs).
  const persistence = dataDir
    ? ['--dir', dataDir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always']
    : ['--save', '', '--appendonly', 'no'];
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', ...persistence], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes('Ready to accept connections')) {
        child.stdout?.off('data', onData);
        child.stderr?.off('data', onData);
        child.stdout?.resume();
        child.stderr?.resume();
        resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    // Read to the end, or the pipe keeps the test process alive after the server exits.
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      const message = `redis-server exited (${code}) before it was ready:\n${output}`;
      reject(/address already in use/i.test(output) ? new PortTakenError(message) : new Error(message));
    });
  });
}

// Finding a free port and binding it are two steps: another process (a parallel suite's gateway,
// Redis or emulator) may take the port in between. Binding is the real check, so it is retried.
const BIND_ATTEMPTS = 5;
const REBIND_PAUSE_MS = 200;

/**
 * Starts redis-server on a free port of 127.0.0.1; `stop()` it in `afterAll`. `persistent`: its
 * data survives `stop()` and `start()` (an append-only file, fsynced on every write).
 */
export async function startRedisServer(options: { persistent?: boolean } = {}): Promise<RedisServer> {
  assertInstalled();
  const dataDir = options.persistent ? mkdtempSync(join(tmpdir(), 'redis-data-')) : undefined;
  if (dataDir) process.once('exit', () => rmSync(dataDir, { recursive: true, force: true }));
  let port = 0;
  let child: ChildProcess | undefined;
  for (let attempt = 1; !child; attempt++) {
    port = await freePort();
    try {
      child = await launch(port, dataDir);
    } catch (error) {
      if (!(error instanceof PortTakenError) || attempt === BIND_ATTEMPTS) throw error;
    }
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      const running = child;
      child = undefined;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
      running.kill('SIGTERM');
      await exited;
    },
    async start() {
      if (child) return;
      // Clients hold this URL: the same port again. Whoever took it meanwhile (an outgoing
      // connection's ephemeral port) lets go of it soon, so binding is tried a few times.
      for (let attempt = 1; ; attempt++) {
        try {
          child = await launch(port, dataDir);
          return;
        } catch (error) {
          if (!(error instanceof PortTakenError) || attempt === BIND_ATTEMPTS) throw error;
          await new Promise((resolve) => setTimeout(resolve, REBIND_PAUSE_MS));
        }
      }
    },
  };
}
