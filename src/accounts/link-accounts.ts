import { authorizeAdmin, authorizeJwtLink, authorizeUnlink } from '../auth/authorize.js';
import { auth0ConnectionIdPattern, auth0IdentityProviders } from '../auth0/openapi/published-contract.js';
import { assertPathSegment, parseUserId } from '../auth0/user-id.js';
import type { WireIdentity, WireUser } from '../auth0/wire.js';
import type { GatewayContext } from '../context.js';
import { isUnclearWrite } from '../auth0/call-pipeline.js';
import { BadUserInputError, ForbiddenError, NotFoundError } from '../errors.js';
import { recordAccountEvent } from '../events/record-account-event.js';
import { audited, type AuditDraft } from './audit.js';
import type { AdminLinkInput, LinkAccountsInput } from './link-accounts.input.js';
import {
  hasChanges,
  planMetadataMerge,
  restoreStillOurs,
  type MergedMetadataKeys,
  type MetadataKind,
  type MetadataMergePlan,
} from './merge-metadata.js';
import { withPrimaryLock } from './primary-lock.js';
import { asDefinite, hasIdentity, mayBeRepeatedLink, readBack, withOutcome } from './read-back.js';

/** What linkAccounts and unlinkAccount resolve to before the payload's `user` is read. */
export interface AccountChange {
  primaryId: string;
  identities: WireIdentity[];
  /** Link only: the keys a metadata merge changed; null when no merge was asked. */
  mergedMetadata?: MergedMetadataKeys | null;
  /**
   * The primary read back after an unclear or refused answer decided this success (DESIGN §8):
   * the identities are from that read. Audit lines and events carry it as `reconciled: true`.
   */
  reconciled: boolean;
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

/**
 * `provider` must be one of the published contract's `UserIdentityProviderEnum` (admin link,
 * unlink): Auth0 refuses any other, after spending a call of the budget.
 */
function assertIdentityProvider(provider: string, argumentName: string): void {
  if (!auth0IdentityProviders().has(provider)) {
    throw new BadUserInputError(
      `\`${argumentName}\` is not an Auth0 identity provider (one of the Management API provider names, such as auth0, google-oauth2, github or samlp).`,
    );
  }
}

function emailOf(user: WireUser): string | null {
  return typeof user.email === 'string' && user.email !== '' ? user.email.toLowerCase() : null;
}

/**
 * Both users of a link, read with the service token before the link call (the admin policy and
 * the metadata merge share these reads). A missing primary is NOT_FOUND; a missing secondary keeps
 * Auth0's own code for it, 400, unless it is missing because it is already linked to this primary
 * (a repeated link): then `linked` is the primary as read.
 */
async function readLinkPair(
  ctx: GatewayContext,
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
 * Puts back the keys a merge wrote, when the link is known not to have happened (DESIGN §2): only
 * keys whose current value is still this request's, read fresh unless `current` is such a read.
 * Best effort: a failure is logged at error level with the keys (never the values) and recorded
 * in the audit line; the caller gets the link's error either way.
 */
async function restoreMetadata(
  ctx: GatewayContext,
  primaryId: string,
  plan: MetadataMergePlan,
  current?: WireUser | null,
): Promise<'restored' | 'failed'> {
  try {
    const now =
      current ??
      (await ctx.auth0.getUser(primaryId, { kind: 'service' }, { withinMs: ctx.config.auth0.timeoutMs }));
    const restore = restoreStillOurs(plan, now);
    if (restore) await ctx.auth0.updateUser(primaryId, restore);
    return 'restored';
  } catch (error) {
    ctx
      .logger()
      .error(
        { err: error, primaryId, ...plan.keys },
        "could not restore the primary's metadata after a link that did not happen: the merged keys may stay",
      );
    return 'failed';
  }
}

/** What a link needs once every local check passed. */
interface LinkPlan {
  primaryId: string;
  /** `<provider>|<user_id>` of the secondary: the identity the primary carries once linked. */
  secondaryId: string;
  /** Argument path of the secondary, for errors (`input.admin`, `input.jwt.linkWith`). */
  secondaryField: string;
  /** Admin mode under ADMIN_LINK_POLICY=verified-email. */
  policy: boolean;
  /** The metadata kinds to merge; null: no merge asked. */
  mergeKinds: readonly MetadataKind[] | null;
  /** The link call itself. */
  link: () => Promise<WireIdentity[]>;
}

const NO_KEYS: MergedMetadataKeys = { userMetadataKeys: [], appMetadataKeys: [] };

/**
 * Reads (policy, merge), PATCHes the merge, links, and settles every unclear or refused answer by
 * reading the primary back (DESIGN §2, §8). Runs under the primary's lock.
 */
async function runLink(ctx: GatewayContext, draft: AuditDraft, op: LinkPlan): Promise<AccountChange> {
  const { primaryId, secondaryId, mergeKinds } = op;
  let plan: MetadataMergePlan | null = null;
  if (op.policy || mergeKinds) {
    const read = await readLinkPair(ctx, primaryId, secondaryId, op.secondaryField);
    if ('linked' in read) {
      // A repeated link: the secondary is already this primary's identity. Nothing is merged again.
      return {
        primaryId,
        identities: read.linked.identities ?? [],
        mergedMetadata: mergeKinds ? NO_KEYS : null,
        reconciled: true,
      };
    }
    if (op.policy) enforceVerifiedEmailPolicy(...read.pair);
    if (mergeKinds) plan = planMetadataMerge(...read.pair, mergeKinds);
  }
  const merging = plan !== null && hasChanges(plan);
  if (plan && merging) {
    try {
      await ctx.auth0.updateUser(primaryId, plan.update);
    } catch (error) {
      // A PATCH of unknown outcome, and no link after it: whatever of it Auth0 applied goes.
      if (isUnclearWrite(error)) draft.metadataRestore = await restoreMetadata(ctx, primaryId, plan);
      throw error;
    }
  }
  if (plan) draft.mergedMetadata = plan.keys;
  const mergedMetadata = plan ? plan.keys : null;

  try {
    return { primaryId, identities: await op.link(), mergedMetadata, reconciled: false };
  } catch (error) {
    const unclear = isUnclearWrite(error);
    if (!unclear && !mayBeRepeatedLink(error)) {
      // Auth0 refused it: the link did not happen, the merge is undone.
      if (plan && merging) draft.metadataRestore = await restoreMetadata(ctx, primaryId, plan);
      throw error;
    }
    const { primary, applied } = await readBack(ctx, 'link', primaryId, secondaryId);
    if (primary && applied) {
      return { primaryId, identities: primary.identities ?? [], mergedMetadata, reconciled: true };
    }
    if (unclear && !primary) throw withOutcome(error, 'OUTCOME_UNKNOWN');
    if (unclear) draft.reconciled = true;
    // Known not to have happened: an unclear answer the read-back showed unapplied, or a refusal.
    if (plan && merging) draft.metadataRestore = await restoreMetadata(ctx, primaryId, plan, primary);
    throw unclear ? withOutcome(error, 'NOT_APPLIED') : error;
  }
}

/**
 * Admin-mode arguments, checked against Auth0's published contract before any call: `provider`
 * must be one of the document's `UserIdentityProviderEnum` and `connectionId` must match its
 * `connection_id` pattern; Auth0 would refuse anything else, after spending a call of the budget.
 */
function parseAdminInput(admin: AdminLinkInput) {
  const { provider, userId } = parseIdentityArguments(admin, 'input.admin.');
  assertIdentityProvider(provider, 'input.admin.provider');
  const connectionId = admin.connectionId ?? undefined;
  if (connectionId !== undefined && !auth0ConnectionIdPattern().test(connectionId)) {
    throw new BadUserInputError(
      'input.admin.connectionId: must look like con_ followed by 16 letters or digits.',
    );
  }
  return { provider, userId, connectionId };
}

/**
 * linkAccounts (DESIGN §2–§3, §8): every check before any Auth0 call, then the reads, merge and
 * link under the primary's lock; one audit line per attempt.
 */
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

    let op: LinkPlan;
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
      op = {
        primaryId,
        secondaryId: subject,
        secondaryField: 'input.jwt.linkWith',
        policy: false,
        // The ID token proves the secondary's owner; app_metadata belongs to the tenant, not to them.
        mergeKinds: input.jwt.mergeMetadata ? ['user_metadata'] : null,
        link: () =>
          ctx.auth0.linkIdentity(primaryId, { link_with: linkWith }, { kind: 'user', token: caller.token }),
      };
    } else {
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
      op = {
        primaryId,
        secondaryId,
        secondaryField: 'input.admin',
        policy: ctx.config.admin.linkPolicy === 'verified-email',
        mergeKinds: input.admin!.mergeMetadata === true ? ['user_metadata', 'app_metadata'] : null,
        link: () => ctx.auth0.linkIdentity(primaryId, body, { kind: 'service' }),
      };
    }

