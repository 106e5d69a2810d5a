// linkAccounts and unlinkAccount as GraphQL answers them (DESIGN §2–§3, §8): the caller's checks
// and the arguments before any Auth0 call, then the link or unlink core under the primary's lock;
// one audit line per attempt.
import { authorizeAdmin, authorizeJwtLink, authorizeUnlink } from '../auth/authorize.js';
import { parseUserId } from '../auth0/user-id.js';
import type { GatewayContext } from '../context.js';
import { BadUserInputError } from '../errors.js';
import { audited, type AuditDraft } from './audit.js';
import { linkUnderLock, type LinkRequest } from './link-core.js';
import type { LinkAccountsInput } from './link-accounts.input.js';
import { assertIdentityProvider, parseAdminInput, parseIdentityArguments } from './link-input.js';
import { unlinkUnderLock } from './unlink-core.js';
import type { AccountChange } from './write-context.js';

export type { AccountChange } from './write-context.js';

/** linkAccounts: every check before any Auth0 call, then the link core. */
export function linkAccounts(
  ctx: GatewayContext,
  primaryId: string,
  input: LinkAccountsInput,
): Promise<AccountChange> {
  return audited(ctx.audit, { event: 'account.link', primaryId }, async (draft) =>
    linkUnderLock(ctx, draft, await checkLinkRequest(ctx, draft, primaryId, input)),
  );
}

/**
 * Every check linkAccounts makes before any Auth0 call (caller, its limit, scope or permission,
 * arguments, `linkWith`, same account), as DESIGN §4 errors: the link this input asks for, ready
 * for the core. linkPreview runs the same function, so a preview refuses exactly as the link would.
 * `draft` learns the mode, secondary and caller as they become known (the audit line's fields).
 */
export async function checkLinkRequest(
  ctx: GatewayContext,
  draft: AuditDraft,
  primaryId: string,
  input: LinkAccountsInput,
): Promise<LinkRequest> {
  draft.callerSubject = ctx.auth.caller?.subject ?? null;
  if (draft.callerSubject !== null) await ctx.limitCaller(draft.callerSubject);
  parseUserId(primaryId, 'primaryId');
  // graphql-js enforces the OneOf rule; this guards callers that bypass validation.
  if ((input.jwt == null) === (input.admin == null)) {
    throw new BadUserInputError('input: give exactly one of `jwt` or `admin`.');
  }

  if (input.jwt) {
    draft.mode = 'jwt';
    const caller = authorizeJwtLink(ctx.auth, primaryId);
    // Trimmed once: the string checked is the string sent (an untrimmed copy could differ).
    const linkWith = input.jwt.linkWith.trim();
    const { subject } = await ctx.verifyLinkToken(linkWith, caller);
    draft.secondary = subject;
    if (subject === primaryId) {
      throw new BadUserInputError('input.jwt.linkWith: the ID token is of the primary account itself.', {
        reason: 'SAME_ACCOUNT',
      });
    }
    return {
      primaryId,
      secondaryId: subject,
      secondaryField: 'input.jwt.linkWith',
      mode: 'jwt',
      callerSubject: draft.callerSubject,
      verifiedEmailPolicy: false,
      // The ID token proves the secondary's owner; app_metadata belongs to the tenant, not to them.
      mergeKinds: input.jwt.mergeMetadata ? ['user_metadata'] : null,
      link: () =>
        ctx.auth0.linkIdentity(primaryId, { link_with: linkWith }, { kind: 'user', token: caller.token }),
    };
  }
  draft.mode = 'admin';
  authorizeAdmin(ctx.auth, { adminPermission: ctx.config.admin.permission });
  const { provider, userId, connectionId } = parseAdminInput(input.admin!);
  const secondaryId = `${provider}|${userId}`;
  draft.secondary = secondaryId;
  if (secondaryId === primaryId) {
    throw new BadUserInputError('input.admin: the secondary is the primary account itself.', {
      reason: 'SAME_ACCOUNT',
    });
  }
  const body = connectionId
    ? { provider, user_id: userId, connection_id: connectionId }
    : { provider, user_id: userId };
  return {
    primaryId,
    secondaryId,
    secondaryField: 'input.admin',
    mode: 'admin',
    callerSubject: draft.callerSubject,
    verifiedEmailPolicy: ctx.config.admin.linkPolicy === 'verified-email',
    mergeKinds: input.admin!.mergeMetadata === true ? ['user_metadata', 'app_metadata'] : null,
    carry: {
      roles: input.admin!.carryRoles === true,
      organizations: input.admin!.carryOrganizations === true,
    },
    link: () => ctx.auth0.linkIdentity(primaryId, body, { kind: 'service' }),
  };
}

/**
 * unlinkAccount: the primary user (own token forwarded) or an admin (service token); the checks,
 * then the unlink core.
 */
export function unlinkAccount(
  ctx: GatewayContext,
  primaryId: string,
  providerArg: string,
  userIdArg: string,
): Promise<AccountChange> {
  return audited(ctx.audit, { event: 'account.unlink', primaryId }, async (draft) => {
    draft.callerSubject = ctx.auth.caller?.subject ?? null;
    // Attempts by callers without a valid token are refused below and count for nobody.
    if (draft.callerSubject !== null) await ctx.limitCaller(draft.callerSubject);
    parseUserId(primaryId, 'primaryId');
    const { provider, userId } = parseIdentityArguments({ provider: providerArg, userId: userIdArg });
    assertIdentityProvider(provider, 'provider');
    const secondaryId = `${provider}|${userId}`;
    draft.secondary = secondaryId;
    const { caller, mode } = authorizeUnlink(ctx.auth, primaryId, {
      adminPermission: ctx.config.admin.permission,
    });
    draft.mode = mode;
    // A user's id is its main identity's `<provider>|<user_id>`; Auth0 refuses to remove it.
    if (secondaryId === primaryId) {
      throw new BadUserInputError("The primary's own (main) identity cannot be unlinked.", {
        reason: 'MAIN_IDENTITY',
      });
    }
    const auth =
      mode === 'admin' ? ({ kind: 'service' } as const) : ({ kind: 'user', token: caller.token } as const);
    return unlinkUnderLock(ctx, draft, {
      primaryId,
      secondaryId,
      mode,
      callerSubject: draft.callerSubject,
      unlink: () => ctx.auth0.unlinkIdentity(primaryId, provider, userId, auth),
    });
  });
}
