import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from '../observability/logger.js';
import { FILL_CACHE_SCRIPT } from './redis-scripts.js';
import type { SharedCacheOptions, SharedCacheStore, StoredCacheEntry } from './shared-state.js';
import { deriveTokenKeys, fingerprintToken, openValue, sealValue } from './token-crypto.js';

export interface RedisCacheStoreOptions extends SharedCacheOptions {
  /** The replica's command connection (offline queue off, short command timeout). */
  client: Redis;
  /** For the listener's own connection: a connection in subscriber mode can send nothing else. */
  url: string;
  key: (...parts: string[]) => string;
  logger: Logger;
  reconnectDelayMs: (attempt: number) => number;
}

// What an invalidation leaves in Redis instead of the value: `-<random>`. A fill lands only on
// the tombstone its read saw, so a read that began before the change (it may carry the old user)
// cannot store it, and one that began after can. Kept longer than a read may take
// (AUTH0_TIMEOUT_MS and the budget's wait); fills of slower reads are dropped.
const TOMBSTONE_MARK = '-';
const TOMBSTONE_MS = 30_000;
const MAX_FILL_AGE_MS = TOMBSTONE_MS - 5_000;

/**
 * The read cache's Redis layer: values sealed with AES-256-GCM under keys derived from the client
 * secret (HKDF, the service token's scheme), key names that are HMACs of the cache keys (no user
 * id in clear), and invalidations published on one channel, sealed too, that every replica's
 * listener (a second connection, in subscriber mode) turns into drops from its memory layer.
 */
export function createRedisCacheStore(options: RedisCacheStoreOptions): SharedCacheStore {
  const { client, logger } = options;
  const keys = deriveTokenKeys(options.secret, `user-cache|${options.name}`);
  const redisKey = (key: string) => options.key('user-cache', keys.slotId, fingerprintToken(keys, key));
  const channel = options.key('user-cache', keys.slotId, 'invalidate');
  // This store's own invalidations come back on the channel too. The cache dropped those keys
  // before publishing them; taken again, the echo would make a read begun since then (after the
  // change, so fresh) look stale, and that read would neither keep nor share what it fetched:
  // another replica would then ask Auth0 again.
  const origin = randomUUID();

  const listener = new Redis(options.url, {
    retryStrategy: options.reconnectDelayMs,
    maxRetriesPerRequest: null,
    connectTimeout: 2000,
    disconnectTimeout: 200,
  });
  let subscribed = false;
  let everReady = false;
  listener.on('error', () => undefined);
  listener.on('close', () => (subscribed = false));
  // ioredis subscribes again by itself when it reconnects (before 'ready').
  listener.on('ready', () => {
    if (everReady) {
      subscribed = true;
      options.onResubscribed();
    }
    everReady = true;
  });
  listener.subscribe(channel).then(
    () => (subscribed = true),
    (error: unknown) => logger.warn({ err: error }, 'read cache: could not subscribe to invalidations'),
  );
  listener.on('message', (from: string, message: string) => {
    if (from !== channel) return;
    const opened = openValue(keys, message, channel) as { keys?: unknown; origin?: unknown } | undefined;
    if (!opened || !Array.isArray(opened.keys) || opened.origin === origin) return;
    options.onInvalidate(opened.keys.filter((k): k is string => typeof k === 'string'));
  });

  const available = () => client.status === 'ready' && subscribed && listener.status === 'ready';

  return {
    isAvailable: available,
    async getMany(cacheKeys) {
      if (cacheKeys.length === 0 || client.status !== 'ready') return cacheKeys.map(() => ({}));
      const names = cacheKeys.map(redisKey);
      let stored: (string | null)[];
      try {
        stored = await client.mget(...names);
      } catch {
        return cacheKeys.map(() => ({}));
      }
      return stored.map((value, i): StoredCacheEntry => {
        if (value === null) return {};
        if (value.startsWith(TOMBSTONE_MARK)) return { tombstone: value };
        return { value: openValue(keys, value, names[i]) };
      });
    },
    async fill(key, value, ttlMs, seen, readStartedAt) {
      if (client.status !== 'ready' || ttlMs <= 0 || seen.value !== undefined) return;
      // A read that outlived the tombstone could carry a user from before an invalidation it missed.
      if (Date.now() - readStartedAt > MAX_FILL_AGE_MS) return;
      const name = redisKey(key);
      await FILL_CACHE_SCRIPT.run(
        client,
        [name],
        [sealValue(keys, value, name), Math.ceil(ttlMs), seen.tombstone ?? ''],
      ).catch(() => undefined);
    },
    async invalidate(cacheKeys) {
      if (cacheKeys.length === 0) return true;
      if (client.status !== 'ready') return false;
      const pipeline = client.multi();
      for (const key of cacheKeys) {
        pipeline.set(redisKey(key), `${TOMBSTONE_MARK}${randomUUID()}`, 'PX', TOMBSTONE_MS);
      }
      pipeline.publish(channel, sealValue(keys, { keys: cacheKeys, origin }, channel));
      try {
        const replies = await pipeline.exec();
        return replies !== null && replies.every(([error]) => error === null);
      } catch (error) {
        logger.warn({ err: error }, 'read cache: invalidation not shared (Redis did not answer)');
        return false;
      }
    },
    async close() {
      listener.disconnect();
    },
  };
}
