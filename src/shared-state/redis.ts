import { randomUUID } from 'node:crypto';
import { KeyvAdapter } from '@apollo/utils.keyvadapter';
import { ErrorsAreMissesCache, type KeyValueCache } from '@apollo/utils.keyvaluecache';
import KeyvRedis from '@keyv/redis';
import { Redis } from 'ioredis';
import Keyv from 'keyv';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import type { Logger } from '../observability/logger.js';
import { consumeWith, createMemoryCallerLimiter, MemoryBucket } from './memory.js';
import { createRedisCacheStore } from './redis-cache-store.js';
import { createRedisLinkRecords } from './link-records.js';
import { createRedisPendingChecks } from './pending-checks.js';
import { BUCKET_SCRIPT, DELETE_TOKEN_IF_SCRIPT, RELEASE_LOCK_SCRIPT } from './redis-scripts.js';
import type {
  BucketChange,
  BucketSnapshot,
  RateBucketStore,
  ServiceTokenSlot,
  SharedCacheStore,
  SharedState,
  SharedToken,
  WriterLock,
} from './shared-state.js';
import { deriveTokenKeys, fingerprintToken, openToken, sealToken } from './token-crypto.js';
import { createRedisWriterLock } from './writer-lock.js';

export interface RedisSharedStateOptions {
  /** `redis://` or `rediss://` URL (checked by config). */
  url: string;
  keyPrefix: string;
  logger: Logger;
  /** Told whenever Redis becomes reachable or unreachable (for a gauge). */
  onAvailabilityChange?: (up: boolean) => void;
  /** Longest a replica holds the token lock: a token request's whole timeout and some. */
  tokenLockMs: number;
  /** Expiry of a held writer lock (renewed while held); default 15 000. */
  writerLockTtlMs?: number;
  /** Longest one Redis command may take before the replica goes on without it; default 500. */
  commandTimeoutMs?: number;
  /** Longest start-up waits for a first connection; default 2000. */
  connectTimeoutMs?: number;
}

// A bucket no replica touched for a day is forgotten (learned limits go stale).
const BUCKET_TTL_MS = 24 * 60 * 60 * 1000;
// How often a replica waiting for another's token request looks for the result.
const TOKEN_POLL_MS = 20;
// How often a replica says it is alive, and how long it counts as a replica after that.
const HEARTBEAT_MS = 1000;
const REPLICA_TTL_MS = 5 * HEARTBEAT_MS;

