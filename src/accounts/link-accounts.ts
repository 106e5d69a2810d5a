import { authorizeAdmin, authorizeJwtLink, authorizeUnlink } from '../auth/authorize.js';
import { assertPathSegment, parseUserId } from '../auth0/user-id.js';
import type { WireIdentity, WireUser } from '../auth0/wire.js';
import type { GatewayContext } from '../context.js';
import {
  BadUserInputError,
  ForbiddenError,
  NotFoundError,
  UpstreamError,
  UpstreamTimeoutError,
} from '../errors.js';
import { audited, type AuditDraft } from './audit.js';
import type { AdminLinkInput, LinkAccountsInput } from './link-accounts.input.js';
import {
  hasChanges,
  planMetadataMerge,
  type MergedMetadataKeys,
  type MetadataKind,
  type MetadataMergePlan,
} from './merge-metadata.js';

/** What linkAccounts and unlinkAccount resolve to before the payload's `user` is read. */
export interface AccountChange {
  primaryId: string;
  identities: WireIdentity[];
  /** Link only: the keys a metadata merge changed; null when no merge was asked. */
  mergedMetadata?: MergedMetadataKeys | null;
}

/**
 * The identity id Auth0 wants for `provider`: the full `<provider>|<id>` form is accepted and
 * its prefix stripped, at the first `|` only ("auth0|Conn|123" → "Conn|123"). An id whose own
 * first part is not the provider ("Conn|123" for auth0) is already bare and kept whole.
 */
export function toIdentityUserId(provider: string, userId: string): string {
  const prefix = `${provider}|`;
  return userId.startsWith(prefix) ? userId.slice(prefix.length) : userId;
}

/**
 * The secondary identity named by a `provider` and `userId` argument pair (admin link, unlink):
 * both checked as path segments, `userId` after its `<provider>|` prefix is stripped.
 * `argumentPath` prefixes the names in errors (`input.admin.`).
 */
function parseIdentityArguments(args: { provider: string; userId: string }, argumentPath = '') {
  const provider = assertPathSegment(args.provider, `${argumentPath}provider`);
  const userId = assertPathSegment(toIdentityUserId(provider, args.userId), `${argumentPath}userId`);
  return { provider, userId };
}

function emailOf(user: WireUser): string | null {
  return typeof user.email === 'string' && user.email !== '' ? user.email.toLowerCase() : null;
}

/**
 * Both users of a link, read with the service token before the link call (the admin policy and
 * the metadata merge share these reads). A missing primary is NOT_FOUND; a missing secondary keeps
 * Auth0's own code for it, 400.
 */
async function readLinkPair(
  ctx: GatewayContext,
  primaryId: string,
  secondaryId: string,
  secondaryField: string,
): Promise<[WireUser, WireUser]> {
  return Promise.all([
    ctx.auth0.getUser(primaryId).catch((error: unknown) => {
      if (error instanceof NotFoundError) {
        throw new NotFoundError(`primaryId: no user ${primaryId} exists.`, {
          reason: 'PRIMARY_NOT_FOUND',
          cause: error,
        });
      }
      throw error;
    }),
    ctx.auth0.getUser(secondaryId).catch((error: unknown) => {
      if (error instanceof NotFoundError) {
        throw new BadUserInputError(`${secondaryField}: no standalone user ${secondaryId} exists to link.`, {
          reason: 'SECONDARY_NOT_FOUND',
          cause: error,
        });
      }
      throw error;
    }),
  ]);
}

/**
 * Admin-mode link policy (DESIGN §3): without proof that one person controls both accounts,
 * both must carry the same verified email.
 */
