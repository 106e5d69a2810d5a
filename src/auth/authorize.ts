// DESIGN §3 as code. Each rule throws before any Auth0 call: UNAUTHENTICATED when there is no
// valid caller token, then FORBIDDEN (reason SUBJECT_MISMATCH or INSUFFICIENT_SCOPE).
import { ForbiddenError, UnauthenticatedError } from '../errors.js';
import type { Caller } from './caller.js';
import type { CallerResult } from './verify-access-token.js';

/** What the rules need to word their refusals; pass it to name the admin permission in messages. */
export interface AuthPolicy {
  adminPermission: string;
}

/** Scope a user's Management API token needs to link or unlink its own identities. */
export const USER_IDENTITIES_SCOPE = 'update:current_user_identities';

function adminPermissionName(policy: AuthPolicy | undefined): string {
  return policy ? `'${policy.adminPermission}'` : 'the admin permission (ADMIN_PERMISSION)';
}

/** The verified caller, or throws: the verifier's UNAUTHENTICATED error, or one for a missing token. */
export function requireCaller(result: CallerResult): Caller {
  if (result.error) throw result.error;
  if (!result.caller) {
    throw new UnauthenticatedError(
      "This operation needs a bearer token: send 'Authorization: Bearer <access token>'.",
    );
  }
  return result.caller;
}

function requireSubject(caller: Caller, userId: string, alternative: string): void {
  if (caller.subject !== userId) {
    throw new ForbiddenError(
      `The bearer token's subject (sub) is not the user this operation acts on (primaryId); ${alternative}.`,
      { reason: 'SUBJECT_MISMATCH' },
    );
  }
}

// The caller's token is forwarded to Auth0 as-is, so it must be a Management API token that
// Auth0 itself will accept for the user's own identities.
function requireUserIdentitiesScope(caller: Caller, operation: string): void {
  if (!caller.isManagementToken) {
    throw new ForbiddenError(
      `${operation} needs the user's Management API access token (audience <origin>/api/v2/) with scope '${USER_IDENTITIES_SCOPE}'; the bearer token is for another audience.`,
      { reason: 'INSUFFICIENT_SCOPE' },
    );
  }
  if (!caller.scopes.has(USER_IDENTITIES_SCOPE)) {
    throw new ForbiddenError(`${operation} needs scope '${USER_IDENTITIES_SCOPE}' in the bearer token.`, {
      reason: 'INSUFFICIENT_SCOPE',
    });
  }
}

/** `linkAccounts` in JWT mode: the primary's own Management API token with `update:current_user_identities`. */
export function authorizeJwtLink(result: CallerResult, primaryId: string): Caller {
  const caller = requireCaller(result);
  requireSubject(caller, primaryId, "JWT-mode linking must be done with the primary user's own token");
  requireUserIdentitiesScope(caller, 'JWT-mode linking');
  return caller;
}

/** `linkAccounts` in admin mode: a token for ADMIN_AUDIENCE with ADMIN_PERMISSION in scope or permissions. */
export function authorizeAdmin(result: CallerResult, policy?: AuthPolicy): Caller {
  const caller = requireCaller(result);
  if (!caller.isAdmin) {
    throw new ForbiddenError(
      `This operation needs a token for the admin audience carrying ${adminPermissionName(policy)} in its scope or permissions.`,
      { reason: 'INSUFFICIENT_SCOPE' },
    );
  }
  return caller;
}

/**
 * `unlinkAccount`: an admin (service token upstream) or the primary user's own Management API token
 * with `update:current_user_identities` (forwarded upstream). An admin token wins.
 */
export function authorizeUnlink(
  result: CallerResult,
  primaryId: string,
  policy?: AuthPolicy,
): { caller: Caller; mode: 'admin' | 'user' } {
  const caller = requireCaller(result);
  if (caller.isAdmin) return { caller, mode: 'admin' };
  requireSubject(
    caller,
    primaryId,
    `unlinking needs the primary user's own token or ${adminPermissionName(policy)}`,
  );
  requireUserIdentitiesScope(caller, 'Unlinking with a user token');
  return { caller, mode: 'user' };
}

/**
 * `me`, `user`, `linkCandidates` and `User` entities: any valid token of ours for its own subject, or
 * an admin. An admin token reports mode `admin` even for its own subject.
 */
export function authorizeUserRead(
  result: CallerResult,
  userId: string,
  policy?: AuthPolicy,
): { caller: Caller; mode: 'admin' | 'self' } {
  const caller = requireCaller(result);
  if (caller.isAdmin) return { caller, mode: 'admin' };
  if (caller.subject !== userId) {
    throw new ForbiddenError(
      `The bearer token's subject (sub) is not the requested user; reading another user needs ${adminPermissionName(policy)}.`,
      { reason: 'SUBJECT_MISMATCH' },
    );
  }
  return { caller, mode: 'self' };
}

/**
 * `User.userMetadata`: the user themself or an admin. `User.appMetadata`: admins only, as it belongs
 * to the tenant (plans, CRM ids), not to the user. A refusal nulls that one field (FORBIDDEN on it);
 * the rest of the user is still answered.
 */
export function authorizeMetadataRead(
  result: CallerResult,
  userId: string,
  kind: 'userMetadata' | 'appMetadata',
  policy?: AuthPolicy,
): void {
  if (kind === 'userMetadata') {
    authorizeUserRead(result, userId, policy);
    return;
  }
  if (!requireCaller(result).isAdmin) {
    throw new ForbiddenError(
      `User.appMetadata is for admins only: it needs ${adminPermissionName(policy)}.`,
      {
        reason: 'INSUFFICIENT_SCOPE',
      },
    );
  }
}
