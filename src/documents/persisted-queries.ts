import type { KeyValueCache, KeyValueCacheSetOptions } from '@apollo/utils.keyvaluecache';

/**
 * Automatic persisted queries (APQ) are registered by anyone, without a token: what one caller
 * may leave in the store (the shared Redis, with REDIS_URL) is bounded. Every registration expires
 * after `ttlSeconds`, and a document over `maxStoredBytes` (UTF-8) runs but is not stored: its
 * client sends it in full each time, as after an eviction. This service's own documents are a few
 * hundred bytes.
 */
export const APQ_LIMITS = { ttlSeconds: 300, maxStoredBytes: 4096 } as const;

/** `cache` storing only documents up to `maxStoredBytes`; lookups and deletes pass through. */
export function boundedApqCache(
  cache: KeyValueCache<string>,
  maxStoredBytes: number = APQ_LIMITS.maxStoredBytes,
): KeyValueCache<string> {
  return {
    get: (key) => cache.get(key),
    delete: (key) => cache.delete(key),
    async set(key: string, value: string, options?: KeyValueCacheSetOptions) {
      if (Buffer.byteLength(value, 'utf8') > maxStoredBytes) return;
      await cache.set(key, value, options);
    },
  };
}
