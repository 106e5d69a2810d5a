// Internal to auth/: one RS256 verification shared by the access-token and ID-token checks,
// reporting a small set of failure kinds each caller words for its own audience.
//
// The signature is checked with node:crypto's synchronous `verify` on a `KeyObject`: jose 6
// verifies through WebCrypto, about four times the CPU per token on Node 20 (docs/benchmark.md),
// and every jwt-mode link carries a fresh ID token. jose still fetches, caches and selects the
// tenant's keys (`JWTVerifyGetKey`); each key it hands out is turned into a `KeyObject` once.
import {
  KeyObject,
  createPublicKey,
  verify as verifySignature,
  type webcrypto,
  type JsonWebKey,
} from 'node:crypto';
import { errors, type CompactJWSHeaderParameters, type JWTPayload, type JWTVerifyGetKey } from 'jose';

/** Why a JWT was refused. `keys-unavailable` is the only one that is not the token's fault. */
export type JwtFailureKind =
  | 'malformed'
  | 'algorithm'
  | 'unknown-key'
  | 'signature'
  | 'issuer'
  | 'audience'
  | 'expired'
  | 'not-yet-valid'
  | 'missing-exp'
  | 'missing-sub'
  | 'invalid-claims'
  | 'keys-unavailable';

export type JwtVerification =
  { ok: true; payload: JWTPayload & { sub: string } } | { ok: false; kind: JwtFailureKind; cause: unknown };

export interface VerifyRs256Options {
  keys: JWTVerifyGetKey;
  issuer: string;
  /** Accepted audiences; the token's `aud` must contain at least one. Omit to check `aud` yourself. */
  audience?: readonly string[];
  clockToleranceSeconds: number;
}

/** A refusal with its kind; the message is for server-side logs only (it never names the token). */
class JwtRefusal extends Error {
  constructor(
    readonly kind: JwtFailureKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'JwtRefusal';
  }
}

// What a reachable key set throws about the token's own key. Everything else from the key set
// (fetch failures, timeouts, a non-200 or unparsable JWKS response) means the keys are unavailable.
const KEY_MISMATCH_CODES = new Set<string>([
  errors.JWKSNoMatchingKey.code,
  errors.JWKSMultipleMatchingKeys.code,
  errors.JOSENotSupported.code,
  errors.JWKInvalid.code,
]);

const BASE64URL = /^[A-Za-z0-9_-]+$/;
// RFC 7518 §3.3: RS256 keys must be at least 2048 bits (jose enforced the same).
const MIN_RSA_MODULUS_BITS = 2048;

