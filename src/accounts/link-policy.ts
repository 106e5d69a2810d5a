// What a link reads before it writes: both users with the service token, shared by the admin
// email policy (DESIGN §3) and the metadata merge (DESIGN §2).
import type { WireUser } from '../auth0/wire.js';
import { BadUserInputError, ForbiddenError, NotFoundError } from '../errors.js';
import { hasIdentity } from './read-back.js';
import type { AccountWriteContext } from './write-context.js';

function emailOf(user: WireUser): string | null {
  return typeof user.email === 'string' && user.email !== '' ? user.email.toLowerCase() : null;
}

/**
 * The secondary as it is before a link whose only reads serve the undo record (DESIGN §15): one
 * read where both users would cost two. A missing secondary is read again as the primary's
 * identity: `linked` when it already is one (a repeated link, answered as `readLinkPair` answers
 * it), else `null`, and the link call gets Auth0's own answer, as with the undo window off.
 */
export async function readSecondaryForUndo(
  ctx: Pick<AccountWriteContext, 'auth0'>,
  primaryId: string,
  secondaryId: string,
): Promise<{ secondary: WireUser } | { linked: WireUser } | null> {
  try {
    return { secondary: await ctx.auth0.getUser(secondaryId) };
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
  }
  try {
    const primary = await ctx.auth0.getUser(primaryId);
    return hasIdentity(primary, secondaryId) ? { linked: primary } : null;
  } catch (error) {
    if (error instanceof NotFoundError) return null;
    throw error;
  }
}

/**
 * Both users of a link, read with the service token before the link call. A missing primary is
 * NOT_FOUND; a missing secondary keeps Auth0's own code for it, 400, unless it is missing because
 * it is already linked to this primary (a repeated link): then `linked` is the primary as read.
 */
export async function readLinkPair(
  ctx: Pick<AccountWriteContext, 'auth0'>,
  primaryId: string,
  secondaryId: string,
  secondaryField: string,
): Promise<{ pair: [WireUser, WireUser] } | { linked: WireUser }> {
  const [primary, secondary] = await Promise.allSettled([
    ctx.auth0.getUser(primaryId),
    ctx.auth0.getUser(secondaryId),
  ]);
  if (primary.status === 'rejected') {
    if (primary.reason instanceof NotFoundError) {
      throw new NotFoundError(`primaryId: no user ${primaryId} exists.`, {
        reason: 'PRIMARY_NOT_FOUND',
        cause: primary.reason,
      });
    }
    throw primary.reason;
  }
  if (secondary.status === 'rejected') {
    if (!(secondary.reason instanceof NotFoundError)) throw secondary.reason;
    if (hasIdentity(primary.value, secondaryId)) return { linked: primary.value };
    throw new BadUserInputError(`${secondaryField}: no standalone user ${secondaryId} exists to link.`, {
      reason: 'SECONDARY_NOT_FOUND',
      cause: secondary.reason,
    });
  }
  return { pair: [primary.value, secondary.value] };
}

/**
 * Admin-mode link policy (DESIGN §3): without proof that one person controls both accounts,
 * both must carry the same verified email.
 */
export function enforceVerifiedEmailPolicy(primary: WireUser, secondary: WireUser): void {
  if (primary.email_verified !== true || secondary.email_verified !== true) {
    throw new ForbiddenError(
      'Admin link refused by ADMIN_LINK_POLICY=verified-email: both users must have a verified email.',
      { reason: 'EMAIL_NOT_VERIFIED' },
    );
  }
  const primaryEmail = emailOf(primary);
  if (primaryEmail === null || primaryEmail !== emailOf(secondary)) {
    throw new ForbiddenError(
      'Admin link refused by ADMIN_LINK_POLICY=verified-email: the two users have different emails.',
      { reason: 'EMAIL_MISMATCH' },
    );
  }
}
