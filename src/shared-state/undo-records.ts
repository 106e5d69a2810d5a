// The undo records of DESIGN §15: what undoLink needs to take a link back, kept under the link's
// id for LINK_UNDO_WINDOW. In Redis when REDIS_URL is set (every replica can undo), sealed like the
// read cache (AES-256-GCM under a key derived from the client secret: the record holds metadata),
// under a tenant-tagged key; else in this process's memory.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
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

export function createMemoryUndoRecords(now: () => number = Date.now): UndoRecordStore {
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
  };
}

/**
 * Records in Redis at `<prefix><tenant tag>:undo-record:<sha256 of the link id>`, sealed, with a PX
 * expiry at the record's `expiresAt`. A Redis that does not answer: `get` finds nothing (the undo
 * answers UNDO_EXPIRED) and `put` throws (the caller decides).
 */
export function createRedisUndoRecords(
  client: Redis,
  options: { key: (...parts: string[]) => string; name: string; secret: string; now?: () => number },
): UndoRecordStore {
  const now = options.now ?? Date.now;
  const keys = deriveTokenKeys(options.secret, `undo-record|${options.name}`);
  const redisKey = (linkId: string) =>
    options.key('undo-record', createHash('sha256').update(linkId).digest('hex'));
  return {
    async get(linkId) {
      const key = redisKey(linkId);
      const stored = await client.get(key).catch(() => null);
      if (stored === null) return null;
      const record = openValue(keys, stored, key) as StoredUndoRecord | undefined;
      return record && typeof record.expiresAt === 'number' && record.expiresAt > now() ? record : null;
    },
    async put(linkId, record) {
      const ttl = Math.ceil(record.expiresAt - now());
      if (ttl <= 0) return;
      const key = redisKey(linkId);
      await client.set(key, sealValue(keys, record, key), 'PX', ttl);
    },
  };
}
