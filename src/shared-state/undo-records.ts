// The undo records of DESIGN §15: what undoLink needs to take a link back, kept under the link's
// id for LINK_UNDO_WINDOW. In Redis when REDIS_URL is set (every replica can undo), sealed like the
// read cache (AES-256-GCM under a key derived from the client secret: the record holds metadata),
// under a tenant-tagged key; else in this process's memory.
import { createHash } from 'node:crypto';
import type { RedisClient } from './redis-connection.js';
import { deriveTokenKeys, openValue, sealValue } from './token-crypto.js';

/** One record; its shape is the undo's (src/accounts/undo-link.ts). `expiresAt`: epoch ms. */
export interface StoredUndoRecord {
  expiresAt: number;
  [field: string]: unknown;
}

/** Undo records by link id, each dropped at its `expiresAt`. */
export interface UndoRecordStore {
  get(linkId: string): Promise<StoredUndoRecord | null>;
  /** Keeps the record until its `expiresAt` (a record already past it is not stored). */
  put(linkId: string, record: StoredUndoRecord): Promise<void>;
}

/** The memory store, which can also forget a record (the Redis store's fallback). */
interface MemoryUndoRecords extends UndoRecordStore {
  delete(linkId: string): Promise<void>;
}

export function createMemoryUndoRecords(now: () => number = Date.now): MemoryUndoRecords {
  const records = new Map<string, StoredUndoRecord>();
  const sweep = () => {
    const at = now();
    for (const [id, record] of records) if (record.expiresAt <= at) records.delete(id);
  };
  return {
    async get(linkId) {
      sweep();
      const record = records.get(linkId);
      return record ? structuredClone(record) : null;
    },
    async put(linkId, record) {
      sweep();
      if (record.expiresAt > now()) records.set(linkId, structuredClone(record));
    },
    async delete(linkId) {
      records.delete(linkId);
    },
  };
}

/** Redis did not answer a read of an undo record: the record may exist there (retry later). */
export class UndoRecordUnavailableError extends Error {}

/**
 * Records in Redis at `<prefix><tenant tag>:undo-record:<sha256 of the link id>`, sealed, with a PX
 * expiry at the record's `expiresAt`. A write Redis does not take is kept in this process's memory
 * instead (this replica can still undo that link; DESIGN §10: nothing fails for Redis alone), and
 * reads look there first. A read Redis does not answer rejects with UndoRecordUnavailableError: the
 * record may be there, so "unknown link" would be untrue.
 */
export function createRedisUndoRecords(
  client: RedisClient,
  options: { key: (...parts: string[]) => string; name: string; secret: string; now?: () => number },
): UndoRecordStore {
  const now = options.now ?? Date.now;
  const local = createMemoryUndoRecords(now);
  const keys = deriveTokenKeys(options.secret, `undo-record|${options.name}`);
  const redisKey = (linkId: string) =>
    options.key('undo-record', createHash('sha256').update(linkId).digest('hex'));
  return {
    async get(linkId) {
      const kept = await local.get(linkId);
      if (kept) return kept;
      const key = redisKey(linkId);
      let stored: string | null;
      try {
        stored = await client.get(key);
      } catch (error) {
        throw new UndoRecordUnavailableError('the undo record could not be read from Redis', {
          cause: error,
        });
      }
      if (stored === null) return null;
      const record = openValue(keys, stored, key) as StoredUndoRecord | undefined;
      return record && typeof record.expiresAt === 'number' && record.expiresAt > now() ? record : null;
    },
    async put(linkId, record) {
      const ttl = Math.ceil(record.expiresAt - now());
      if (ttl <= 0) return;
      const key = redisKey(linkId);
      try {
        await client.set(key, sealValue(keys, record, key), 'PX', ttl);
      } catch {
        await local.put(linkId, record);
        return;
      }
      // Written to Redis: a copy kept here after an earlier failure is older now.
      await local.delete(linkId);
    },
  };
}
