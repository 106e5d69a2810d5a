import { createRemoteJWKSet, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { UnauthenticatedError } from '../errors.js';
import type { Caller } from './caller.js';
import { audiencesOf, verifyRs256Jwt, type JwtFailureKind } from './verify-jwt.js';

export interface AccessTokenVerifierOptions {
  /** `<origin>/`: the `iss` of every token the tenant signs. */
  issuer: string;
  /** Management API audience (`<origin>/api/v2/`): tokens for it can be forwarded upstream. */
  managementAudience: string;
  /** Audience of admin callers' tokens (ADMIN_AUDIENCE). */
  adminAudience: string;
  /** Permission that makes a caller an admin (ADMIN_PERMISSION), in `scope` or `permissions`. */
  adminPermission: string;
  /** Where signing keys come from: `createRemoteKeySet` in production, a local key set in tests. */
  keys: JWTVerifyGetKey;
  /** Allowed clock skew for `exp` and `nbf`, in seconds. Default 5. */
  clockToleranceSeconds?: number;
}

/** The outcome of reading one request's Authorization header: a caller, a refusal, or neither. */
export type CallerResult = { caller: Caller | null; error: UnauthenticatedError | null };

export interface AccessTokenVerifier {
  /** Never throws: no header gives `{ caller: null, error: null }`; a refused token gives an error. */
  verifyAuthorizationHeader(header: string | undefined): Promise<CallerResult>;
}

export interface RemoteKeySetOptions {
  /** Time allowed for one JWKS request, in milliseconds. Default 5000. */
  timeoutMs?: number;
}

// A key we do not know triggers at most one JWKS refetch per cooldown, so forged `kid`s cannot
// make us hammer the tenant; keys are otherwise reused for ten minutes (Auth0 rotates rarely and
// publishes the next key before signing with it).
const JWKS_COOLDOWN_MS = 30_000;
const JWKS_CACHE_MAX_AGE_MS = 600_000;
const DEFAULT_JWKS_TIMEOUT_MS = 5_000;
const DEFAULT_CLOCK_TOLERANCE_SECONDS = 5;

/** The tenant's signing keys from `<origin>/.well-known/jwks.json`, cached and refetched on an unknown `kid`. */
export function createRemoteKeySet(origin: string, options: RemoteKeySetOptions = {}): JWTVerifyGetKey {
  return createRemoteJWKSet(new URL(`${origin.replace(/\/+$/, '')}/.well-known/jwks.json`), {
    cooldownDuration: JWKS_COOLDOWN_MS,
    cacheMaxAge: JWKS_CACHE_MAX_AGE_MS,
    timeoutDuration: options.timeoutMs ?? DEFAULT_JWKS_TIMEOUT_MS,
  });
}

const FAILURE_MESSAGES: Record<JwtFailureKind, string> = {
  malformed: 'The bearer token is not a well-formed JWT.',
  algorithm: 'The bearer token must be signed with RS256.',
  'unknown-key': "The bearer token is not signed with any of the Auth0 tenant's signing keys.",
  signature: "The bearer token's signature is invalid.",
  issuer: "The bearer token's issuer (iss) is not this service's Auth0 tenant.",
  audience: "The bearer token's audience is not accepted by this service.",
  expired: 'The bearer token has expired.',
  'not-yet-valid': 'The bearer token is not valid yet (nbf is in the future).',
  'missing-exp': 'The bearer token has no expiry (exp) claim.',
  'missing-sub': 'The bearer token has no subject (sub) claim.',
  'invalid-claims': 'The bearer token has claims of the wrong type.',
  'keys-unavailable':
    "The bearer token could not be verified: the Auth0 tenant's signing keys could not be fetched. Try again later.",
};

// RFC 6750 §2.1: the scheme is case-insensitive; the token is one token68 value.
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

// Auth0 sends `scope` as one space-separated string and `permissions` as an array of strings;
// other shapes grant nothing.
function scopesOf(payload: JWTPayload): Set<string> {
  return typeof payload.scope === 'string' ? new Set(payload.scope.split(' ').filter(Boolean)) : new Set();
}

function permissionsOf(payload: JWTPayload): Set<string> {
  const value: unknown = payload.permissions;
  return Array.isArray(value) ? new Set(value.filter((v): v is string => typeof v === 'string')) : new Set();
}

function toCaller(
  token: string,
  payload: JWTPayload & { sub: string },
  options: AccessTokenVerifierOptions,
): Caller {
  const audiences = audiencesOf(payload);
  const scopes = scopesOf(payload);
  const permissions = permissionsOf(payload);
  return Object.freeze({
    subject: payload.sub,
    token,
    audiences: Object.freeze(audiences),
    authorizedParty: typeof payload.azp === 'string' && payload.azp !== '' ? payload.azp : undefined,
    scopes,
    permissions,
    isManagementToken: audiences.includes(options.managementAudience),
    isAdmin:
      audiences.includes(options.adminAudience) &&
      (scopes.has(options.adminPermission) || permissions.has(options.adminPermission)),
    isClientCredentials: payload.gty === 'client-credentials' || payload.sub.endsWith('@clients'),
  });
}

function refuse(message: string, cause?: unknown): CallerResult {
  return { caller: null, error: new UnauthenticatedError(message, { cause }) };
}

// Verified tokens are remembered so a client's every request does not pay for an RSA check:
// the same token string always gets the same verdict until it expires. Bounded in count, and
// in time so that a signing key withdrawn from the JWKS stops being honoured soon.
const VERIFIED_CACHE_SIZE = 5_000;
const VERIFIED_CACHE_MAX_AGE_MS = 5 * 60_000;

class VerifiedTokens {
  private readonly entries = new Map<string, { caller: Caller; validUntilMs: number }>();

  get(token: string, nowMs: number): Caller | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    if (nowMs >= entry.validUntilMs) {
      this.entries.delete(token);
      return undefined;
    }
    return entry.caller;
  }

  set(token: string, caller: Caller, expSeconds: number, nowMs: number): void {
    if (this.entries.size >= VERIFIED_CACHE_SIZE) {
      // Map keeps insertion order: drop the oldest.
      this.entries.delete(this.entries.keys().next().value as string);
    }
    this.entries.set(token, {
      caller,
      validUntilMs: Math.min(expSeconds * 1000, nowMs + VERIFIED_CACHE_MAX_AGE_MS),
    });
  }
}

/** Verifies the caller's bearer token once per request (DESIGN §3, §7): signature via JWKS, iss, aud, exp, sub. */
export function createAccessTokenVerifier(options: AccessTokenVerifierOptions): AccessTokenVerifier {
  const audience = [...new Set([options.managementAudience, options.adminAudience])];
  const clockToleranceSeconds = options.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
  const verified = new VerifiedTokens();

  return {
    async verifyAuthorizationHeader(header) {
      // An empty header is what some tools send for "no credentials"; treat it as absent.
      if (header === undefined || header.trim() === '') return { caller: null, error: null };
      const match = BEARER.exec(header);
      if (!match) return refuse("The Authorization header must have the form 'Bearer <access token>'.");
      const token = match[1];
      const cached = verified.get(token, Date.now());
      if (cached) return { caller: cached, error: null };
      const result = await verifyRs256Jwt(token, {
        keys: options.keys,
        issuer: options.issuer,
        audience,
        clockToleranceSeconds,
      });
      if (!result.ok) return refuse(FAILURE_MESSAGES[result.kind], result.cause);
      const caller = toCaller(token, result.payload, options);
      verified.set(token, caller, result.payload.exp as number, Date.now());
      return { caller, error: null };
    },
  };
}