function enforceVerifiedEmailPolicy(primary: WireUser, secondary: WireUser): void {
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

/**
 * Puts the primary's metadata back after a failed link (or a merge PATCH of unknown outcome). Best effort: a failure is logged at error
 * level with the keys (never the values) and recorded in the audit line; the link's error is what
 * the caller gets either way.
 */
async function restoreMetadata(
  ctx: GatewayContext,
  primaryId: string,
  plan: MetadataMergePlan,
): Promise<'restored' | 'failed'> {
  try {
    await ctx.auth0.updateUser(primaryId, plan.restore);
    return 'restored';
  } catch (error) {
    ctx
      .logger()
      .error(
        { err: error, primaryId, ...plan.keys },
        "could not restore the primary's metadata after a failed merge or link: the merged keys may stay",
      );
    return 'failed';
  }
}

/**
 * The metadata merge around a link (DESIGN §2): one PATCH of the primary before the link call (none
 * when nothing changes), undone if the link then fails, so a refused link leaves the primary as
 * it was.
 */
async function linkMergingMetadata(
  ctx: GatewayContext,
  draft: AuditDraft,
  pair: [WireUser, WireUser],
  kinds: readonly MetadataKind[],
  link: () => Promise<WireIdentity[]>,
): Promise<AccountChange> {
  const [primary, secondary] = pair;
  const plan = planMetadataMerge(primary, secondary, kinds);
  const primaryId = primary.user_id;
  if (hasChanges(plan)) {
    try {
      await ctx.auth0.updateUser(primaryId, plan.update);
    } catch (error) {
      // A 5xx or a timeout leaves the outcome unknown: Auth0 may have applied the merge. The
      // restore only writes the primary's own old values back, so sending it is harmless either way.
      if (error instanceof UpstreamError || error instanceof UpstreamTimeoutError) {
        draft.metadataRestore = await restoreMetadata(ctx, primaryId, plan);
      }
      throw error;
    }
  }
  draft.mergedMetadata = plan.keys;
  try {
    return { primaryId, identities: await link(), mergedMetadata: plan.keys };
  } catch (error) {
    if (hasChanges(plan)) draft.metadataRestore = await restoreMetadata(ctx, primaryId, plan);
    throw error;
  }
}

function parseAdminInput(admin: AdminLinkInput) {
  const { provider, userId } = parseIdentityArguments(admin, 'input.admin.');
  const connectionId = admin.connectionId ?? undefined;
  if (connectionId !== undefined && !/^con_[A-Za-z0-9]{16}$/.test(connectionId)) {
    throw new BadUserInputError(
      'input.admin.connectionId: must look like con_ followed by 16 letters or digits.',
    );
  }
  return { provider, userId, connectionId };
}

/** linkAccounts (DESIGN §2–§3): every check before any Auth0 call, one audit line per attempt. */
export function linkAccounts(
  ctx: GatewayContext,
  primaryId: string,
  input: LinkAccountsInput,
): Promise<AccountChange> {
  return audited(ctx.audit, { event: 'account.link', primaryId }, async (draft) => {
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
      const link = () =>
        ctx.auth0.linkIdentity(primaryId, { link_with: linkWith }, { kind: 'user', token: caller.token });
      if (!input.jwt.mergeMetadata) return { primaryId, identities: await link(), mergedMetadata: null };
      // The ID token proves the secondary's owner; app_metadata belongs to the tenant, not to them.
      const pair = await readLinkPair(ctx, primaryId, subject, 'input.jwt.linkWith');
      return linkMergingMetadata(ctx, draft, pair, ['user_metadata'], link);
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
    const link = () => ctx.auth0.linkIdentity(primaryId, body, { kind: 'service' });
    const policy = ctx.config.admin.linkPolicy === 'verified-email';
    const merge = input.admin!.mergeMetadata === true;
    if (!policy && !merge) return { primaryId, identities: await link(), mergedMetadata: null };
    const pair = await readLinkPair(ctx, primaryId, secondaryId, 'input.admin');
    if (policy) enforceVerifiedEmailPolicy(...pair);
    if (!merge) return { primaryId, identities: await link(), mergedMetadata: null };
    return linkMergingMetadata(ctx, draft, pair, ['user_metadata', 'app_metadata'], link);
  });
}

/** unlinkAccount: the primary user (own token forwarded) or an admin (service token). */
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
    draft.secondary = `${provider}|${userId}`;
    const { caller, mode } = authorizeUnlink(ctx.auth, primaryId, {
      adminPermission: ctx.config.admin.permission,
    });
    draft.mode = mode;
    // A user's id is its main identity's `<provider>|<user_id>`; Auth0 refuses to remove it.
    if (draft.secondary === primaryId) {
      throw new BadUserInputError("The primary's own (main) identity cannot be unlinked.", {
        reason: 'MAIN_IDENTITY',
      });
    }
    const auth =
      mode === 'admin' ? ({ kind: 'service' } as const) : ({ kind: 'user', token: caller.token } as const);
    const identities = await ctx.auth0.unlinkIdentity(primaryId, provider, userId, auth);
    return { primaryId, identities };
  });
}
