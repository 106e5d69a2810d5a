import { performance } from 'node:perf_hooks';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { RedisTarget } from '../config.js';

/**
 * A connection to the shared Redis, whichever its shape: one standalone server, a Redis Cluster
 * (commands routed by key slot) or a master found through Sentinels. Both classes answer the same
 * commands; the rest of the service never asks which one it has.
 */
export type RedisClient = Redis | Cluster;

export interface RedisConnectionOptions {
  /**
   * Queue commands sent while disconnected (a subscriber's SUBSCRIBE) instead of failing them at
   * once (what every command a caller waits for does). Default false.
   */
  offlineQueue?: boolean;
  /** Longest one command may take; default none. */
  commandTimeoutMs?: number;
  /** Longest one connection attempt may take; default 2000. */
  connectTimeoutMs?: number;
  /** Delay before reconnection attempt `attempt`; `null` stops trying. */
  retryStrategy: (attempt: number) => number | null;
  /** Do not connect before `connect()`. */
  lazyConnect?: boolean;
}

/** How long disconnect() lets a half-closed socket linger (a refused one never closes again). */
const DISCONNECT_TIMEOUT_MS = 200;

/**
 * A node that was a master and came back as a replica (after a failover) answers writes with
 * READONLY: reconnect, which finds the current master (through the Sentinels, or the cluster's
 * slot table).
 */
const reconnectOnReadOnly = (error: Error) => error.message.startsWith('READONLY');

/** Opens the shared Redis described by `target` (config.ts checked it). */
export function openRedis(target: RedisTarget, options: RedisConnectionOptions): RedisClient {
  const node: RedisOptions = {
    enableOfflineQueue: options.offlineQueue ?? false,
    // A command never waits for a reconnection: it fails and the caller goes on without Redis.
    maxRetriesPerRequest: options.offlineQueue ? null : 0,
    connectTimeout: options.connectTimeoutMs ?? 2000,
    disconnectTimeout: DISCONNECT_TIMEOUT_MS,
    retryStrategy: options.retryStrategy,
    reconnectOnError: reconnectOnReadOnly,
    lazyConnect: options.lazyConnect ?? false,
    ...(options.commandTimeoutMs !== undefined ? { commandTimeout: options.commandTimeoutMs } : {}),
    ...(target.username !== undefined ? { username: target.username } : {}),
    ...(target.password !== undefined ? { password: target.password } : {}),
  };
  switch (target.kind) {
    case 'standalone':
      // The URL's credentials and TLS (`rediss:`) stay; REDIS_USERNAME/REDIS_PASSWORD win over them.
      return new Redis(target.url, node);
    case 'sentinel':
      return new Redis({
        ...node,
        sentinels: target.sentinels.map(({ host, port }) => ({ host, port })),
        name: target.masterName,
        role: 'master',
        // The Sentinels announce a promoted replica at once: reconnect then, not at the next error.
        failoverDetector: true,
        sentinelRetryStrategy: (attempt) => options.retryStrategy(attempt) ?? null,
        sentinelCommandTimeout: options.commandTimeoutMs ?? 1000,
        ...(target.tls ? { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true } : {}),
      });
    case 'cluster': {
      const cluster: ClusterOptions = {
        redisOptions: { ...node, ...(target.tls ? { tls: {} } : {}) },
        enableOfflineQueue: options.offlineQueue ?? false,
        lazyConnect: options.lazyConnect ?? false,
        clusterRetryStrategy: (attempt) => options.retryStrategy(attempt) ?? null,
        // A killed master: its slots fail over to a replica in about cluster-node-timeout. Commands
        // meanwhile fail at once (the caller goes on without Redis); the slot table is refreshed
        // on the first MOVED or closed connection and every few seconds besides.
        retryDelayOnFailover: 100,
        retryDelayOnClusterDown: 100,
        retryDelayOnMoved: 0,
        maxRedirections: 4,
        slotsRefreshTimeout: options.connectTimeoutMs ?? 2000,
        slotsRefreshInterval: 2000,
        // Managed services announce nodes by host name behind TLS: verify those, not an address.
        ...(target.tls ? { dnsLookup: (address, callback) => callback(null, address) } : {}),
      };
      return new Cluster(
        target.nodes.map(({ host, port }) => ({ host, port })),
        cluster,
      );
    }
  }
}

