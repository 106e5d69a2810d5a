// A real Sentinel set (Debian's redis-server) on loopback ports, started once per suite: one
// master, one replica and three sentinels (quorum 2) with short timeouts, so a master killed with
// SIGKILL is replaced by its replica in a few seconds. Optional credentials on the data nodes.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  LOOPBACK,
  assertInstalled,
  launchOnFreePorts,
  makeTempDir,
  parseInfo,
  pollUntil,
  redisCommand,
  toArgs,
  type AdminOptions,
  type RedisProcess,
} from './redis-cluster.js';

export interface RedisSentinelOptions {
  /** The master group name the sentinels watch (REDIS_SENTINEL_MASTER). Default `mymaster`. */
  masterName?: string;
  /**
   * Credentials the data nodes require (the sentinels themselves take none). With `username`,
   * that ACL user may run every command and the `default` user is off; without it, `requirepass`.
   */
  auth?: { username?: string; password: string };
  /** `down-after-milliseconds`: how long a silent master is tolerated. Default 1000. */
  downAfterMs?: number;
}

export interface RedisSentinelSet {
  readonly masterName: string;
  readonly sentinels: readonly { host: string; port: number }[];
  /** `127.0.0.1:<port>,…` of the sentinels, the form REDIS_SENTINELS takes. */
  readonly sentinelList: string;
  /** Ports of the two data nodes: the first master, then its replica. */
  readonly dataPorts: readonly [number, number];
  /** The master the sentinels name now (`SENTINEL GET-MASTER-ADDR-BY-NAME`). */
  master(): Promise<{ host: string; port: number }>;
  /** SIGKILLs the current master; resolves its port once it has exited. */
  killMaster(): Promise<number>;
  /**
   * After `killMaster()`: waits until every sentinel names another master and that node says it
   * is one. Resolves its port and how long the wait took.
   */
  waitForFailover(timeoutMs?: number): Promise<{ newMasterPort: number; waitedMs: number }>;
  /** Stops every process and removes their files. */
  stop(): Promise<void>;
}

const SENTINELS = 3;

/** `SENTINEL MASTER <name>`'s flat field/value array as a record. */
function toRecord(reply: unknown): Record<string, string> {
  const values = reply as string[];
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < values.length; i += 2) record[values[i]] = values[i + 1];
  return record;
}

/**
 * Starts a master, its replica and three sentinels on loopback; `stop()` it in `afterAll`.
 * Resolves once the replica is in sync and every sentinel sees the master, the replica and the
 * two other sentinels.
 */
