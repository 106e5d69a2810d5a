import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Cluster } from 'ioredis';
import type { Logger } from '../observability/logger.js';
import type { KeySpace } from './key-space.js';
import type { RedisClient } from './redis-connection.js';
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
  client: RedisClient;
  /** Opens the listener's own connection: a connection in subscriber mode can send nothing else. */
  openListener: () => RedisClient;
  keys: KeySpace;
  logger: Logger;
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
 * KEYS[1] entry. ARGV value, ttl ms, tombstone the read saw ('' = none), version ('' = none).
 * Stores the value only if the entry still holds what the read saw (nothing, or that very
 * tombstone) and the tombstone did not replace a newer version.
 */
const FILL_CACHE_SCRIPT = new RedisScript(`
local current = redis.call('GET', KEYS[1])
if not (current == false or (ARGV[3] ~= '' and current == ARGV[3])) then return 0 end
if current and ARGV[4] ~= '' then
  local floor = string.match(current, '%.(%d+)$')
  if floor and tonumber(floor) > tonumber(ARGV[4]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`);

/**
 * KEYS[1] a dependency's "changed lately" mark, KEYS[2] its dependents set (one slot: the
 * dependency's). ARGV member (sealed for the set), ttl ms. Lists a value being filled under the
 * entry it depends on, unless that entry changed lately: 1 listed, 0 changed.
 */
