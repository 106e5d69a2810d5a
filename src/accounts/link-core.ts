// The link itself, for every caller: linkAccounts (GraphQL) and callers that are not GraphQL
// (linking at login, the duplicate clean-up, undo). Reads (policy, merge), PATCHes the merge, links,
// and settles every unclear or refused answer by reading the primary back (DESIGN §2, §8), all
// under the primary's lock, with the event at the one success point.
import { unclearWriteKind } from '../auth0/call-pipeline.js';
import type { WireIdentity, WireUser } from '../auth0/wire.js';
import type { HeldWriterLock } from '../shared-state/shared-state.js';
import { audited, type AuditDraft } from './audit.js';
import {
  applyCarryOver,
  isEmptyCarry,
  newCarryProgress,
  planCarryOver,
  readHoldings,
  removeCarried,
  type CarryKinds,
  type CarryOverPlan,
} from './carry-over.js';
import { enforceVerifiedEmailPolicy, readLinkPair, readSecondaryForUndo } from './link-policy.js';
import {
  hasChanges,
  planMetadataMerge,
  type MergedMetadataKeys,
  type MetadataKind,
  type MetadataMergePlan,
} from './merge-metadata.js';
import { assertLockHeld, confirmLockHeld, underPrimaryLock } from './primary-lock.js';
import { notAppliedByReadBack, readBack, withOutcome, writeFailure } from './read-back.js';
import { restoreMetadata } from './restore-metadata.js';
import { needsReadBack, settleLinkFailure } from './settle-failure.js';
import { putUndoRecord, type UndoSnapshot } from './undo-link.js';
import type { AccountChange, AccountWriteContext, CarriedOver, WriteAttempt } from './write-context.js';

/** Who asked for a link: the caller's own token, an admin, or the service itself (DESIGN §12). */
export type LinkMode = 'jwt' | 'admin' | 'login' | 'dedupe';

/** One link, once every check of its caller passed. */
export interface LinkRequest {
  primaryId: string;
  /** `<provider>|<user_id>` of the secondary: the identity the primary carries once linked. */
  secondaryId: string;
  mode: LinkMode;
  /** `sub` of the caller's token; `null` for the service itself. */
  callerSubject: string | null;
  /** Read both users first and refuse unless they share a verified email (DESIGN §3). */
  verifiedEmailPolicy: boolean;
  /** The metadata kinds to merge; null: no merge asked. */
  mergeKinds: readonly MetadataKind[] | null;
  /** Admin mode: the secondary's roles and memberships to give the primary (DESIGN §15); null: none. */
  carry?: CarryKinds | null;
  /** The link call itself (the caller's token or the service's). */
  link: () => Promise<WireIdentity[]>;
  /** Argument path of the secondary, for errors (`input.admin`); default `secondaryId`. */
  secondaryField?: string;
}

const NO_KEYS: MergedMetadataKeys = { userMetadataKeys: [], appMetadataKeys: [] };

// An unclear merge PATCH: the link was never sent (review M8).
const MERGE_UNKNOWN =
  'The link was not made, and whether Auth0 kept the metadata update is unknown: the merged metadata keys may remain on the primary. Read the user before retrying.';
const MERGE_UNDONE = 'The link was not made, and the metadata update was undone: safe to retry.';
// A role or membership write of the carry-over failed: the link was never sent.
const CARRY_UNKNOWN =
  'The link was not made, and some roles, memberships or merged metadata keys this request added may remain on the primary. Read the user before retrying.';
const CARRY_UNDONE =
  'The link was not made, and the roles, memberships and metadata this request added were removed: safe to retry.';

