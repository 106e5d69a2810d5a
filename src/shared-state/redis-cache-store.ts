import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import type { Logger } from '../observability/logger.js';
import { RedisScript } from './redis-scripts.js';
import type {
  CacheFill,
  CacheReplacement,
  SharedCacheOptions,
  SharedCacheStore,
  StoredCacheEntry,
} from './shared-state.js';
import { deriveTokenKeys, fingerprintToken, openValue, sealValue } from './token-crypto.js';

export interface RedisCacheStoreOptions extends SharedCacheOptions {
  /** The replica's command connection (offline queue off, short command timeout). */
  client: Redis;
  /** For the listener's own connection: a connection in subscriber mode can send nothing else. */
  url: string;
  key: (...parts: string[]) => string;
  logger: Logger;
  reconnectDelayMs: (attempt: number) => number;
  /** How often the listener is PINGed; a PONG missing after as long again counts as a lost connection. Default 2000. */
  pingIntervalMs?: number;
}

// What an invalidation leaves in Redis instead of the value: `!<random>`, `!<random>.<version>`
// when the value it replaced carried one. `!` and `.` are outside base64url, the alphabet of
// sealed values, so no value can look like a tombstone. A fill lands only on the tombstone its
// read saw, so a read that began before the change (it may carry the old user) cannot store it,
// and one that began after can, unless what it read is older than the value the tombstone
// replaced. Kept longer than a read may take (AUTH0_TIMEOUT_MS and the budget's wait); fills of
// slower reads are dropped.
const TOMBSTONE_MARK = '!';
const TOMBSTONE_MS = 30_000;
const MAX_FILL_AGE_MS = TOMBSTONE_MS - 5_000;
const DEFAULT_PING_INTERVAL_MS = 2_000;

/**
 * KEYS[1] entry, KEYS[2..d+1] the "changed lately" marks of the entries it depends on,
 * KEYS[d+2..2d+1] their dependents sets. ARGV value, ttl ms, tombstone the read saw ('' = none),
 * version ('' = none), d, then one set member per dependency, sealed for its set. Stores the value
 * only if the entry still holds what the read saw (nothing, or that very tombstone), the tombstone
 * did not replace a newer version, and no entry it depends on changed lately; then lists it under
 * each dependency.
 */
const FILL_CACHE_SCRIPT = new RedisScript(`
local current = redis.call('GET', KEYS[1])
if not (current == false or (ARGV[3] ~= '' and current == ARGV[3])) then return 0 end
if current and ARGV[4] ~= '' then
  local floor = string.match(current, '%.(%d+)$')
  if floor and tonumber(floor) > tonumber(ARGV[4]) then return 0 end
end
local d = tonumber(ARGV[5])
for i = 2, d + 1 do
  if redis.call('EXISTS', KEYS[i]) == 1 then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
for i = 1, d do
  redis.call('SADD', KEYS[d + 1 + i], ARGV[5 + i])
  redis.call('PEXPIRE', KEYS[d + 1 + i], ARGV[2])
end
return 1
`);

/**
 * KEYS[1..n] entries, KEYS[n+1..2n] their dependents sets, KEYS[2n+1..3n] their "changed lately"
 * marks; ARGV tombstone, its ttl ms. Replaces each entry with the tombstone, carrying over the
 * version of the value (or tombstone) it replaces, marks it changed for as long, and drops its
 * dependents set (the members are invalidated in the same call).
 */
const INVALIDATE_CACHE_SOURCE = `
local n = #KEYS / 3
for i = 1, n do
  local current = redis.call('GET', KEYS[i])
  local version = current and string.match(current, '%.(%d+)$')
  if version then
    redis.call('SET', KEYS[i], ARGV[1] .. '.' .. version, 'PX', ARGV[2])
  else
    redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[2])
  end
  redis.call('DEL', KEYS[n + i])
  redis.call('SET', KEYS[2 * n + i], '1', 'PX', ARGV[2])
end
return n
`;

/** `<sealed>` or `<sealed>.<version>`: the version (Auth0's `updated_at`, ms) stays readable to the scripts. */
function splitStored(stored: string): { sealed: string; version?: number } {
  const dot = stored.lastIndexOf('.');
  if (dot === -1) return { sealed: stored };
  return { sealed: stored.slice(0, dot), version: Number(stored.slice(dot + 1)) };
}

/**
 * The read cache's Redis layer: values sealed with AES-256-GCM under keys derived from the client
 * secret (HKDF, the service token's scheme), key names that are HMACs of the cache keys (no user
 * id in clear), and invalidations published on one channel, sealed too, that every replica's
 * listener (a second connection, in subscriber mode, PINGed so that a half-open one is noticed)
 * turns into drops from its memory layer. A value whose fill named other keys it depends on (an
 * email's list of users) is listed under each of them and invalidated with them.
 */
