// A real Redis Cluster (Debian's redis-server) on loopback ports, started once per suite: 3 masters
// and a replica each by default, made with `redis-cli --cluster create`, with a short node timeout
// so a master killed with SIGKILL is replaced by its replica in about two seconds.
// The process primitives below (launch, command, poll, stop) are shared with redis-sentinel.ts
// and redis-tls.ts. Like redis-server.ts: a missing binary fails with one line, never a skip.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { freePort } from './redis-server.js';

export const LOOPBACK = '127.0.0.1';

// ---------------------------------------------------------------------------------------------
// Process primitives

/** Fails with one line when a program the Redis helpers run is not installed. */
export function assertInstalled(program: 'redis-server' | 'redis-cli' | 'openssl'): void {
  const found = spawnSync(program, [program === 'openssl' ? 'version' : '--version'], { stdio: 'ignore' });
  if (found.error || found.status !== 0) {
    const hint =
      program === 'openssl'
        ? 'run `sudo apt-get install -y openssl`'
        : '`npm test` installs it, or run `sudo apt-get install -y redis-server`';
    throw new Error(`${program} is not installed: ${hint}`);
  }
}

/** redis-server could not bind a port: another process took it since it was found free. */
export class PortTakenError extends Error {}

// Processes a suite forgot to stop, or left by a start that failed halfway through an `await`,
// die with the jest worker instead of outliving it.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A redis-server (data node or sentinel) started by a helper. */
export interface RedisProcess {
  readonly port: number;
  readonly child: ChildProcess;
  /** Its output so far (stdout and stderr), for a failure message. */
  output(): string;
  /** SIGTERM (or `signal`), resolves when it has exited; does nothing if it already has. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * A redis-server that rejects its configuration prints the offending line: the passwords in it
 * (`>password` of an ACL user, requirepass, masterauth, a sentinel's auth-pass) are masked.
 */
export function redactSecrets(text: string): string {
  return text
    .replace(/(^|[\s'"])>[^\s>'"]+/g, '$1>***')
    .replace(/\b(requirepass|masterauth)(['"]?\s+)\S+/gi, '$1$2***')
    .replace(/\b(auth-pass\s+\S+\s+)\S+/gi, '$1***');
}

/**
 * Spawns `redis-server ...args` and resolves once its log shows `ready` (a data node's "Ready to
 * accept connections", a sentinel's "Sentinel ID is"). Rejects with PortTakenError when a port
 * it was given is already bound.
 */
export function launchRedis(
  port: number,
  args: string[],
  ready = /Ready to accept connections/,
): Promise<RedisProcess> {
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      running.delete(child);
      resolve();
    }),
  );
  const handle: RedisProcess = {
    port,
    child,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
  return new Promise((resolve, reject) => {
    let isReady = false;
    // Read both pipes to the end, or they keep the test process alive after the server exits.
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (!isReady && ready.test(output)) {
        isReady = true;
        resolve(handle);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (error) => reject(error));
    child.once('exit', (code, signal) => {
      if (isReady) return;
      const message = `redis-server ${args.slice(0, 2).join(' ')} exited (${code ?? signal}) before it was ready:\n${redactSecrets(output)}`;
      reject(/address already in use/i.test(output) ? new PortTakenError(message) : new Error(message));
    });
  });
}

// Finding a free port and binding it are two steps: another process may take the port in
// between. Binding is the real check, so a start is retried on fresh ports.
const BIND_ATTEMPTS = 5;

/** Starts a redis-server on fresh free ports (`ports` of them), retrying when one was taken. */
export async function launchOnFreePorts(
  count: number,
  args: (ports: number[]) => string[],
  ready?: RegExp,
): Promise<RedisProcess> {
  for (let attempt = 1; ; attempt++) {
    const ports: number[] = [];
    while (ports.length < count) {
      const port = await freePort();
      if (!ports.includes(port)) ports.push(port);
    }
    try {
      return await launchRedis(ports[0], args(ports), ready);
    } catch (error) {
      if (!(error instanceof PortTakenError) || attempt === BIND_ATTEMPTS) throw error;
    }
  }
}

/**
 * `{ port: 1, save: '', replicaof: [host, 2] }` → `['--port', '1', '--save', '', '--replicaof',
 * host, '2']`: redis-server's command line (it quotes each argument, so a directive's words are
 * separate arguments).
 */
export function toArgs(options: Record<string, string | number | (string | number)[]>): string[] {
  return Object.entries(options).flatMap(([name, value]) => [`--${name}`, ...[value].flat().map(String)]);
}

/** Connection options for the helpers' own short-lived admin connections. */
export type AdminOptions = Pick<RedisOptions, 'password' | 'username' | 'tls'>;

/**
 * Sends one command on a fresh connection and closes it: no retry, no offline queue, 1 s at most,
 * so a dead node fails the call at once instead of hanging a poll.
 */
export async function redisCommand(
  port: number,
  args: (string | number)[],
  options: AdminOptions = {},
): Promise<unknown> {
  const client = new Redis({
    host: LOOPBACK,
    port,
    ...options,
    lazyConnect: true,
    enableReadyCheck: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1000,
    // ioredis destroys a socket that has not closed this long after `disconnect()`, with a timer
    // it never clears for a socket that was already closed by an error: short, so jest can exit.
    disconnectTimeout: 100,
  });
  // A failed TLS handshake or refused connection surfaces as "Connection is closed": the error
  // event says why, so that is what the call rejects with.
  let cause: Error | undefined;
  client.on('error', (error: Error) => (cause ??= error));
  // Our own deadline rather than ioredis's commandTimeout, whose timers outlive a failed connection
  // and keep jest from exiting.
  const deadline = setTimeout(() => {
    cause ??= new Error(`${String(args[0])} on ${port}: no answer within 1000 ms`);
    client.disconnect();
  }, 1000);
  try {
    await client.connect();
    return await client.call(String(args[0]), ...args.slice(1).map(String));
  } catch (error) {
    throw cause && error instanceof Error && /Connection is closed/.test(error.message) ? cause : error;
  } finally {
    clearTimeout(deadline);
    if (client.status !== 'end') client.disconnect();
  }
}

/** `INFO`/`CLUSTER INFO` text as a record of its `field:value` lines. */
export function parseInfo(text: unknown): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of String(text).split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields[line.slice(0, colon)] = line.slice(colon + 1).trim();
  }
  return fields;
}

/**
 * Polls `probe` every 50 ms until it returns a value other than undefined (an error counts as
 * "not yet"); fails after `timeoutMs` with `what` and the last thing it saw.
 */
export async function pollUntil<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = 'nothing yet';
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error instanceof Error ? error.message : error;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not reached within ${timeoutMs} ms (last: ${String(last)})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Runs a program to its end; rejects with its output when it exits non-zero. */
export function runProgram(program: string, args: string[], timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let output = '';
    const collect = (chunk: Buffer) => (output += chunk.toString('utf8'));
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      if (code === 0) resolve(output);
      else
        reject(new Error(`${program} ${args.slice(0, 2).join(' ')} failed (${code ?? signal}):\n${output}`));
    });
  });
}