export async function startRedisSentinel(options: RedisSentinelOptions = {}): Promise<RedisSentinelSet> {
  const { masterName = 'mymaster', auth, downAfterMs = 1000 } = options;
  assertInstalled('redis-server');
  const dir = makeTempDir('redis-sentinel-');
  const processes: RedisProcess[] = [];
  const admin: AdminOptions = auth ? { username: auth.username, password: auth.password } : {};
  const stop = async () => {
    await Promise.all(processes.map((node) => node.stop()));
    processes.length = 0;
    dir.remove();
  };
  const isRunning = (node: RedisProcess) => node.child.exitCode === null && node.child.signalCode === null;

  const credentialArgs = (): string[] => {
    if (!auth) return [];
    if (!auth.username) return toArgs({ requirepass: auth.password, masterauth: auth.password });
    return [
      ...['--user', auth.username, 'on', `>${auth.password}`, '~*', '&*', '+@all'],
      ...['--user', 'default', 'off'],
      ...toArgs({ masteruser: auth.username, masterauth: auth.password }),
    ];
  };
  const startDataNode = (replicaOf?: number) =>
    launchOnFreePorts(1, ([port]) => [
      ...toArgs({
        port,
        bind: LOOPBACK,
        dir: dir.path,
        save: '',
        appendonly: 'no',
        // A replica's first sync starts at once instead of after the default 5 s.
        'repl-diskless-sync-delay': 0,
        'repl-ping-replica-period': 1,
        ...(replicaOf ? { replicaof: [LOOPBACK, replicaOf] } : {}),
      }),
      ...credentialArgs(),
    ]).then((node) => {
      processes.push(node);
      return node;
    });

  try {
    const first = await startDataNode();
    const replica = await startDataNode(first.port);
    const dataPorts = [first.port, replica.port] as const;
    // The replica in sync before the sentinels start: a sentinel learns of replicas from the
    // master's INFO, which it reads at once and then only every 10 s.
    await pollUntil('the replica in sync with its master', 10_000, async () => {
      const info = parseInfo(await redisCommand(replica.port, ['INFO', 'replication'], admin));
      return info.master_link_status === 'up' ? true : undefined;
    });

    // A sentinel rewrites its configuration file: one file each, written before it starts.
    const startSentinel = (index: number) =>
      launchOnFreePorts(
        1,
        ([port]) => {
          const file = join(dir.path, `sentinel-${index}.conf`);
          const lines = [
            `port ${port}`,
            `bind ${LOOPBACK}`,
            `dir ${dir.path}`,
            `sentinel monitor ${masterName} ${LOOPBACK} ${first.port} 2`,
            `sentinel down-after-milliseconds ${masterName} ${downAfterMs}`,
            // A split vote is retried after twice this; it also bounds the replicas' reconfiguration.
            `sentinel failover-timeout ${masterName} 2000`,
            `sentinel parallel-syncs ${masterName} 1`,
            ...(auth?.username ? [`sentinel auth-user ${masterName} ${auth.username}`] : []),
            ...(auth ? [`sentinel auth-pass ${masterName} ${auth.password}`] : []),
          ];
          writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
          return [file, '--sentinel'];
        },
        /Sentinel ID is/,
      ).then((node) => {
        processes.push(node);
        return node;
      });
    const sentinels = await Promise.all(
      Array.from({ length: SENTINELS }, (_, index) => startSentinel(index)),
    );

    // Sentinels find each other through hello messages on the master, every 2 s.
    await pollUntil(
      'every sentinel sees the master, its replica and the two other sentinels',
      15_000,
      async () => {
        for (const sentinel of sentinels) {
          const master = toRecord(await redisCommand(sentinel.port, ['SENTINEL', 'MASTER', masterName]));
          if (master.flags !== 'master' || master['num-slaves'] !== '1') {
            throw new Error(
              `sentinel ${sentinel.port}: master ${master.flags}, ${master['num-slaves']} replicas`,
            );
          }
          if (master['num-other-sentinels'] !== String(SENTINELS - 1)) {
            throw new Error(`sentinel ${sentinel.port}: ${master['num-other-sentinels']} other sentinels`);
          }
        }
        return true;
      },
    );

    const liveSentinels = () => sentinels.filter(isRunning);
    const masterOf = async (sentinelPort: number) => {
      const [host, port] = (await redisCommand(sentinelPort, [
        'SENTINEL',
        'GET-MASTER-ADDR-BY-NAME',
        masterName,
      ])) as [string, string];
      return { host, port: Number(port) };
    };
    let killed: number | undefined;

    return {
      masterName,
      sentinels: sentinels.map(({ port }) => ({ host: LOOPBACK, port })),
      sentinelList: sentinels.map(({ port }) => `${LOOPBACK}:${port}`).join(','),
      dataPorts,
      master: () => masterOf(liveSentinels()[0].port),
      async killMaster() {
        const { port } = await masterOf(liveSentinels()[0].port);
        const node = processes.find((candidate) => candidate.port === port);
        if (!node) throw new Error(`the master on ${port} is not one of this set's processes`);
        await node.stop('SIGKILL');
        killed = port;
        return port;
      },
      async waitForFailover(timeoutMs = 15_000) {
        if (killed === undefined) throw new Error('waitForFailover() follows killMaster()');
        const oldMaster = killed;
        const began = Date.now();
        const newMasterPort = await pollUntil(
          `a new master in place of ${oldMaster}, named by every sentinel`,
          timeoutMs,
          async () => {
            const named = new Set<number>();
            for (const sentinel of liveSentinels()) named.add((await masterOf(sentinel.port)).port);
            const [port] = named;
            if (named.size !== 1 || port === oldMaster)
              throw new Error(`sentinels name ${[...named].join(', ')}`);
            const [role] = (await redisCommand(port, ['ROLE'], admin)) as [string];
            return role === 'master' ? port : undefined;
          },
        );
        return { newMasterPort, waitedMs: Date.now() - began };
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
