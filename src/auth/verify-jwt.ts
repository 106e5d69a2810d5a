// Internal to auth/: one RS256 verification shared by the access-token and ID-token checks,
// turning jose's errors into a small set of failure kinds each caller words for its own audience.
import { errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';

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

/** Wraps anything the key set threw that is not a key mismatch, so it is told apart from a bad token. */
class KeySetUnavailableError extends Error {
  constructor(cause: unknown) {
    super('The JSON Web Key Set could not be obtained', { cause });
    this.name = 'KeySetUnavailableError';
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

function guardKeySet(keys: JWTVerifyGetKey): JWTVerifyGetKey {
  return async (protectedHeader, token) => {
    try {
      return await keys(protectedHeader, token);
    } catch (error) {
      if (error instanceof errors.JOSEError && KEY_MISMATCH_CODES.has(error.code)) throw error;
      throw new KeySetUnavailableError(error);
    }
  };
}

function claimFailure(error: InstanceType<typeof errors.JWTClaimValidationFailed>): JwtFailureKind {
  switch (error.claim) {
    case 'iss':
      return 'issuer';
    case 'aud':
      return 'audience';
    case 'nbf':
      return error.reason === 'check_failed' ? 'not-yet-valid' : 'invalid-claims';
    case 'exp':
      return error.reason === 'missing' ? 'missing-exp' : 'invalid-claims';
    case 'sub':
      return 'missing-sub';
    default:
      return 'invalid-claims';
  }
}

function toFailureKind(error: unknown): JwtFailureKind {
  if (error instanceof KeySetUnavailableError) return 'keys-unavailable';
  if (error instanceof errors.JWTExpired) return error.claim === 'exp' ? 'expired' : 'invalid-claims';
  if (error instanceof errors.JWTClaimValidationFailed) return claimFailure(error);
  if (error instanceof errors.JOSEAlgNotAllowed) return 'algorithm';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'signature';
  if (error instanceof errors.JOSEError && KEY_MISMATCH_CODES.has(error.code)) return 'unknown-key';
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return 'malformed';
  // jose throws TypeError for claims of the wrong type (e.g. a non-numeric exp).
  return 'invalid-claims';
}

/**
 * Verifies an RS256 JWT (signature via `keys`, `iss`, `aud` when given, `exp` required, `nbf`) and
 * requires a non-empty string `sub`. Never throws.
 */
export async function verifyRs256Jwt(token: string, options: VerifyRs256Options): Promise<JwtVerification> {
  try {
    const { payload } = await jwtVerify(token, guardKeySet(options.keys), {
      algorithms: ['RS256'],
      issuer: options.issuer,
      audience: options.audience ? [...options.audience] : undefined,
      clockTolerance: options.clockToleranceSeconds,
      requiredClaims: ['exp', 'sub'],
    });
    if (typeof payload.sub !== 'string' || payload.sub === '') {
      return { ok: false, kind: 'missing-sub', cause: new Error('"sub" claim is not a non-empty string') };
    }
    return { ok: true, payload: payload as JWTPayload & { sub: string } };
  } catch (error) {
    // Keep the key set's own error (network, timeout, bad response) as the cause for the logs.
    const cause = error instanceof KeySetUnavailableError ? error.cause : error;
    return { ok: false, kind: toFailureKind(error), cause };
  }
}

/** `aud` as an array of strings; anything that is not a string is dropped. */
export function audiencesOf(payload: JWTPayload): string[] {
  const aud: unknown = payload.aud;
  if (typeof aud === 'string') return [aud];
  if (Array.isArray(aud)) return aud.filter((a): a is string => typeof a === 'string');
  return [];
}
