// The ID token of a candidate's sign-in during linking at login (DESIGN §14): RS256 from the
// tenant, for the service's own application, with the nonce it sent, the candidate it asked for as
// `sub`, and a fresh `auth_time` (the user signed in just now, not through an older session).
import type { JWTVerifyGetKey } from 'jose';
import { audiencesOf, verifyRs256Jwt } from './verify-jwt.js';

/** Longest time since the candidate's sign-in that still proves it (DESIGN §14: 5 minutes). */
export const MAX_AUTH_AGE_SECONDS = 5 * 60;
const CLOCK_TOLERANCE_SECONDS = 5;

export type CandidateTokenRefusal =
  'invalid' | 'keys-unavailable' | 'audience' | 'nonce' | 'subject' | 'stale';

export type CandidateTokenCheck = { ok: true } | { ok: false; refusal: CandidateTokenRefusal };

export async function verifyCandidateIdToken(
  idToken: string,
  expected: { keys: JWTVerifyGetKey; issuer: string; clientId: string; nonce: string; subject: string },
  now = Date.now(),
): Promise<CandidateTokenCheck> {
  const result = await verifyRs256Jwt(idToken, {
    keys: expected.keys,
    issuer: expected.issuer,
    clockToleranceSeconds: CLOCK_TOLERANCE_SECONDS,
  });
  if (!result.ok)
    return { ok: false, refusal: result.kind === 'keys-unavailable' ? 'keys-unavailable' : 'invalid' };
  const claims = result.payload;
  const audiences = audiencesOf(claims);
  if (!audiences.includes(expected.clientId) || (audiences.length > 1 && claims.azp !== expected.clientId)) {
    return { ok: false, refusal: 'audience' };
  }
  if (claims.nonce !== expected.nonce) return { ok: false, refusal: 'nonce' };
  if (claims.sub !== expected.subject) return { ok: false, refusal: 'subject' };
  const authTime = claims.auth_time;
  const seconds = now / 1000;
  if (
    typeof authTime !== 'number' ||
    authTime < seconds - MAX_AUTH_AGE_SECONDS ||
    authTime > seconds + CLOCK_TOLERANCE_SECONDS
  ) {
    return { ok: false, refusal: 'stale' };
  }
  return { ok: true };
}
