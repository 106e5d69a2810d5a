import { type JWTVerifyGetKey } from 'jose';
import { BadUserInputError, UpstreamError } from '../errors.js';
import type { Caller } from './caller.js';
import { audiencesOf, verifyRs256Jwt, type JwtFailureKind } from './verify-jwt.js';

export interface LinkTokenVerifierOptions {
  /** `<origin>/`: the tenant issuer, which is also the caller's (its token was verified against it). */
  issuer: string;
  /** The tenant's signing keys: the same key set as the access-token verifier. */
  keys: JWTVerifyGetKey;
  /** Allowed clock skew for `exp` and `nbf`, in seconds. Default 5. */
  clockToleranceSeconds?: number;
}

export interface LinkTokenVerifier {
  /**
   * Checks JWT-mode `linkWith` the way Auth0 would, so a bad one is refused before any call.
   * Throws BadUserInputError (reason INVALID_LINK_TOKEN), or UpstreamError when the tenant's keys
   * cannot be fetched.
   */
  verifyLinkToken(linkWith: string, caller: Caller): Promise<{ subject: string }>;
}

const FAILURE_MESSAGES: Record<Exclude<JwtFailureKind, 'keys-unavailable' | 'audience'>, string> = {
  malformed: 'linkWith: is not a well-formed JWT (expected the secondary account’s ID token).',
  algorithm: 'linkWith: the ID token must be signed with RS256.',
  'unknown-key': "linkWith: the ID token is not signed with any of the Auth0 tenant's signing keys.",
  signature: "linkWith: the ID token's signature is invalid.",
  issuer: "linkWith: the ID token's iss must be the issuer of the bearer token (this Auth0 tenant).",
  expired: 'linkWith: the ID token has expired.',
  'not-yet-valid': 'linkWith: the ID token is not valid yet (nbf is in the future).',
  'missing-exp': 'linkWith: the ID token has no expiry (exp) claim.',
  'missing-sub': 'linkWith: the ID token must carry a sub claim.',
  'invalid-claims': 'linkWith: the ID token has claims of the wrong type.',
};
const AUD_MISMATCH = "linkWith: the ID token's aud must equal the azp of the bearer token.";
const DEFAULT_CLOCK_TOLERANCE_SECONDS = 5;

function invalid(message: string, cause?: unknown): BadUserInputError {
  return new BadUserInputError(message, { reason: 'INVALID_LINK_TOKEN', cause });
}

/** Verifies the secondary account's ID token sent as `linkWith` (DESIGN §3, auth0-reference §1). */
export function createLinkTokenVerifier(options: LinkTokenVerifierOptions): LinkTokenVerifier {
  const clockToleranceSeconds = options.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;

  return {
    async verifyLinkToken(linkWith, caller) {
      const azp = caller.authorizedParty;
      if (azp === undefined) {
        // Auth0 matches the ID token's aud against the bearer's azp; without one nothing can match.
        throw invalid(
          'linkWith: the bearer token has no azp claim, so no ID token can be matched to it; use a user access token issued to an application.',
        );
      }
      // The caller trims once and sends what is checked here: no second trim.
      if (typeof linkWith !== 'string' || linkWith === '') {
        throw invalid('linkWith: must be the secondary account’s ID token (a JWT).');
      }
      const result = await verifyRs256Jwt(linkWith, {
        keys: options.keys,
        issuer: options.issuer,
        clockToleranceSeconds,
      });
      if (!result.ok) {
        if (result.kind === 'keys-unavailable') {
          throw new UpstreamError(
            "linkWith could not be checked: the Auth0 tenant's signing keys could not be fetched.",
            {
              cause: result.cause,
            },
          );
        }
        if (result.kind === 'audience') throw invalid(AUD_MISMATCH, result.cause);
        throw invalid(FAILURE_MESSAGES[result.kind], result.cause);
      }
      // "Equal": a single audience, the application the caller's token was issued to.
      const audiences = audiencesOf(result.payload);
      if (audiences.length !== 1 || audiences[0] !== azp) throw invalid(AUD_MISMATCH);
      return { subject: result.payload.sub };
    },
  };
}
