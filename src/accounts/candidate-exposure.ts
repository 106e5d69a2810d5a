import type { Caller } from '../auth/caller.js';
import type { User } from './user.type.js';

/**
 * What a non-admin may see of link candidates (DESIGN §13): who they are (`id`, `email`,
 * `emailVerified`, `name`, `picture`) and which identities they have, but not those identities'
 * `profileData` (other people's phone numbers and other emails: a shared email proves no control
 * of the account) nor their metadata. Admins see everything.
 */
export function limitCandidateExposure(candidates: User[], caller: Caller | null): User[] {
  if (caller?.isAdmin) return candidates;
  return candidates.map((candidate) => ({
    ...candidate,
    identities: candidate.identities.map((identity) => ({ ...identity, profileData: null })),
    metadata: null,
  }));
}
