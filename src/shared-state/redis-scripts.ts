import { createHash } from 'node:crypto';
import type { RedisClient } from './redis-connection.js';

/** A Lua script run with EVALSHA, loaded with EVAL when the server does not know it (NOSCRIPT). */
export class RedisScript {
  private readonly sha: string;

  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(client: RedisClient, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      // A cluster in a failover wraps it ("Too many Cluster redirections. Last error: ReplyError:
      // NOSCRIPT …"): a promoted replica has no script cache. Either way the script did not run.
      if (!(error instanceof Error) || !/\bNOSCRIPT\b/.test(error.message)) throw error;
      return client.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

/**
 * The tenant's token bucket, as MemoryBucket (memory.ts) keeps it, in one Redis hash updated
 * atomically. Time is the Redis server's, so replicas' clocks need not agree.
 *
 * KEYS[1] bucket. ARGV: op (`take` | `adjust`), count, seed rate, seed capacity, ttl ms,
 * limit rate, limit capacity, initial tokens, pause ms, remaining ('' = absent).
 * Returns { taken, tokens, rate, capacity, paused-for ms } (numbers as strings: Lua floats
 * would be truncated to integers on the way out).
 */
export const BUCKET_SCRIPT = new RedisScript(`
local key = KEYS[1]
local op = ARGV[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local s = redis.call('HMGET', key, 'tokens', 'last', 'rate', 'cap', 'paused')
local tokens = tonumber(s[1]) or 0
local last = tonumber(s[2]) or now
local rate = tonumber(s[3])
local cap = tonumber(s[4])
local paused = tonumber(s[5]) or 0
if rate == nil and ARGV[3] ~= '' and ARGV[6] == '' then
  -- Expired or never written: start full at the limit this replica knows. An adjust that brings
  -- a limit starts the bucket itself (below), with Auth0's remaining count as MemoryBucket does.
  rate = tonumber(ARGV[3]); cap = tonumber(ARGV[4]); tokens = cap; last = now
end
if rate ~= nil and now > last then
  tokens = math.min(cap, tokens + (now - last) * rate / 1000); last = now
end
local taken = 0
if op == 'take' then
  local count = tonumber(ARGV[2])
  if now < paused then taken = 0
  elseif rate == nil then taken = count
  else
    taken = math.max(0, math.min(count, math.floor(tokens + 1e-9)))
    tokens = tokens - taken
  end
else
  if ARGV[6] ~= '' then
    local newCap = tonumber(ARGV[7])
    if rate == nil then
      if ARGV[8] ~= '' then tokens = tonumber(ARGV[8]) else tokens = newCap end
      last = now
    end
    rate = tonumber(ARGV[6]); cap = newCap; tokens = math.min(tokens, cap)
  end
  if ARGV[9] ~= '' then
    paused = math.max(paused, now + tonumber(ARGV[9]))
    if rate ~= nil then tokens = 0; last = now end
  end
  if ARGV[10] ~= '' and rate ~= nil and now >= paused then
    tokens = math.min(tokens, tonumber(ARGV[10]), cap)
  end
end
if rate ~= nil then
  redis.call('HSET', key, 'tokens', tostring(tokens), 'last', tostring(last), 'rate', tostring(rate),
    'cap', tostring(cap), 'paused', tostring(paused))
  redis.call('PEXPIRE', key, ARGV[5])
elseif paused > 0 then
  redis.call('HSET', key, 'paused', tostring(paused))
  redis.call('PEXPIRE', key, ARGV[5])
end
local rateOut = ''
local capOut = ''
if rate ~= nil then rateOut = tostring(rate); capOut = tostring(cap) end
return { taken, tostring(tokens), rateOut, capOut, tostring(math.max(0, paused - now)) }
`);

/** KEYS[1] token; ARGV[1] fingerprint. Deletes the stored token only if it is the one that failed. */
export const DELETE_TOKEN_IF_SCRIPT = new RedisScript(`
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, string.len(ARGV[1]) + 1) == ARGV[1] .. '.' then
  return redis.call('DEL', KEYS[1])
end
return 0
`);

/** KEYS[1] lock; ARGV[1] owner. Releases the lock only if this replica still holds it. */
export const RELEASE_LOCK_SCRIPT = new RedisScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

/** KEYS[1] lock; ARGV[1] owner, ARGV[2] ttl ms. Extends the lock only if this replica still holds it. */
export const RENEW_LOCK_SCRIPT = new RedisScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`);

/**
 * KEYS[1] lock, KEYS[2] its fencing counter (one slot). ARGV[1] owner, ARGV[2] ttl ms, ARGV[3]
 * counter ttl ms. Takes the lock when free and the next fencing token with it: the token, or 0
 * when another owner holds the lock.
 */
export const ACQUIRE_FENCED_LOCK_SCRIPT = new RedisScript(`
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
local fence = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return fence
`);

/**
 * KEYS[1] lock, KEYS[2] its fencing counter. ARGV[1] owner, ARGV[2] fencing token, ARGV[3] ttl ms
 * ('' = only check). 1 when this owner still holds the lock and no later holder took a token (the
 * lock is then extended by ttl), else 0. A lock lost in a failover (its key never reached the
 * promoted replica) fails here even when nobody took it since.
 */
export const CHECK_FENCED_LOCK_SCRIPT = new RedisScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end
if ARGV[3] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1
`);