/** Backoff between reconnection attempts: quick at first, then every 2 s for as long as it takes. */
function reconnectDelayMs(attempt: number): number {
  return Math.min(100 * 2 ** Math.min(attempt, 5), 2000);
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

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

  // Replicas sharing this Redis, counted while it answers: when it goes away, each replica spends
  // only its share of the tenant's budget, so together they still stay under Auth0's limit.
  const replicasKey = key('replicas');
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
    bucket: (name) => new RedisBucket(client, key('auth0-budget', name), isAvailable, () => replicas),
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

const optional = (value: number | undefined) => (value === undefined ? '' : value);

/**
 * One tenant bucket in Redis, with a memory bucket that takes over while Redis does not answer.
 * The memory bucket holds this replica's share of the limit (1/replicas of the rate and burst).
 */
class RedisBucket implements RateBucketStore {
  private readonly local = new MemoryBucket();
  private limit?: NonNullable<BucketChange['limit']>;
  private localShare = 1;
  /** The last take went to Redis. */
  private shared = false;

  constructor(
    private readonly client: Redis,
    private readonly key: string,
    private readonly isAvailable: () => boolean,
    private readonly replicas: () => number,
  ) {}

  take(
    count: number,
  ): { taken: number; state: BucketSnapshot } | Promise<{ taken: number; state: BucketSnapshot }> {
    const alone = () => {
      this.shareLocally();
      if (this.shared) {
        // The shared bucket was being spent down to its last token: start alone from empty, at
        // this replica's pace, rather than with a burst that meets an empty tenant bucket.
        this.shared = false;
        this.local.adjust({ pauseMs: 0 });
      }
      return this.local.take(count);
    };
    if (!this.isAvailable()) return alone();
    return this.run(['take', count]).then((reply) => {
      this.shared = true;
      return { taken: Number(reply[0]), state: toSnapshot(reply) };
    }, alone);
  }

  adjust(change: BucketChange): BucketSnapshot | Promise<BucketSnapshot> {
    if (change.limit) this.limit = { ...change.limit };
    this.shareLocally();
    // The memory bucket learns too, so it is ready when Redis goes away.
    const local = this.local.adjust({ ...change, limit: this.localLimit(change.limit) });
    if (!this.isAvailable()) return local;
    const { limit, pauseMs, remaining } = change;
    return this.run([
      'adjust',
      0,
      optional(limit?.ratePerSecond),
      optional(limit?.capacity),
      optional(limit?.initialTokens),
      optional(pauseMs),
      optional(remaining),
    ]).then(toSnapshot, () => local);
  }

  private localLimit(limit = this.limit): BucketChange['limit'] {
    if (!limit) return undefined;
    const share = this.localShare;
    const capacity = Math.max(1, Math.floor(limit.capacity / share));
    return {
      ratePerSecond: limit.ratePerSecond / share,
      capacity,
      initialTokens: limit.initialTokens === undefined ? undefined : Math.min(limit.initialTokens, capacity),
    };
  }

  /** Gives the memory bucket this replica's share when the number of replicas changed. */
  private shareLocally(): void {
    const replicas = this.replicas();
    if (replicas === this.localShare) return;
    this.localShare = replicas;
    const limit = this.localLimit();
    if (limit) this.local.adjust({ limit });
  }

  private async run(args: (string | number)[]): Promise<string[]> {
    const [op, count, ...rest] = args;
    const seed = this.limit;
    const reply = await BUCKET_SCRIPT.run(
      this.client,
      [this.key],
      [op, count, optional(seed?.ratePerSecond), optional(seed?.capacity), BUCKET_TTL_MS, ...padAdjust(rest)],
    );
    return (reply as (string | number)[]).map(String);
  }
}

/** The adjust arguments, or five empty ones for a take. */
function padAdjust(rest: (string | number)[]): (string | number)[] {
  return rest.length > 0 ? rest : ['', '', '', '', ''];
}

function toSnapshot(reply: string[]): BucketSnapshot {
  const rate = reply[2] === '' ? null : Number(reply[2]);
  return {
    tokens: Number(reply[1]),
    ratePerSecond: rate,
    capacity: rate === null ? null : Number(reply[3]),
    pausedForMs: Number(reply[4]),
  };
}

interface TokenSlotOptions {
  name: string;
  secret: string;
  key: (...parts: string[]) => string;
  isAvailable: () => boolean;
  lockMs: number;
}

/**
 * The service token in Redis, sealed with AES-256-GCM under a key derived from the client secret
 * (HKDF). The slot's name is derived from the secret too: a replica with another secret (a
 * rotation in progress) neither reads nor overwrites this token; it shares its own with the
 * replicas that have its secret.
 */
function createRedisTokenSlot(client: Redis, options: TokenSlotOptions): ServiceTokenSlot {
  const keys = deriveTokenKeys(options.secret, options.name);
  const tokenKey = options.key('service-token', keys.slotId);
  const lockKey = options.key('service-token-lock', keys.slotId);

  async function read(): Promise<SharedToken | null> {
    if (!options.isAvailable()) return null;
    try {
      const stored = await client.get(tokenKey);
      const token = stored === null ? null : openToken(keys, stored, tokenKey);
      return token && Date.now() < token.refreshAt ? token : null;
    } catch {
      return null;
    }
  }

  async function store(token: SharedToken): Promise<void> {
    const ttlMs = Math.floor(token.refreshAt - Date.now());
    if (ttlMs <= 0) return;
    await client.set(tokenKey, sealToken(keys, token, tokenKey), 'PX', ttlMs).catch(() => undefined);
  }

  /** Waits for the lock holder's token: the token once stored, `null` once the lock is gone without one. */
  async function awaitHolder(deadline: number): Promise<SharedToken | null | 'timeout'> {
    while (Date.now() < deadline) {
      await delay(TOKEN_POLL_MS);
      if (!options.isAvailable()) return 'timeout';
      const token = await read();
      if (token) return token;
      const locked = await client.exists(lockKey).catch(() => 0);
      if (!locked) return null;
    }
    return 'timeout';
  }

  return {
    read,
    async fetchOnce(fetch) {
      const deadline = Date.now() + options.lockMs;
      const owner = randomUUID();
      while (options.isAvailable() && Date.now() < deadline) {
        let locked: boolean;
        try {
          locked = (await client.set(lockKey, owner, 'PX', options.lockMs, 'NX')) === 'OK';
        } catch {
          break;
        }
        if (locked) {
          try {
            // Another replica may have stored one between our read and our lock.
            const stored = await read();
            if (stored) return stored;
            const fresh = await fetch();
            await store(fresh);
            return fresh;
          } finally {
            await RELEASE_LOCK_SCRIPT.run(client, [lockKey], [owner]).catch(() => undefined);
          }
        }
        const outcome = await awaitHolder(deadline);
        if (outcome === 'timeout') break;
        if (outcome) return outcome;
        // The holder gave up without a token (Auth0 refused it): try the lock again.
      }
      // Redis is gone or the holder never finished: this replica fetches its own.
      return fetch();
    },
    async invalidate(token) {
      if (!options.isAvailable()) return;
      await DELETE_TOKEN_IF_SCRIPT.run(client, [tokenKey], [fingerprintToken(keys, token)]).catch(
        () => undefined,
      );
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
