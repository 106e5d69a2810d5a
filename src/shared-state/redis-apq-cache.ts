import type { KeyValueCache, KeyValueCacheSetOptions } from '@apollo/utils.keyvaluecache';
import type { RedisClient } from './redis-connection.js';

/**
 * Apollo's automatic persisted queries in the shared Redis, on the service's own connection
 * (whichever its shape: each query's key hashes to its own slot, so they spread over a cluster's
 * shards). A Redis that does not answer makes a lookup a miss and a store a no-op: the client
 * then sends the full query, as after any eviction, and nothing fails.
 */
export function createRedisApqCache(
  client: RedisClient,
  redisKey: (name: string) => string,
): KeyValueCache<string> {
  return {
    async get(name) {
      if (client.status !== 'ready') return undefined;
      const value = await client.get(redisKey(name)).catch(() => null);
      return value ?? undefined;
    },
    async set(name, value, options?: KeyValueCacheSetOptions) {
      if (client.status !== 'ready') return;
      const ttlSeconds = options?.ttl;
      const key = redisKey(name);
      await (
        typeof ttlSeconds === 'number' && ttlSeconds > 0
          ? client.set(key, value, 'PX', Math.ceil(ttlSeconds * 1000))
          : client.set(key, value)
      ).catch(() => undefined);
    },
    async delete(name) {
      if (client.status !== 'ready') return false;
      return (await client.del(redisKey(name)).catch(() => 0)) > 0;
    },
  };
}