function decodeJsonObject(segment: string, part: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch (error) {
    throw new JwtRefusal('malformed', `the JWT ${part} is not base64url JSON`, { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new JwtRefusal('malformed', `the JWT ${part} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

// One KeyObject per key the key set hands out: jose returns the same cached CryptoKey (or JWK
// object) for a kid until the JWKS is refetched, so these maps hold one entry per live key.
const keyObjects = new WeakMap<object, KeyObject>();

function importKey(key: Exclude<Awaited<ReturnType<JWTVerifyGetKey>>, Uint8Array>): KeyObject {
  if (key instanceof KeyObject) return key;
  // A CryptoKey (what jose's key sets return) is recognised by shape: under jest's VM modules
  // it comes from another realm than node:crypto's `webcrypto.CryptoKey`.
  if ('algorithm' in key && 'usages' in key) return KeyObject.from(key as webcrypto.CryptoKey);
  return createPublicKey({ key: key as JsonWebKey, format: 'jwk' });
}

function toRsaPublicKey(key: Awaited<ReturnType<JWTVerifyGetKey>>): KeyObject {
  if (key instanceof Uint8Array) {
    throw new JwtRefusal('unknown-key', 'the key set returned a secret, not an RSA public key');
  }
  let keyObject = keyObjects.get(key);
  if (!keyObject) {
    try {
      keyObject = importKey(key);
    } catch (error) {
      throw new JwtRefusal('unknown-key', 'the key set returned a key node:crypto cannot import', {
        cause: error,
      });
    }
    keyObjects.set(key, keyObject);
  }
  const modulus = keyObject.asymmetricKeyDetails?.modulusLength ?? 0;
  if (
    keyObject.type !== 'public' ||
    keyObject.asymmetricKeyType !== 'rsa' ||
    modulus < MIN_RSA_MODULUS_BITS
  ) {
    throw new JwtRefusal('unknown-key', 'the signing key is not an RSA public key of 2048 bits or more');
  }
  return keyObject;
}

async function resolveKey(
  keys: JWTVerifyGetKey,
  header: Record<string, unknown>,
  segments: string[],
): Promise<KeyObject> {
  let key: Awaited<ReturnType<JWTVerifyGetKey>>;
  try {
    key = await keys(header as CompactJWSHeaderParameters, {
      protected: segments[0],
      payload: segments[1],
      signature: segments[2],
    });
  } catch (error) {
    if (error instanceof errors.JOSEError && KEY_MISMATCH_CODES.has(error.code)) {
      throw new JwtRefusal('unknown-key', error.message, { cause: error });
    }
    // Keep the key set's own error (network, timeout, bad response) as the cause for the logs.
    throw new JwtRefusal('keys-unavailable', 'the JSON Web Key Set could not be obtained', { cause: error });
  }
  return toRsaPublicKey(key);
}

const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** The registered claims, checked in the order jose checked them so the same token gets the same kind. */
function checkClaims(payload: Record<string, unknown>, options: VerifyRs256Options): void {
  if (!('exp' in payload)) throw new JwtRefusal('missing-exp', 'missing "exp" claim');
  if (!('sub' in payload)) throw new JwtRefusal('missing-sub', 'missing "sub" claim');
  if (options.audience && !('aud' in payload)) throw new JwtRefusal('audience', 'missing "aud" claim');
  if (payload.iss !== options.issuer) throw new JwtRefusal('issuer', 'unexpected "iss" claim value');
  if (options.audience) {
    const accepted = options.audience;
    if (!audiencesOf(payload).some((aud) => accepted.includes(aud))) {
      throw new JwtRefusal('audience', 'unexpected "aud" claim value');
    }
  }
  const now = Math.floor(Date.now() / 1000);
  const tolerance = options.clockToleranceSeconds;
  if (payload.iat !== undefined && !isNumber(payload.iat)) {
    throw new JwtRefusal('invalid-claims', '"iat" claim must be a number');
  }
  if (payload.nbf !== undefined) {
    if (!isNumber(payload.nbf)) throw new JwtRefusal('invalid-claims', '"nbf" claim must be a number');
    if (payload.nbf > now + tolerance) throw new JwtRefusal('not-yet-valid', '"nbf" claim is in the future');
  }
  if (!isNumber(payload.exp)) throw new JwtRefusal('invalid-claims', '"exp" claim must be a number');
  if (payload.exp <= now - tolerance) throw new JwtRefusal('expired', '"exp" claim timestamp check failed');
  if (typeof payload.sub !== 'string' || payload.sub === '') {
    throw new JwtRefusal('missing-sub', '"sub" claim is not a non-empty string');
  }
}

async function verifyOrThrow(
  token: string,
  options: VerifyRs256Options,
): Promise<JWTPayload & { sub: string }> {
  const segments = token.split('.');
  // The signature may be empty: an `alg: none` token is then refused for its algorithm.
  if (
    segments.length !== 3 ||
    !BASE64URL.test(segments[0]) ||
    !BASE64URL.test(segments[1]) ||
    !(segments[2] === '' || BASE64URL.test(segments[2]))
  ) {
    throw new JwtRefusal('malformed', 'not three base64url segments');
  }
  const header = decodeJsonObject(segments[0], 'header');
  // Only RS256: this refuses `none`, HS256 (where a public key could be abused as the HMAC
  // secret) and every other algorithm before any key is looked at.
  if (header.alg !== 'RS256') throw new JwtRefusal('algorithm', 'the "alg" header is not RS256');
  // No extension is understood, so a token that makes one critical cannot be honoured (RFC 7515 §4.1.11).
  if (header.crit !== undefined) throw new JwtRefusal('malformed', 'unsupported "crit" header');
  const key = await resolveKey(options.keys, header, segments);
  const signed = Buffer.from(`${segments[0]}.${segments[1]}`, 'ascii');
  const signature = Buffer.from(segments[2], 'base64url');
  // An RSA KeyObject verifies with PKCS #1 v1.5 padding, which is what RS256 is (RFC 7518 §3.3).
  let valid: boolean;
  try {
    valid = verifySignature('sha256', signed, key, signature);
  } catch (error) {
    throw new JwtRefusal('signature', 'signature verification failed', { cause: error });
  }
  if (!valid) throw new JwtRefusal('signature', 'signature verification failed');
  const payload = decodeJsonObject(segments[1], 'payload');
  checkClaims(payload, options);
  return payload as JWTPayload & { sub: string };
}

/**
 * Verifies an RS256 JWT (signature via `keys`, `iss`, `aud` when given, `exp` required, `nbf`) and
 * requires a non-empty string `sub`. Never throws.
 */
export async function verifyRs256Jwt(token: string, options: VerifyRs256Options): Promise<JwtVerification> {
  try {
    return { ok: true, payload: await verifyOrThrow(token, options) };
  } catch (error) {
    if (!(error instanceof JwtRefusal)) return { ok: false, kind: 'invalid-claims', cause: error };
    return {
      ok: false,
      kind: error.kind,
      cause: error.kind === 'keys-unavailable' ? error.cause : error,
    };
  }
}

/** `aud` as an array of strings; anything that is not a string is dropped. */
export function audiencesOf(payload: JWTPayload): string[] {
  const aud: unknown = payload.aud;
  if (typeof aud === 'string') return [aud];
  if (Array.isArray(aud)) return aud.filter((a): a is string => typeof a === 'string');
  return [];
}