    try {
      return await withPrimaryLock(ctx, primaryId, async () => {
        const change = await runLink(ctx, draft, op);
        // The one success point of a link, read-back decided or not. Still under the primary's
        // lock: events written to the outbox here are in order per primary.
        if (change.reconciled) draft.reconciled = true;
        await recordAccountEvent(ctx, 'account.linked', draft, change);
        return change;
      });
    } catch (error) {
      throw asDefinite(error);
    }
  });
}

/**
 * unlinkAccount: the primary user (own token forwarded) or an admin (service token), under the
 * primary's lock; an unclear answer is settled by reading the primary back (DESIGN §8).
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

    const unlink = async (): Promise<AccountChange> => {
      try {
        const identities = await ctx.auth0.unlinkIdentity(primaryId, provider, userId, auth);
        return { primaryId, identities, reconciled: false };
      } catch (error) {
        if (!isUnclearWrite(error)) throw error;
        const { primary, applied } = await readBack(ctx, 'unlink', primaryId, secondaryId);
        if (!primary) throw withOutcome(error, 'OUTCOME_UNKNOWN');
        if (applied) return { primaryId, identities: primary.identities ?? [], reconciled: true };
        draft.reconciled = true;
        throw withOutcome(error, 'NOT_APPLIED');
      }
    };
    try {
      return await withPrimaryLock(ctx, primaryId, async () => {
        const change = await unlink();
        // The one success point of an unlink, read-back decided or not. Still under the primary's
        // lock: events written to the outbox here are in order per primary.
        if (change.reconciled) draft.reconciled = true;
        await recordAccountEvent(ctx, 'account.unlinked', draft, change);
        return change;
      });
    } catch (error) {
      throw asDefinite(error);
    }
  });
}