async function runLink(
  ctx: AccountWriteContext,
  draft: AuditDraft,
  request: LinkRequest,
  lock: HeldWriterLock,
  attempt: WriteAttempt,
): Promise<AccountChange> {
  const { primaryId, secondaryId, mergeKinds } = request;
  const target = { primaryId, secondaryId };
  const carryKinds =
    request.carry && (request.carry.roles || request.carry.organizations) ? request.carry : null;
  let carry: CarryOverPlan | null = null;
  const progress = newCarryProgress();
  // DESIGN §15: with LINK_UNDO_WINDOW, the secondary as it was is kept for undoLink.
  const undoOn = ctx.undoRecords !== undefined && ctx.config.linkUndoWindowMs > 0;
  let secondaryBefore: WireUser | null = null;
  let undoHoldings: Pick<UndoSnapshot, 'roles' | 'organizations'> | null = null;
  const readForUndoOnly = undoOn && !request.verifiedEmailPolicy && !mergeKinds && !carryKinds;
  const applied = (
    identities: WireIdentity[] | undefined,
    mergedMetadata: MergedMetadataKeys | null,
    reconciled: boolean,
    alreadyMade = false,
  ): AccountChange => ({
    primaryId,
    secondaryId,
    identities: identities ?? [],
    mergedMetadata,
    carriedOver: carriedOverOf(mergeKinds, carryKinds, mergedMetadata, alreadyMade ? null : carry),
    carried: alreadyMade ? undefined : progress.added,
    reconciled,
    alreadyMade,
    undo:
      alreadyMade || !secondaryBefore || !undoHoldings
        ? undefined
        : {
            secondary: secondaryBefore,
            ...undoHoldings,
            merge: merge ? { update: merge.update, restore: merge.restore } : null,
            carried: progress.added,
          },
  });

  let plan: MetadataMergePlan | null = null;
  if (readForUndoOnly) {
    // Read only for the undo record: the secondary alone. Any failure costs the undo, never the
    // link, and a missing user is left to Auth0's own answer to the link call.
    const read = await readSecondaryForUndo(ctx, primaryId, secondaryId).catch((error: unknown) => {
      undoNotKept(ctx, secondaryId, error);
      return null;
    });
    if (read && 'linked' in read) return applied(read.linked.identities, null, true, true);
    if (read) secondaryBefore = read.secondary;
  } else if (request.verifiedEmailPolicy || mergeKinds || carryKinds || undoOn) {
    const read = await readLinkPair(ctx, primaryId, secondaryId, request.secondaryField ?? 'secondaryId');
    // A repeated link: the secondary is already this primary's identity. Nothing is merged or
    // carried again.
    if ('linked' in read) return applied(read.linked.identities, mergeKinds ? NO_KEYS : null, true, true);
    if (request.verifiedEmailPolicy) enforceVerifiedEmailPolicy(...read.pair);
    if (mergeKinds) plan = planMetadataMerge(...read.pair, mergeKinds);
    if (undoOn) secondaryBefore = read.pair[1];
  }
  if (carryKinds) {
    carry = await planCarryOver(ctx, primaryId, secondaryId, carryKinds);
    draft.carriedOver = {
      roleIds: carry.roles.map((role) => role.id),
      organizationIds: carry.organizations.map((membership) => membership.organizationId),
    };
  }
  if (secondaryBefore) {
    // The carry-over's reads already hold the secondary's roles or memberships; only the rest is
    // read. These reads serve the undo alone: when they fail (a Management API application
    // without the role and organization scopes, Auth0 unavailable), the link goes on without an
    // undo record.
    try {
      const rest = await readHoldings(ctx, secondaryId, {
        roles: !carryKinds?.roles,
        organizations: !carryKinds?.organizations,
      });
      undoHoldings = {
        roles: carryKinds?.roles ? (carry?.roles ?? []) : rest.roles,
        organizations: carryKinds?.organizations ? (carry?.organizations ?? []) : rest.organizations,
      };
    } catch (error) {
      undoNotKept(ctx, secondaryId, error);
    }
  }
  const merge: MetadataMergePlan | null = plan !== null && hasChanges(plan) ? plan : null;
  const mergedMetadata = plan ? plan.keys : null;

  /**
   * The one decision for a link known not to have happened (DESIGN §2, §15): what this request
   * wrote before it is put back, the merged keys still as it left them and exactly the roles and
   * memberships it added. When the restore's fresh read shows the link made after all, nothing is
   * put back (`linked`). `current`: a read of the primary already made after the failure.
   */
  const putBack = async (
    current?: WireUser | null,
  ): Promise<{ linked: WireUser } | { complete: boolean }> => {
    let complete = true;
    if (merge) {
      const restore = await restoreMetadata(ctx, lock, target, merge, current);
      if (restore.outcome === 'linked') return { linked: restore.primary };
      draft.metadataRestore = restore.outcome;
      if (restore.outcome === 'failed' && restore.lockLost) assertLockHeld(lock, 'metadata restore', true);
      complete = restore.outcome === 'restored';
    }
    if (!isEmptyCarry(progress.added)) {
      const removed = await removeCarried(ctx, lock, primaryId, progress.added);
      draft.carryRemoval = removed ? 'removed' : 'failed';
      if (!removed && lock.signal.aborted) assertLockHeld(lock, 'carry-over removal', true);
      complete &&= removed;
    }
    return { complete };
  };

  if (merge) {
    await confirmLockHeld(lock, 'metadata merge');
    try {
      await ctx.auth0.updateUser(primaryId, merge.update);
    } catch (error) {
      const unclear = unclearWriteKind(error);
      // Refused: Auth0 changed nothing, and the default outcome (NOT_APPLIED) says so.
      if (unclear === null) throw error;
      // Not answered: Auth0 may still apply it after any restore, so none is tried.
      if (unclear === 'unanswered') throw withOutcome(error, 'OUTCOME_UNKNOWN', MERGE_UNKNOWN);
      const restore = await restoreMetadata(ctx, lock, target, merge);
      if (restore.outcome === 'linked') {
        draft.mergedMetadata = merge.keys;
        return applied(restore.primary.identities, mergedMetadata, true, true);
      }
      draft.metadataRestore = restore.outcome;
      if (restore.outcome === 'restored') throw withOutcome(error, 'NOT_APPLIED', MERGE_UNDONE);
      throw withOutcome(error, 'OUTCOME_UNKNOWN', MERGE_UNKNOWN);
    }
  }
  if (plan) draft.mergedMetadata = plan.keys;

  if (carry && !isEmptyCarry(carry.writes)) {
    try {
      await applyCarryOver(ctx, lock, primaryId, carry.writes, progress);
    } catch (error) {
      const back = await putBack();
      if ('linked' in back) return applied(back.linked.identities, mergedMetadata, true, true);
      if (progress.unanswered || !back.complete) throw withOutcome(error, 'OUTCOME_UNKNOWN', CARRY_UNKNOWN);
      throw withOutcome(error, 'NOT_APPLIED', CARRY_UNDONE);
    }
  }

  await confirmLockHeld(lock, 'link call', merge !== null || !isEmptyCarry(progress.added));
  attempt.sent = true;
  try {
    return applied(await request.link(), mergedMetadata, false);
  } catch (error) {
    const failure = writeFailure(error, 'link');
    const back = needsReadBack(failure) ? await readBack(ctx, 'link', primaryId, secondaryId) : null;
    const settlement = settleLinkFailure(failure, back?.seen ?? null);
    // After a 409 or 400 the link was made before this attempt: it keeps the first one's id.
    if (settlement === 'applied') {
      return applied(back!.primary!.identities, mergedMetadata, true, failure === 'maybe-repeated');
    }
    // Applied or unknown: nothing is removed (Auth0 may have linked, and then the carried copy is
    // the only one left).
    if (settlement === 'unknown') throw withOutcome(error, 'OUTCOME_UNKNOWN');
    const put = await putBack(back?.primary);
    if ('linked' in put) return applied(put.linked.identities, mergedMetadata, true, true);
    throw settlement === 'not_applied' ? notAppliedByReadBack(error) : error;
  }
}