/** A temp dir removed by `remove()` (and at exit, if a suite forgets). */
export function makeTempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  const remove = () => rmSync(path, { recursive: true, force: true });
  process.once('exit', remove);
  return {
    path,
    remove() {
      remove();
      process.off('exit', remove);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The cluster

export interface ClusterNode {
  readonly host: string;
  readonly port: number;
  /** Its role when the cluster was made (a failover changes it: ask `roles()`). */
  readonly role: 'master' | 'replica';
}

export interface RedisCluster {
  readonly nodes: readonly ClusterNode[];
  /** `redis://127.0.0.1:<port>` of every node (REDIS_CLUSTER_NODES takes them comma-separated). */
  readonly seedUrls: readonly string[];
  /** `{ host, port }` of every node, the form `new Redis.Cluster(startupNodes)` takes. */
  readonly startupNodes: readonly { host: string; port: number }[];
  /** The hash slot of a key (`CLUSTER KEYSLOT`; hash tags count). */
  slotOf(key: string): Promise<number>;
  /** The port of the master serving a slot, or a key's slot, now (`CLUSTER SLOTS`). */
  masterOf(slotOrKey: number | string): Promise<number>;
  /** Current role of every running node, by port. */
  roles(): Promise<Map<number, 'master' | 'replica'>>;
  /** SIGKILLs the node on `port` (no shutdown, no save); resolves once it has exited. */
  kill(port: number): Promise<void>;
  /**
   * Waits until no slot is served by the (killed) master on `oldMasterPort` any more, one of its
   * replicas serves them, and every running node says `cluster_state:ok`. Resolves the new
   * master's port and how long the wait took.
   */
  waitForFailover(
    oldMasterPort: number,
    timeoutMs?: number,
  ): Promise<{ newMasterPort: number; waitedMs: number }>;
  /** Stops every node and removes their files. */
  stop(): Promise<void>;
}

export interface RedisClusterOptions {
  /** Default 3 (the minimum Redis Cluster accepts). */
  masters?: number;
  /** Default 1. */
  replicasPerMaster?: number;
  /** `cluster-node-timeout`: how long a silent master is tolerated before its replica takes over. Default 1000. */
  nodeTimeoutMs?: number;
}

type SlotRange = [number, number, [string, number, string?], ...[string, number, string?][]];

/** `CLUSTER SLOTS` → for each range: its slots, the master's port and its replicas' ports. */
async function readSlots(port: number) {
  const ranges = (await redisCommand(port, ['CLUSTER', 'SLOTS'])) as SlotRange[];
  return ranges.map(([from, to, master, ...replicas]) => ({
    from,
    to,
    master: Number(master[1]),
    replicas: replicas.map((replica) => Number(replica[1])),
  }));
}

/**
 * Starts a Redis Cluster on loopback; `stop()` it in `afterAll`. Resolves once every node says
 * `cluster_state:ok`, every node's `CLUSTER SLOTS` shows all 16384 slots with their replicas, and
 * every replica has finished its first sync.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const { masters = 3, replicasPerMaster = 1, nodeTimeoutMs = 1000 } = options;
  assertInstalled('redis-server');
  assertInstalled('redis-cli');
  const dir = makeTempDir('redis-cluster-');
  const processes = new Map<number, RedisProcess>();
  const stop = async () => {
    await Promise.all([...processes.values()].map((node) => node.stop()));
    processes.clear();
    dir.remove();
  };
  try {
    const count = masters * (1 + replicasPerMaster);
    // The cluster bus gets its own free port (`cluster-port`, Redis 7) rather than port + 10000,
    // which may be taken or beyond 65535 for the high ports the system hands out.
    const launches = Array.from({ length: count }, () =>
      launchOnFreePorts(2, ([port, busPort]) =>
        toArgs({
          port,
          bind: LOOPBACK,
          'cluster-enabled': 'yes',
          'cluster-port': busPort,
          'cluster-config-file': join(dir.path, `nodes-${port}.conf`),
          'cluster-node-timeout': nodeTimeoutMs,
          // A replica may take over however long it was cut off: the tests kill masters on purpose.
          'cluster-replica-validity-factor': 0,
          // A replica's first sync starts at once instead of after the default 5 s.
          'repl-diskless-sync-delay': 0,
          // CLUSTER SLOTS lists a replica only once its replication offset is not 0, which a fresh
          // master moves by its pings to the replicas: every second rather than every 10.
          'repl-ping-replica-period': 1,
          dir: dir.path,
          save: '',
          appendonly: 'no',
        }),
      ).then((node) => {
        processes.set(node.port, node);
        return node;
      }),
    );
    // Every launch settled before a failure is thrown, so `stop()` below reaches every process.
    const settled = await Promise.allSettled(launches);
    const failed = settled.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    const started = await Promise.all(launches);
    const ports = started.map((node) => node.port);

    const addresses = ports.map((port) => `${LOOPBACK}:${port}`);
    await runProgram('redis-cli', [
      '--cluster',
      'create',
      ...addresses,
      '--cluster-replicas',
      String(replicasPerMaster),
      '--cluster-yes',
    ]);

    await pollUntil('the cluster is ok on every node with its replicas in sync', 15_000, async () => {
      for (const port of ports) {
        const info = parseInfo(await redisCommand(port, ['CLUSTER', 'INFO']));
        if (info.cluster_state !== 'ok') throw new Error(`${port}: cluster_state ${info.cluster_state}`);
        const slots = await readSlots(port);
        const covered = slots.reduce((sum, range) => sum + range.to - range.from + 1, 0);
        const thin = slots.find((range) => range.replicas.length < replicasPerMaster);
        if (covered !== 16384 || thin) throw new Error(`${port}: CLUSTER SLOTS not complete yet`);
        const replication = parseInfo(await redisCommand(port, ['INFO', 'replication']));
        if (replication.role === 'slave' && replication.master_link_status !== 'up') {
          throw new Error(`${port}: replica not in sync yet`);
        }
      }
      return true;
    });

    const roles = async () => {
      const result = new Map<number, 'master' | 'replica'>();
      for (const [port, node] of processes) {
        if (node.child.exitCode !== null || node.child.signalCode !== null) continue;
        const [role] = (await redisCommand(port, ['ROLE'])) as [string];
        result.set(port, role === 'master' ? 'master' : 'replica');
      }
      return result;
    };
    const initialRoles = await roles();
    const initialSlots = await readSlots(ports[0]);
    const livePort = () => {
      for (const [port, node] of processes)
        if (node.child.exitCode === null && node.child.signalCode === null) return port;
      throw new Error('no cluster node is running');
    };
    const slotOf = async (key: string) => Number(await redisCommand(livePort(), ['CLUSTER', 'KEYSLOT', key]));

    return {
      nodes: ports.map((port) => ({ host: LOOPBACK, port, role: initialRoles.get(port) ?? 'replica' })),
      seedUrls: ports.map((port) => `redis://${LOOPBACK}:${port}`),
      startupNodes: ports.map((port) => ({ host: LOOPBACK, port })),
      slotOf,
      async masterOf(slotOrKey) {
        const slot = typeof slotOrKey === 'number' ? slotOrKey : await slotOf(slotOrKey);
        const range = (await readSlots(livePort())).find(({ from, to }) => from <= slot && slot <= to);
        if (!range) throw new Error(`no master serves slot ${slot}`);
        return range.master;
      },
      roles,
      async kill(port) {
        const node = processes.get(port);
        if (!node) throw new Error(`no cluster node on port ${port}`);
        await node.stop('SIGKILL');
      },
      async waitForFailover(oldMasterPort, timeoutMs = 10_000) {
        const began = Date.now();
        const newMasterPort = await pollUntil(
          `a replica of ${oldMasterPort} promoted, cluster_state:ok everywhere`,
          timeoutMs,
          async () => {
            let live = 0;
            for (const [port, node] of processes) {
              if (node.child.exitCode !== null || node.child.signalCode !== null) continue;
              const info = parseInfo(await redisCommand(port, ['CLUSTER', 'INFO']));
              if (info.cluster_state !== 'ok')
                throw new Error(`${port}: cluster_state ${info.cluster_state}`);
              const slots = await readSlots(port);
              if (slots.some((range) => range.master === oldMasterPort)) {
                throw new Error(`${port} still sees ${oldMasterPort} as a master`);
              }
              live++;
            }
            return live > 0 ? true : undefined;
          },
        ).then(async () => {
          // Whoever serves now the first slot the old master served at the start.
          const slot = initialSlots.find((range) => range.master === oldMasterPort)?.from;
          if (slot === undefined) throw new Error(`${oldMasterPort} was not a master of the cluster`);
          return (await readSlots(livePort())).find(({ from, to }) => from <= slot && slot <= to)!.master;
        });
        return { newMasterPort, waitedMs: Date.now() - began };
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