/** The Redis `target` for a plain URL (tests, tools): what REDIS_URL alone configures. */
export function standaloneTarget(url: string): RedisTarget {
  return { kind: 'standalone', url, tls: url.startsWith('rediss:') };
}

/**
 * The connection that holds `key`'s master: the client itself, or in a cluster the node
 * connection the cluster routes that slot to (ioredis keeps it in its slot table). WAIT must go
 * there: it counts the replicas that have this connection's writes, and in a cluster a keyless
 * command would go to any node.
 */
export function connectionFor(client: RedisClient, key: string): Redis | undefined {
  if (!(client instanceof Cluster)) return client;
  // ioredis's own routing table: no public accessor exists.
  const routing = client as unknown as {
    slots: string[][];
    connectionPool: { getInstanceByKey(nodeKey: string): Redis | undefined };
  };
  const owner = routing.slots[clusterSlot(key)]?.[0];
  return owner === undefined ? undefined : routing.connectionPool.getInstanceByKey(owner);
}

// How long a master's replica count is trusted before INFO is asked again.
const REPLICAS_TTL_MS = 5000;
const replicaCounts = new WeakMap<Redis, { count: number; until: number }>();

/** Replicas connected to `node` now (INFO replication), asked at most every 5 s; 0 when unknown. */
async function replicasOf(node: Redis): Promise<number> {
  const known = replicaCounts.get(node);
  if (known && known.until > performance.now()) return known.count;
  const info = await node.info('replication').catch(() => '');
  const match = /connected_slaves:(\d+)/.exec(info);
  const count = match ? Number(match[1]) : 0;
  replicaCounts.set(node, { count, until: performance.now() + REPLICAS_TTL_MS });
  return count;
}

/** What a write's replication wait found. */
export type ReplicaAck = 'no-replicas' | 'acknowledged' | 'not-acknowledged';

/**
 * After a write to `key`: waits up to `timeoutMs` for one replica of its master to have it
 * (`WAIT 1`), so that it survives the master's death, where the master has replicas. Never throws:
 * a Redis that does not answer says `not-acknowledged`.
 */
export async function waitForReplica(
  client: RedisClient,
  key: string,
  timeoutMs: number,
): Promise<ReplicaAck> {
  const node = connectionFor(client, key);
  if (!node) return 'not-acknowledged';
  try {
    if ((await replicasOf(node)) === 0) return 'no-replicas';
    const acknowledged = await node.wait(1, timeoutMs);
    if (acknowledged >= 1) return 'acknowledged';
    replicaCounts.delete(node);
    return 'not-acknowledged';
  } catch {
    replicaCounts.delete(node);
    return 'not-acknowledged';
  }
}

/** The cluster slot of `key`: CRC16 (XMODEM) of its hash tag (or whole name) modulo 16384. */
export function clusterSlot(key: string): number {
  let tagged = key;
  const open = key.indexOf('{');
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) tagged = key.slice(open + 1, close);
  }
  let crc = 0;
  for (const byte of Buffer.from(tagged, 'utf8')) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

/**
 * Ends a connection: QUIT (answered at once; a bare disconnect() waits for the socket to close),
 * then disconnect() in any case, which also closes what the connection opened beside its socket
 * (Sentinel's failover detector keeps connections to every Sentinel).
 */
export async function closeRedis(client: RedisClient): Promise<void> {
  if (client.status === 'ready') await client.quit().catch(() => undefined);
  client.disconnect();
}