/** The payload's `carriedOver`: null when neither a merge nor a carry-over was asked. */
function carriedOverOf(
  mergeKinds: readonly MetadataKind[] | null,
  carryKinds: CarryKinds | null,
  merged: MergedMetadataKeys | null,
  carry: CarryOverPlan | null,
): CarriedOver | null {
  if (!mergeKinds && !carryKinds) return null;
  return {
    userMetadataKeys: [...(merged?.userMetadataKeys ?? [])],
    appMetadataKeys: [...(merged?.appMetadataKeys ?? [])],
    roles: carry?.roles ?? [],
    organizations: carry?.organizations ?? [],
  };
}

/**
 * The link under the primary's lock, within an audit line the caller already opened (linkAccounts
 * opens it before its own checks, so that refusals are audited too).
 */
export function linkUnderLock(
  ctx: AccountWriteContext,
  draft: AuditDraft,
  request: LinkRequest,
): Promise<AccountChange> {
  draft.mode = request.mode;
  draft.secondary = request.secondaryId;
  draft.callerSubject = request.callerSubject;
  return underPrimaryLock(
    ctx,
    'account.linked',
    draft,
    (lock, attempt) => runLink(ctx, draft, request, lock, attempt),
    // At the success point, under the lock: the undo record, under the link's id (DESIGN §15).
    (_lock, change) => putUndoRecord(ctx, change),
  );
}

/**
 * A link for callers that are not GraphQL (linking at login, the duplicate clean-up, undo): the
 * same checks after the caller's own, the same lock, read-back, audit line and event as
 * linkAccounts. Errors are DESIGN §4 errors, as linkAccounts would answer them.
 */
export function performLink(ctx: AccountWriteContext, request: LinkRequest): Promise<AccountChange> {
  return audited(ctx.audit, { event: 'account.link', primaryId: request.primaryId }, (draft) =>
    linkUnderLock(ctx, draft, request),
  );
}

/**
 * A read made for the undo record alone failed: the link goes on, and cannot be undone. Logged at
 * warn with the error's code (a 403 names the scopes the service's application lacks).
 */
function undoNotKept(ctx: Pick<AccountWriteContext, 'logger'>, secondaryId: string, error: unknown): void {
  ctx
    .logger()
    .warn(
      { err: error, secondary: secondaryId },
      "no undo record for this link: reading the secondary's state before it failed (the service's Management API application needs read:users, read:roles, read:role_members, read:organizations and read:organization_member_roles for undoLink)",
    );
}
