import { randomUUID } from 'node:crypto';
import { KeyvAdapter } from '@apollo/utils.keyvadapter';
import { ErrorsAreMissesCache, type KeyValueCache } from '@apollo/utils.keyvaluecache';
import KeyvRedis from '@keyv/redis';
import { Redis } from 'ioredis';
import Keyv from 'keyv';
import { RateLimiterRedis } from 'rate-limiter-flexible';
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

export interface RedisSharedStateOptions {
  /** `redis://` or `rediss://` URL (checked by config). */
  url: string;
  /** `REDIS_KEY_PREFIX` and the tag of the tenant and client: the prefix of every key but the budget's. */
  keyPrefix: string;
  /**
   * `REDIS_KEY_PREFIX` and the tag of the Auth0 tenant alone: the prefix of the rate budget and of
   * the replica count that divides it while Redis is away. Auth0 limits the tenant, so every
   * gateway of one tenant spends one bucket, whichever its client id. Default `keyPrefix`.
   */
  budgetKeyPrefix?: string;
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
  const { keyPrefix, logger } = options;
  const connectTimeoutMs = options.connectTimeoutMs ?? 2000;
  const client = new Redis(options.url, {
    // A command sent while disconnected fails at once instead of waiting for a reconnection.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs ?? 500,
    connectTimeout: connectTimeoutMs,
    retryStrategy: reconnectDelayMs,
    // How long disconnect() lets a half-closed socket linger (a refused one never closes again).
    disconnectTimeout: 200,
  });

  let up: boolean | undefined;
  const setUp = (value: boolean) => {
    if (up === value) return;
    const first = up === undefined;
    up = value;
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
  client.on('ready', () => setUp(true));
  client.on('close', () => setUp(false));
  // ioredis reports every failed (re)connection here; the state change above says it once.
  client.on('error', () => setUp(false));

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

  let apq: ReturnType<typeof createApqCache> | undefined;
  const cacheStores: SharedCacheStore[] = [];
  const isAvailable = () => client.status === 'ready';
  const key = (...parts: string[]) => `${keyPrefix}${parts.join(':')}`;
  const budgetKey = (...parts: string[]) => `${options.budgetKeyPrefix ?? keyPrefix}${parts.join(':')}`;

  // Replicas of the tenant sharing this Redis, counted while it answers: when it goes away, each
  // replica spends only its share of the tenant's budget, so together they still stay under
  // Auth0's limit.
  const replicasKey = budgetKey('replicas');
  const replicaId = randomUUID();
  let replicas = 1;
  const heartbeat = async () => {
    if (!isAvailable()) return;
    const now = Date.now();
    const reply = await client
      .multi()
      .zadd(replicasKey, now, replicaId)
      .zremrangebyscore(replicasKey, 0, now - REPLICA_TTL_MS)
      .zcard(replicasKey)
      .pexpire(replicasKey, REPLICA_TTL_MS)
      .exec()
      .catch(() => null);
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
        keyPrefix: key('caller', limit.name),
        points: limit.count,
        duration: limit.windowSeconds,
        // Redis unreachable: the same limit, counted in this process.
        insuranceLimiter: createMemoryCallerLimiter(limit),
        rejectIfRedisNotReady: true,
      });
      return { consume: (callerKey) => consumeWith(limiter, callerKey) };
    },
    writerLock(name) {
      let lock = writerLocks.get(name);
      if (!lock) {
        lock = createRedisWriterLock(client, {
          redisKey: (id) => key('writer-lock', name, id),
          isAvailable,
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
        url: options.url,
        key,
        logger,
        reconnectDelayMs,
      });
      cacheStores.push(store);
      return store;
    },
    apqCache() {
      apq ??= createApqCache(options.url, key('apq'));
      return apq.cache;
    },
    linkRecords: ({ ttlMs }) => createRedisLinkRecords(client, { ttlMs, key, isAvailable }),
    undoRecords: (sealing) => createRedisUndoRecords(client, { key, ...sealing }),
    pendingChecks: () => createRedisPendingChecks(client, { key, isAvailable }),
    async close() {
      clearInterval(heartbeatTimer);
      await Promise.all([...writerLocks.values()].map((lock) => lock.releaseAll()));
      await apq?.close();
      await Promise.all(cacheStores.map((store) => store.close()));
      if (isAvailable()) {
        await client.zrem(replicasKey, replicaId).catch(() => undefined);
        // QUIT ends the connection at once; disconnect() would hold a 2 s timer for a stream to close.
        if (
          await client.quit().then(
            () => true,
            () => false,
          )
        )
          return;
      }
      client.disconnect();
    },
  };
}

/**
 * Apollo's persisted queries in Redis through Keyv (its own node-redis connection). A Redis that
 * does not answer makes every lookup a miss: the client then sends the full query, as after any
 * eviction, and nothing fails.
 */
// Longest an APQ lookup waits for a connection to Redis (then it is a miss).
const APQ_CONNECT_TIMEOUT_MS = 500;

function createApqCache(url: string, namespace: string) {
  const store = new KeyvRedis(
    {
      url,
      // Fail at once while disconnected instead of queueing until Redis is back.
      disableOfflineQueue: true,
      socket: { connectTimeout: APQ_CONNECT_TIMEOUT_MS, reconnectStrategy: reconnectDelayMs },
    },
    { throwOnConnectError: false, connectionTimeout: APQ_CONNECT_TIMEOUT_MS },
  );
  // Errors are reported as events (and lookups answer nothing); an event without a listener would throw.
  store.on('error', () => undefined);
  const keyv = new Keyv<string>({ store, namespace, useKeyPrefix: false });
  keyv.on('error', () => undefined);
  // keyvadapter's types see keyv's CommonJS declarations, ours its ESM ones: the same class.
  const adapter = new KeyvAdapter(keyv as unknown as ConstructorParameters<typeof KeyvAdapter<string>>[0]);
  const cache: KeyValueCache<string> = new ErrorsAreMissesCache(adapter);
  return { cache, close: () => store.disconnect().catch(() => undefined) };
}
