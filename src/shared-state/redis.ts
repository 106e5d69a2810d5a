import { createHash, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import type { RedisTarget } from '../config.js';
import type { Logger } from '../observability/logger.js';
import { consumeWith, createMemoryCallerLimiter } from './memory.js';
import { RedisBucket } from './redis-bucket.js';
import { createRedisCacheStore } from './redis-cache-store.js';
import { createRedisTokenSlot } from './redis-token-slot.js';
import type { SharedCacheStore, SharedState, WriterLock } from './shared-state.js';
import { createRedisLinkRecords } from './link-records.js';
import { createRedisUndoRecords } from './undo-records.js';
import { createRedisPendingChecks } from './pending-checks.js';
import { createRedisWriterLock } from './writer-lock.js';
import { createRedisApqCache } from './redis-apq-cache.js';
import { createKeySpace } from './key-space.js';
import { closeRedis, openRedis, standaloneTarget } from './redis-connection.js';

export interface RedisSharedStateOptions {
  /** The Redis, whichever its shape (checked by config); or a plain `redis://`/`rediss://` URL. */
  target: RedisTarget | string;
  /** `REDIS_KEY_PREFIX`: the start of every key. */
  keyPrefix: string;
  /** The tag of the tenant and client (tenant-key.ts); default `t`. */
  tenantTag?: string;
  /**
   * The tag of the Auth0 tenant alone: the rate budget's and the replica count's that divides it
   * while Redis is away. Auth0 limits the tenant, so every gateway of one tenant spends one bucket,
   * whichever its client id. Default `tenantTag`.
   */
  originTag?: string;
  logger: Logger;
  /** Told whenever Redis becomes reachable or unreachable (for a gauge). */
  onAvailabilityChange?: (up: boolean) => void;
  /**
   * Expiry of the token-fetch lease, and the longest a replica waits for another's fetch: a token
   * request's whole timeout and some.
   */
  tokenLockMs: number;
  /** Expiry of a held writer lock (renewed while held); default 15 000. */
  writerLockTtlMs?: number;
  /** Longest one Redis command may take before the replica goes on without it; default 500. */
  commandTimeoutMs?: number;
  /** Longest start-up waits for a first connection; default 2000. */
  connectTimeoutMs?: number;
}

// How often a replica says it is alive, and how long it counts as a replica after that.
const HEARTBEAT_MS = 1000;
const REPLICA_TTL_MS = 5 * HEARTBEAT_MS;

/** Backoff between reconnection attempts: quick at first, then every 2 s for as long as it takes. */
function reconnectDelayMs(attempt: number): number {
  return Math.min(100 * 2 ** Math.min(attempt, 5), 2000);
}

/**
 * State shared by replicas through one Redis (DESIGN §10). Nothing a caller sent waits on Redis
 * for long or fails for it: commands are not queued while disconnected and time out quickly, and
 * every part falls back to this process's own memory when Redis does not answer.
 */
export async function createRedisSharedState(options: RedisSharedStateOptions): Promise<SharedState> {
  const { logger } = options;
  const target = typeof options.target === 'string' ? standaloneTarget(options.target) : options.target;
  const keys = createKeySpace(options.keyPrefix, options.tenantTag ?? 't', options.originTag);
  const connectTimeoutMs = options.connectTimeoutMs ?? 2000;
  // A command sent while disconnected fails at once instead of waiting for a reconnection.
  const client = openRedis(target, {
    commandTimeoutMs: options.commandTimeoutMs ?? 500,
    connectTimeoutMs,
    retryStrategy: reconnectDelayMs,
  });

  let up: boolean | undefined;
  // When Redis stopped answering (monotonic ms); -Infinity when it never answered this process.
  let downSince: number | null = Number.NEGATIVE_INFINITY;
  const setUp = (value: boolean) => {
    if (up === value) return;
    const first = up === undefined;
    up = value;
    downSince = value ? null : first ? Number.NEGATIVE_INFINITY : performance.now();
    options.onAvailabilityChange?.(value);
    if (!value) {
      logger.warn(
        { redis: 'unreachable' },
        'Redis unreachable: this replica goes on alone (own rate budget and service token) until it is back',
      );
    } else if (!first) {
      logger.warn({ redis: 'reachable' }, 'Redis reachable again: sharing the rate budget and service token');
    }
  };
  // Connected, but the heartbeat found the master of the tenant's keys or of its budget silent:
  // a cluster stays 'ready' while one of its masters is dead and its replica not yet promoted.
  let silent = false;
  // Whether a lost master would be replaced by a promoted replica (a cluster, Sentinel, or a
  // standalone master that has replicas behind a managed endpoint): then writers wait through a
  // short outage instead of going alone (writer-lock.ts).
  let failoverExpected = target.kind !== 'standalone';
  client.on('ready', () => {
    silent = false;
    setUp(true);
    if (target.kind === 'standalone') {
      client.info('replication').then(
        (info) => (failoverExpected = /connected_slaves:[1-9]/.test(info)),
        () => undefined,
      );
    }
  });
  client.on('close', () => setUp(false));
  // ioredis reports every failed (re)connection here; the state change above says it once. A
  // cluster reports a node's errors here too while it stays ready: the heartbeat decides then.
  client.on('error', () => setUp(client.status === 'ready' && !silent));

  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      client.off('ready', done);
      client.off('error', done);
      resolve();
    };
    const timer = setTimeout(done, connectTimeoutMs);
    client.once('ready', done);
    client.once('error', done);
  });

  let apq: ReturnType<typeof createRedisApqCache> | undefined;
  const cacheStores: SharedCacheStore[] = [];
  const isAvailable = () => client.status === 'ready' && !silent;
  const key = keys.tenant;
  const budgetKey = keys.budget;

  // Replicas of the tenant sharing this Redis, counted while it answers: when it goes away, each
  // replica spends only its share of the tenant's budget, so together they still stay under
  // Auth0's limit.
  const replicasKey = budgetKey('replicas');
  const replicaId = randomUUID();
  let replicas = 1;
  // The heartbeat is also the probe of the two masters everything depends on (the tenant's slot,
  // the budget's slot; one and the same outside a cluster): two beats in a row without an answer
  // count as Redis unreachable, one answered beat as reachable again.
  const probeKey = key('heartbeat');
  let missedBeats = 0;
  const heartbeat = async () => {
    if (client.status !== 'ready') return;
    const now = Date.now();
    const [reply, probed] = await Promise.all([
      client
        .multi()
        .zadd(replicasKey, now, replicaId)
        .zremrangebyscore(replicasKey, 0, now - REPLICA_TTL_MS)
        .zcard(replicasKey)
        .pexpire(replicasKey, REPLICA_TTL_MS)
        .exec()
        .catch(() => null),
      client.exists(probeKey).then(
        () => true,
        () => false,
      ),
    ]);
    const answered = reply !== null && reply.every(([error]) => error === null) && probed;
    missedBeats = answered ? 0 : missedBeats + 1;
    if (answered || missedBeats >= 2) {
      silent = !answered;
      setUp(client.status === 'ready' && answered);
    }
    const count = Number(reply?.[2]?.[1]);
    if (count >= 1) replicas = count;
  };
  client.on('ready', () => void heartbeat());
  void heartbeat();
  const heartbeatTimer = setInterval(() => void heartbeat(), HEARTBEAT_MS);
  heartbeatTimer.unref();

  const writerLocks = new Map<string, WriterLock>();

  return {
    kind: 'redis',
    isAvailable,
    bucket: (name) => new RedisBucket(client, budgetKey('auth0-budget', name), isAvailable, () => replicas),
    serviceTokenSlot: ({ name, secret }) =>
      createRedisTokenSlot(client, { name, secret, key, isAvailable, lockMs: options.tokenLockMs }),
    callerLimiter(limit) {
      const limiter = new RateLimiterRedis({
        storeClient: client,
        // `<prefix><tag>:caller:<name>:{<caller>}`: each caller's count on a slot of its own.
        keyPrefix: keys.plain('caller', limit.name),
        points: limit.count,
        duration: limit.windowSeconds,
        // Redis unreachable: the same limit, counted in this process.
        insuranceLimiter: createMemoryCallerLimiter(limit),
        rejectIfRedisNotReady: true,
      });
      return { consume: (callerKey) => consumeWith(limiter, `{${shortHash(callerKey)}}`) };
    },
    writerLock(name) {
      let lock = writerLocks.get(name);
      if (!lock) {
        lock = createRedisWriterLock(client, {
          redisKey: (id) => keys.spread(`writer-lock:${name}`, id),
          fenceKey: (id) => keys.spread(`writer-fence:${name}`, id),
          isAvailable,
          // No failover coming: an outage is Redis down, and writers go on alone at once.
          outageMs: () =>
            !failoverExpected
              ? Number.POSITIVE_INFINITY
              : downSince === null
                ? 0
                : performance.now() - downSince,
          ttlMs: options.writerLockTtlMs ?? 15_000,
        });
        writerLocks.set(name, lock);
      }
      return lock;
    },
    userCacheStore(cacheOptions) {
      const store = createRedisCacheStore({
        ...cacheOptions,
        client,
        keys,
        logger,
        // Queued while disconnected: its SUBSCRIBE is sent again on every reconnection.
        openListener: () =>
          openRedis(target, { offlineQueue: true, connectTimeoutMs, retryStrategy: reconnectDelayMs }),
      });
      cacheStores.push(store);
      return store;
    },
    apqCache() {
      apq ??= createRedisApqCache(client, (name) => keys.spread('apq', sha256(name)));
      return apq;
    },
    linkRecords: ({ ttlMs }) => createRedisLinkRecords(client, { ttlMs, key, isAvailable }),
    undoRecords: (sealing) => createRedisUndoRecords(client, { key, ...sealing }),
    pendingChecks: () => createRedisPendingChecks(client, { key, isAvailable }),
    async close() {
      clearInterval(heartbeatTimer);
      await Promise.all([...writerLocks.values()].map((lock) => lock.releaseAll()));
      await Promise.all(cacheStores.map((store) => store.close()));
      if (isAvailable()) await client.zrem(replicasKey, replicaId).catch(() => undefined);
      await closeRedis(client);
    },
  };
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A short tag for a caller's key (any text, `}` included), so that it spreads over the shards. */
const shortHash = (text: string) => sha256(text).slice(0, 16);
