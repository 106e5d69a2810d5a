import { performance } from 'node:perf_hooks';
import type { RedisClient } from './redis-connection.js';
import { RedisLease } from './redis-lease.js';
import { DELETE_TOKEN_IF_SCRIPT } from './redis-scripts.js';
import type { ServiceTokenSlot, SharedToken } from './shared-state.js';
import { deriveTokenKeys, fingerprintToken, openToken, sealToken } from './token-crypto.js';

// How often a replica waiting for another's token request looks for the result.
const TOKEN_POLL_MS = 20;

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export interface RedisTokenSlotOptions {
  /** Names the token (client and audience); with `secret` it derives the slot's key and sealing key. */
  name: string;
  secret: string;
  key: (...parts: string[]) => string;
  isAvailable: () => boolean;
  /**
   * Expiry of the fetch lease (renewed while the fetch runs), and the longest a replica waits for
   * another's fetch before it fetches its own.
   */
  lockMs: number;
}

/**
 * The service token in Redis, sealed with AES-256-GCM under a key derived from the client secret
 * (HKDF). The slot's name is derived from the secret too: a replica with another secret (a
 * rotation in progress) neither reads nor overwrites this token; it shares its own with the
 * replicas that have its secret. One replica at a time fetches, under a RedisLease; the others
 * wait for the token it stores. A lease lost during a fetch (Redis away for a moment) only lets
 * another replica fetch too: two valid tokens, never none.
 */
export function createRedisTokenSlot(client: RedisClient, options: RedisTokenSlotOptions): ServiceTokenSlot {
  const keys = deriveTokenKeys(options.secret, options.name);
  const tokenKey = options.key('service-token', keys.slotId);
  const lockKey = options.key('service-token-lock', keys.slotId);

  async function read(): Promise<SharedToken | null> {
    if (!options.isAvailable()) return null;
    try {
      const stored = await client.get(tokenKey);
      const token = stored === null ? null : openToken(keys, stored, tokenKey);
      return token && Date.now() < token.refreshAt ? token : null;
    } catch {
      return null;
    }
  }

  async function store(token: SharedToken): Promise<void> {
    const ttlMs = Math.floor(token.refreshAt - Date.now());
    if (ttlMs <= 0) return;
    await client.set(tokenKey, sealToken(keys, token, tokenKey), 'PX', ttlMs).catch(() => undefined);
  }

  /** Waits for the lease holder's token: the token once stored, `null` once the lease is gone without one. */
  async function awaitHolder(deadline: number): Promise<SharedToken | null | 'timeout'> {
    while (performance.now() < deadline) {
      await delay(TOKEN_POLL_MS);
      if (!options.isAvailable()) return 'timeout';
      const token = await read();
      if (token) return token;
      const held = await client.exists(lockKey).catch(() => 0);
      if (!held) return null;
    }
    return 'timeout';
  }

  return {
    read,
    async fetchOnce(fetch) {
      const deadline = performance.now() + options.lockMs;
      while (options.isAvailable() && performance.now() < deadline) {
        let lease: RedisLease | null;
        try {
          lease = await RedisLease.tryAcquire(client, lockKey, { ttlMs: options.lockMs });
        } catch {
          break;
        }
        if (lease) {
          try {
            // Another replica may have stored one between our read and our lease.
            const stored = await read();
            if (stored) return stored;
            const fresh = await fetch();
            await store(fresh);
            return fresh;
          } finally {
            await lease.release();
          }
        }
        const outcome = await awaitHolder(deadline);
        if (outcome === 'timeout') break;
        if (outcome) return outcome;
        // The holder gave up without a token (Auth0 refused it): try the lease again.
      }
      // Redis is gone or the holder never finished: this replica fetches its own.
      return fetch();
    },
    async invalidate(token) {
      if (!options.isAvailable()) return;
      await DELETE_TOKEN_IF_SCRIPT.run(client, [tokenKey], [fingerprintToken(keys, token)]).catch(
        () => undefined,
      );
    },
  };
}
