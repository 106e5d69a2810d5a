// Who else has this user's email (DESIGN §14): users with the same verified email, regardless of
// case, other than the user. Read with the service token through the Management API client.
import type { Auth0ManagementApi } from '../auth0/management-api.js';
import type { WireUser } from '../auth0/wire.js';
import { NotFoundError } from '../errors.js';
import type { LoginLinkCandidate } from './session-cookie.js';

export interface CandidateSearch {
  /** The user as read; null when Auth0 has no such user. */
  user: WireUser | null;
  candidates: (LoginLinkCandidate & { email: string })[];
}

function verifiedEmail(user: WireUser): string | null {
  return user.email_verified === true && typeof user.email === 'string' && user.email !== ''
    ? user.email.toLowerCase()
    : null;
}

export async function findLinkCandidates(
  auth0: Auth0ManagementApi,
  userId: string,
): Promise<CandidateSearch> {
  let user: WireUser;
  try {
    user = await auth0.getUser(userId);
  } catch (error) {
    if (error instanceof NotFoundError) return { user: null, candidates: [] };
    throw error;
  }
  const email = verifiedEmail(user);
  // An unverified email proves nothing: no one is suggested to its owner.
  if (email === null) return { user, candidates: [] };
  const found = await auth0.searchUsersByEmail(email);
  const candidates = found
    .filter((other) => other.user_id !== userId && verifiedEmail(other) === email)
    .map((other) => ({
      userId: other.user_id,
      connection: other.identities?.[0]?.connection ?? other.user_id.split('|')[0],
      email: other.email as string,
    }));
  return { user, candidates };
}

/** `alice@example.com` → `a***@example.com`: enough to recognise, nothing to harvest. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at <= 0) return '***';
  return `${email[0]}***${email.slice(at)}`;
}