const LIST_DEPENDENT_SCRIPT = new RedisScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
`);

/**
 * KEYS[1] entry, KEYS[2] its dependents set, KEYS[3] its "changed lately" mark (one slot: the
 * entry's). ARGV tombstone, its ttl ms. Replaces the entry with the tombstone, carrying over the
 * version of the value (or tombstone) it replaces, marks it changed for as long, and takes its
 * dependents set, returning the members (the caller invalidates them next).
 */
const INVALIDATE_CACHE_SCRIPT = new RedisScript(`
local current = redis.call('GET', KEYS[1])
local version = current and string.match(current, '%.(%d+)$')
if version then
  redis.call('SET', KEYS[1], ARGV[1] .. '.' .. version, 'PX', ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
redis.call('SET', KEYS[3], '1', 'PX', ARGV[2])
local members = redis.call('SMEMBERS', KEYS[2])
redis.call('DEL', KEYS[2])
return members
`);

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
  // A cache key's three Redis keys share a hash tag of their own (the key's HMAC), so that one
  // script may use them together while different cache keys spread over a cluster's shards.
  const tagOf = (key: string) => fingerprintToken(keys, key);
  const redisKey = (key: string) => options.keys.spread(`user-cache:${keys.slotId}`, tagOf(key));
  // The keys whose values were filled depending on `key` (sealed cache keys, a Redis set).
  const dependentsKey = (key: string) =>
    options.keys.spread(`user-cache:${keys.slotId}`, tagOf(key), 'dependents');
  // Set by an invalidation of `key` for as long as its tombstone, even once a read filled the key
  // again: values derived from it by a search (whose index may lag) are not stored meanwhile.
  const changedKey = (key: string) => options.keys.spread(`user-cache:${keys.slotId}`, tagOf(key), 'changed');
  const channel = options.keys.plain('user-cache', keys.slotId, 'invalidate');
  // This store's own invalidations come back on the channel too. The cache dropped those keys
  // before publishing them; taken again, the echo would make a read begun since then (after the
  // change, so fresh) look stale, and that read would neither keep nor share what it fetched:
  // another replica would then ask Auth0 again.
  const origin = randomUUID();
  const pingIntervalMs = options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS;

  const listener = options.openListener();
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
  if (listener instanceof Cluster) {
    // A cluster's subscriber moves to another node by itself when its node goes (ioredis
    // subscribes again there): invalidations published meanwhile may be missed.
    listener.on('-node', () => {
      if (everReady && !closed) options.onResubscribed();
    });
  }
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

  /** Invalidates one key in Redis: the cache keys that were filled depending on it. */
  async function invalidateOne(key: string, tombstone: string): Promise<string[]> {
    const members = (await INVALIDATE_CACHE_SCRIPT.run(
      client,
      [redisKey(key), dependentsKey(key), changedKey(key)],
      [tombstone, TOMBSTONE_MS],
    )) as string[];
    const dependents: string[] = [];
    for (const member of members) {
      const opened = openValue(keys, member, dependentsKey(key));
      if (typeof opened === 'string') dependents.push(opened);
    }
    return dependents;
  }

  return {
    isAvailable: available,
    async getMany(cacheKeys) {
      if (cacheKeys.length === 0 || client.status !== 'ready') return cacheKeys.map(() => ({}));
      const names = cacheKeys.map(redisKey);
      let stored: (string | null)[];
      try {
        // One GET per key, not MGET: the keys live on different slots (and shards) of a cluster.
        stored = await Promise.all(names.map((name) => client.get(name)));
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
      try {
        // Listed under each dependency first, each in one step with the check that it did not
        // change lately (its slot's script): an invalidation of the dependency then either comes
        // before (the mark is set: nothing is stored) or finds this key in the set and tombstones
        // it, so a fill whose read saw the old state cannot outlive the change.
        const listed = await Promise.all(
          dependsOn.map((dependency) =>
            LIST_DEPENDENT_SCRIPT.run(
              client,
              [changedKey(dependency), dependentsKey(dependency)],
              [sealValue(keys, key, dependentsKey(dependency)), Math.ceil(ttlMs)],
            ),
          ),
        );
        if (listed.some((reply) => Number(reply) !== 1)) return false;
        const stored = await FILL_CACHE_SCRIPT.run(
          client,
          [name],
          [sealed, Math.ceil(ttlMs), seen.tombstone ?? '', version ?? ''],
        );
        return Number(stored) === 1;
      } catch {
        return false;
      }
    },
    async invalidate(cacheKeys, replacements: CacheReplacement[] = []) {
      if (cacheKeys.length === 0) return true;
      if (client.status !== 'ready') return false;
      try {
        const tombstone = `${TOMBSTONE_MARK}${randomUUID()}`;
        // Each key in a script of its own slot (no command spans slots). Its dependents (an email's
        // list of users) are invalidated after it, with their own dependents dropped too.
        const dependents = (await Promise.all(cacheKeys.map((key) => invalidateOne(key, tombstone)))).flat();
        const further = [...new Set(dependents)].filter((key) => !cacheKeys.includes(key));
        await Promise.all(further.map((key) => invalidateOne(key, tombstone)));
        const all = [...cacheKeys, ...further];
        // What the change itself tells (a linked secondary's primary) replaces the tombstone: a read
        // right after the change then needs no search, whose index may still show the old state.
        await Promise.all(
          replacements.map((replacement) => {
            const name = redisKey(replacement.key);
            return client.set(
              name,
              sealValue(keys, replacement.value, name),
              'PX',
              Math.ceil(replacement.ttlMs),
            );
          }),
        );
        await publishOnEveryNode(client, channel, sealValue(keys, { keys: all, origin }, channel));
        return true;
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

/**
 * PUBLISH where every replica's listener hears it before the mutation answers (DESIGN §11). A
 * cluster carries a message to its other nodes over its bus after the publisher's answer, so a
 * replica whose listener sits on another node could still serve its memory copy; published on
 * every node, each listener has it from its own node. Listeners drop keys idempotently, so the
 * copies the bus brings later change nothing.
 */
async function publishOnEveryNode(client: RedisClient, channel: string, message: string): Promise<void> {
  if (!(client instanceof Cluster)) {
    await client.publish(channel, message);
    return;
  }
  const results = await Promise.allSettled(client.nodes('all').map((node) => node.publish(channel, message)));
  const failed = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed.length === results.length) throw failed[0]?.reason ?? new Error('no cluster node to publish on');
}
