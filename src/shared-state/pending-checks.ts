// Checks of link and unlink calls whose outcome was unknown (DESIGN §8): the reconciliation reads
// the primary again later. Kept beside the outbox: in Redis when REDIS_URL is set (a sorted set by
// due time, claimed atomically by any replica, so a replica's death loses none), else in memory.
import { randomUUID } from 'node:crypto';
import type { RedisClient } from './redis-connection.js';
import { RedisScript } from './redis-scripts.js';

/** One check, as the reconciliation needs it; no token, no metadata value. */
export interface PendingCheck {
  id: string;
  operation: 'link' | 'unlink';
  primaryId: string;
  /** `<provider>|<user_id>` of the secondary identity. */
  secondaryId: string;
  mode: 'jwt' | 'admin' | 'user' | 'login' | 'dedupe';
  callerSubject: string | null;
  /** The operation's event id (a link's `linkId`). */
  eventId: string;
  /** Top-level metadata keys a link merged; null when no merge was asked. */
  mergedMetadata: { userMetadataKeys: string[]; appMetadataKeys: string[] } | null;
  /** Which of the reconciliation's delays this check is at (0: the first). */
  step: number;
  /** Reads of the primary that failed so far. */
  failedReads: number;
}

export interface PendingCheckStore {
  /** Keeps `check` (a new one, or one to check again) until `dueInMs` from now. Never throws. */
  schedule(check: PendingCheck, dueInMs: number): Promise<void>;
  /**
   * Up to `max` checks that are due, each hidden from every claimer for `claimMs`: one that its
   * claimer never settles (the replica died) is due again after that.
   */
  claim(max: number, claimMs: number): Promise<PendingCheck[]>;
  /** Forgets a settled check. Never throws. */
  remove(check: PendingCheck): Promise<void>;
}

/** A fresh id for a check. */
export const newCheckId = (): string => randomUUID();

/** Checks in this process's memory (lost if it exits: REDIS_URL unset). */
export function createMemoryPendingChecks(now: () => number = () => performance.now()): PendingCheckStore {
  const checks = new Map<string, { check: PendingCheck; due: number }>();
  return {
    async schedule(check, dueInMs) {
      checks.set(check.id, { check: { ...check }, due: now() + dueInMs });
    },
    async claim(max, claimMs) {
      const at = now();
      const due = [...checks.values()].filter((entry) => entry.due <= at).slice(0, max);
      for (const entry of due) entry.due = at + claimMs;
      return due.map((entry) => ({ ...entry.check }));
    },
    async remove(check) {
      checks.delete(check.id);
    },
  };
}

// KEYS[1] the sorted set (id → due ms, Redis's clock), KEYS[2] the hash of bodies.
// ARGV: id, body, delay ms.
const SCHEDULE_SCRIPT = new RedisScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
return 1
`);

// ARGV: max, claim ms. Returns the bodies of the claimed checks; each is due again after claim ms.
const CLAIM_SCRIPT = new RedisScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
local bodies = {}
for _, id in ipairs(ids) do
  local body = redis.call('HGET', KEYS[2], id)
  if body then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), id)
    table.insert(bodies, body)
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return bodies
`);

/**
 * Checks in Redis: `<prefix>pending-checks` (sorted set by due time) and `<prefix>pending-check-bodies`.
 * Due times are Redis's clock, so replicas' clocks need not agree. While Redis does not answer, new
 * checks are kept in this process's memory, and both are claimed from.
 */
export function createRedisPendingChecks(
  client: RedisClient,
  options: { key: (...parts: string[]) => string; isAvailable: () => boolean },
): PendingCheckStore {
  const local = createMemoryPendingChecks();
  const keys = [options.key('pending-checks'), options.key('pending-check-bodies')];
  return {
    async schedule(check, dueInMs) {
      try {
        if (!options.isAvailable()) throw new Error('Redis unavailable');
        await SCHEDULE_SCRIPT.run(client, keys, [
          check.id,
          JSON.stringify(check),
          Math.max(0, Math.round(dueInMs)),
        ]);
        await local.remove(check);
      } catch {
        await local.schedule(check, dueInMs);
      }
    },
    async claim(max, claimMs) {
      const claimed = await local.claim(max, claimMs);
      if (claimed.length >= max || !options.isAvailable()) return claimed;
      try {
        const bodies = (await CLAIM_SCRIPT.run(client, keys, [max - claimed.length, claimMs])) as string[];
        for (const body of bodies) claimed.push(JSON.parse(body) as PendingCheck);
      } catch {
        // Redis did not answer: its checks stay due and are claimed on a later tick.
      }
      return claimed;
    },
    async remove(check) {
      await local.remove(check);
      if (!options.isAvailable()) return;
      await client
        .multi()
        .zrem(keys[0], check.id)
        .hdel(keys[1], check.id)
        .exec()
        .catch(() => undefined);
    },
  };
}