export function createRedisCacheStore(options: RedisCacheStoreOptions): SharedCacheStore {
  const { client, logger } = options;
  const keys = deriveTokenKeys(options.secret, `user-cache|${options.name}`);
  const redisKey = (key: string) => options.key('user-cache', keys.slotId, fingerprintToken(keys, key));
  // The keys whose values were filled depending on `key` (sealed cache keys, a Redis set).
  const dependentsKey = (key: string) => redisKey(`dependents|${key}`);
  // Set by an invalidation of `key` for as long as its tombstone, even once a read filled the key
  // again: values derived from it by a search (whose index may lag) are not stored meanwhile.
  const changedKey = (key: string) => redisKey(`changed|${key}`);
  const channel = options.key('user-cache', keys.slotId, 'invalidate');
  // This store's own invalidations come back on the channel too. The cache dropped those keys
  // before publishing them; taken again, the echo would make a read begun since then (after the
  // change, so fresh) look stale, and that read would neither keep nor share what it fetched:
  // another replica would then ask Auth0 again.
  const origin = randomUUID();
  const pingIntervalMs = options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS;

  const listener = new Redis(options.url, {
    retryStrategy: options.reconnectDelayMs,
    maxRetriesPerRequest: null,
    connectTimeout: 2000,
    disconnectTimeout: 200,
  });
  let subscribed = false;
  let everReady = false;
  let closed = false;
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

  // A connection cut without a FIN (a NAT or load balancer that forgot it) never emits 'close':
  // invalidations would stop arriving while the store still looked available. A PING that gets
  // no PONG within the interval counts as a close: the listener reconnects, subscribes again and
  // the cache drops what it may have missed meanwhile.
  let pingOutstanding = false;
  const pinger = setInterval(() => {
    if (closed || listener.status !== 'ready') return;
    if (pingOutstanding) {
      logger.warn('read cache: the invalidation listener missed a PONG; reconnecting');
      subscribed = false;
      pingOutstanding = false;
      listener.disconnect(true);
      return;
    }
    pingOutstanding = true;
    listener.ping().then(
      () => (pingOutstanding = false),
      () => undefined,
    );
  }, pingIntervalMs);
  pinger.unref();
  listener.on('close', () => (pingOutstanding = false));

  const available = () => client.status === 'ready' && subscribed && listener.status === 'ready';

  /** The keys filled depending on `cacheKeys`, read from their sets (unreadable members are skipped). */
  async function dependentsOf(cacheKeys: string[]): Promise<string[]> {
    const pipeline = client.pipeline();
    for (const key of cacheKeys) pipeline.smembers(dependentsKey(key));
    const replies = (await pipeline.exec()) ?? [];
    const found = new Set<string>();
    replies.forEach(([error, members], i) => {
      if (error) throw error;
      for (const member of members as string[]) {
        const opened = openValue(keys, member, dependentsKey(cacheKeys[i]));
        if (typeof opened === 'string') found.add(opened);
      }
    });
    return [...found].filter((key) => !cacheKeys.includes(key));
  }

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
        return { value: openValue(keys, splitStored(value).sealed, names[i]) };
      });
    },
    async fill(key, value, fill: CacheFill) {
      const { ttlMs, seen, readStartedAt } = fill;
      if (client.status !== 'ready' || ttlMs <= 0 || seen.value !== undefined) return false;
      // A read that outlived the tombstone could carry a user from before an invalidation it missed.
      if (performance.now() - readStartedAt > MAX_FILL_AGE_MS) return false;
      const name = redisKey(key);
      const dependsOn = fill.dependsOn ?? [];
      const version =
        fill.version !== undefined && Number.isFinite(fill.version) ? Math.floor(fill.version) : undefined;
      const sealed = sealValue(keys, value, name) + (version === undefined ? '' : `.${version}`);
      const stored = await FILL_CACHE_SCRIPT.run(
        client,
        [name, ...dependsOn.map(changedKey), ...dependsOn.map(dependentsKey)],
        [
          sealed,
          Math.ceil(ttlMs),
          seen.tombstone ?? '',
          version ?? '',
          dependsOn.length,
          // One member per dependency set, sealed for that set.
          ...dependsOn.map((dependency) => sealValue(keys, key, dependentsKey(dependency))),
        ],
      ).catch(() => 0);
      return stored === 1;
    },
    async invalidate(cacheKeys, replacements: CacheReplacement[] = []) {
      if (cacheKeys.length === 0) return true;
      if (client.status !== 'ready') return false;
      try {
        const all = [...cacheKeys, ...(await dependentsOf(cacheKeys))];
        const tombstone = `${TOMBSTONE_MARK}${randomUUID()}`;
        const pipeline = client.multi();
        pipeline.eval(
          INVALIDATE_CACHE_SOURCE,
          all.length * 3,
          ...all.map(redisKey),
          ...all.map(dependentsKey),
          ...all.map(changedKey),
          tombstone,
          TOMBSTONE_MS,
        );
        // What the change itself tells (a linked secondary's primary) replaces the tombstone: a read
        // right after the change then needs no search, whose index may still show the old state.
        for (const replacement of replacements) {
          const name = redisKey(replacement.key);
          pipeline.set(name, sealValue(keys, replacement.value, name), 'PX', Math.ceil(replacement.ttlMs));
        }
        pipeline.publish(channel, sealValue(keys, { keys: all, origin }, channel));
        const replies = await pipeline.exec();
        return replies !== null && replies.every(([error]) => error === null);
      } catch (error) {
        logger.warn({ err: error }, 'read cache: invalidation not shared (Redis did not answer)');
        return false;
      }
    },
    async close() {
      closed = true;
      clearInterval(pinger);
      listener.disconnect();
    },
  };
}
