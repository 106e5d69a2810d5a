import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { SharedToken } from './shared-state.js';

const SALT = 'auth0-link-gateway shared service token v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Keys derived from the client secret: whoever lacks the secret can neither read nor recognise the token. */
export interface TokenKeys {
  /** AES-256-GCM key for the stored token. */
  readonly encryption: Buffer;
  /** HMAC key for a token's fingerprint (to delete only the token that failed). */
  readonly fingerprint: Buffer;
  /** Names the slot in Redis; replicas with another secret use another slot. */
  readonly slotId: string;
}

function derive(secret: string, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, SALT, info, 32));
}

/** HKDF (SHA-256) of `secret`, bound to `name` (client id and audience). */
export function deriveTokenKeys(secret: string, name: string): TokenKeys {
  return {
    encryption: derive(secret, `encrypt|${name}`),
    fingerprint: derive(secret, `fingerprint|${name}`),
    slotId: derive(secret, `slot|${name}`).toString('hex').slice(0, 24),
  };
}

export function fingerprintToken(keys: TokenKeys, token: string): string {
  return createHmac('sha256', keys.fingerprint).update(token).digest('base64url').slice(0, 22);
}

/** `<fingerprint>.<iv|tag|ciphertext, base64url>`; `aad` binds the value to its key name. */
export function sealToken(keys: TokenKeys, value: SharedToken, aad: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keys.encryption, iv);
  cipher.setAAD(Buffer.from(aad));
  const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  const sealed = Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
  return `${fingerprintToken(keys, value.token)}.${sealed}`;
}

/** The token in `stored`, or `null` when it was sealed with other keys, for another name, or altered. */
export function openToken(keys: TokenKeys, stored: string, aad: string): SharedToken | null {
  const dot = stored.indexOf('.');
  if (dot === -1) return null;
  const raw = Buffer.from(stored.slice(dot + 1), 'base64url');
  if (raw.length <= IV_BYTES + TAG_BYTES) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', keys.encryption, raw.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(aad));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    const text = Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
    const value = JSON.parse(text.toString('utf8')) as Partial<SharedToken>;
    if (typeof value.token !== 'string' || typeof value.refreshAt !== 'number') return null;
    return { token: value.token, refreshAt: value.refreshAt };
  } catch {
    return null;
  }
}

/**
 * Any JSON value sealed as {@link sealToken} seals the token (AES-256-GCM, `aad` binding it to its
 * key name), for the read cache's Redis layer: reading Redis hands out no profile.
 */
export function sealValue(keys: TokenKeys, value: unknown, aad: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keys.encryption, iv);
  cipher.setAAD(Buffer.from(aad));
  const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

/** The value in `stored`, or `undefined` when it was sealed with other keys, for another name, or altered. */
export function openValue(keys: TokenKeys, stored: string, aad: string): unknown {
  const raw = Buffer.from(stored, 'base64url');
  if (raw.length <= IV_BYTES + TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', keys.encryption, raw.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(aad));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    const text = Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
    return JSON.parse(text.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}
