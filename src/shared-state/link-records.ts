// The record of each link and unlink the service applied (DESIGN §12, §15): its id (the event's
// webhook-id, a link's `linkId`) and whether its event was recorded, kept per primary and secondary
// so that a retry, a repeated link and the reconciliation of DESIGN §8 all use one id and record one
// event. In Redis when REDIS_URL is set (every replica sees it), else in this process's memory.
import { createHash } from 'node:crypto';
import type { RedisClient } from './redis-connection.js';

export type RecordedOperation = 'link' | 'unlink';

export interface LinkRecord {
  /** Standard Webhooks message id (`msg_…`): the event's webhook-id; a link's `linkId`. */
  id: string;
  /** The event under `id` is in the outbox. `false`: the outcome is still unknown. */
  eventRecorded: boolean;
  /**
   * While the outcome is unknown: what its event would say, so that the next operation of the pair
   * that proves it applied (an unlink after an unknown link succeeds only if the link was made)
   * records that event first, in order.
   */
  pending?: PendingEventData;
}

/** The parts of an event that only the operation itself knew (names and ids, no values). */
export interface PendingEventData {
  mode: 'jwt' | 'admin' | 'user' | 'login' | 'dedupe';
  callerSubject: string | null;
  mergedMetadata: { userMetadataKeys: string[]; appMetadataKeys: string[] } | null;
}

/** Link records, each kept for the store's TTL after its last write. Never throws. */
export interface LinkRecordStore {
  get(operation: RecordedOperation, primaryId: string, secondaryId: string): Promise<LinkRecord | null>;
  put(
    operation: RecordedOperation,
    primaryId: string,
    secondaryId: string,
    record: LinkRecord,
  ): Promise<void>;
  delete(operation: RecordedOperation, primaryId: string, secondaryId: string): Promise<void>;
}

// The pair as one key part: user ids may hold any character but a control one.
const pairKey = (operation: RecordedOperation, primaryId: string, secondaryId: string) =>
  `${operation}:${createHash('sha256').update(`${primaryId}\n${secondaryId}`).digest('hex')}`;

const SWEEP_EVERY_MS = 10_000;

/** Records in this process's memory, each dropped `ttlMs` after its last write. */
export function createMemoryLinkRecords(options: { ttlMs: number; now?: () => number }): LinkRecordStore {
  const now = options.now ?? (() => performance.now());
  const records = new Map<string, { record: LinkRecord; until: number }>();
  // Expired records are dropped by a sweep at most every SWEEP_EVERY_MS (a sweep per operation
  // made each link cost a pass over every record: quadratic under load); a read checks its own.
  let nextSweep = 0;
  const sweep = () => {
    const at = now();
    if (at < nextSweep) return;
    nextSweep = at + Math.min(SWEEP_EVERY_MS, options.ttlMs);
    for (const [key, entry] of records) if (entry.until <= at) records.delete(key);
  };
  return {
    async get(operation, primaryId, secondaryId) {
      sweep();
      const entry = records.get(pairKey(operation, primaryId, secondaryId));
      return entry && entry.until > now() ? { ...entry.record } : null;
    },
    async put(operation, primaryId, secondaryId, record) {
      sweep();
      records.set(pairKey(operation, primaryId, secondaryId), {
        record: { ...record },
        until: now() + options.ttlMs,
      });
    },
    async delete(operation, primaryId, secondaryId) {
      records.delete(pairKey(operation, primaryId, secondaryId));
    },
  };
}

/**
 * Records in Redis (`<prefix>link-record:<operation>:<sha256 of the pair>`, a JSON value with a
 * PX expiry). While Redis does not answer, this process's memory keeps them, and is read too.
 */
export function createRedisLinkRecords(
  client: RedisClient,
  options: { ttlMs: number; key: (...parts: string[]) => string; isAvailable: () => boolean },
): LinkRecordStore {
  const local = createMemoryLinkRecords({ ttlMs: options.ttlMs });
  const redisKey = (operation: RecordedOperation, primaryId: string, secondaryId: string) =>
    options.key('link-record', pairKey(operation, primaryId, secondaryId));
  return {
    async get(operation, primaryId, secondaryId) {
      const kept = await local.get(operation, primaryId, secondaryId);
      if (kept || !options.isAvailable()) return kept;
      try {
        const stored = await client.get(redisKey(operation, primaryId, secondaryId));
        if (stored === null) return null;
        const parsed = JSON.parse(stored) as LinkRecord;
        if (typeof parsed.id !== 'string') return null;
        const record: LinkRecord = { id: parsed.id, eventRecorded: parsed.eventRecorded === true };
        if (!record.eventRecorded && parsed.pending) record.pending = parsed.pending;
        return record;
      } catch {
        return null;
      }
    },
    async put(operation, primaryId, secondaryId, record) {
      try {
        if (!options.isAvailable()) throw new Error('Redis unavailable');
        await client.set(
          redisKey(operation, primaryId, secondaryId),
          JSON.stringify(record),
          'PX',
          options.ttlMs,
        );
        await local.delete(operation, primaryId, secondaryId);
      } catch {
        await local.put(operation, primaryId, secondaryId, record);
      }
    },
    async delete(operation, primaryId, secondaryId) {
      await local.delete(operation, primaryId, secondaryId);
      if (!options.isAvailable()) return;
      await client.del(redisKey(operation, primaryId, secondaryId)).catch(() => undefined);
    },
  };
}
