// undoLink (DESIGN §15): every link the service makes records, for LINK_UNDO_WINDOW, the secondary
// as it was and what the link carried onto the primary; undoLink takes the link back from that
// record under the primary's lock: the unlink (through the unlink core, so its event says
// `undoOf`), then the secondary's metadata, roles and memberships, then the primary's carried
// keys, roles and memberships. Each step is recorded as done, so a repeated undoLink resumes.
import { isDeepStrictEqual } from 'node:util';
import { authorizeUnlink, requireCaller } from '../auth/authorize.js';
import { parseUserId } from '../auth0/user-id.js';
import type { WireUser, WireUserUpdate } from '../auth0/wire.js';
import type { GatewayContext } from '../context.js';
import { NotFoundError, UpstreamError, UpstreamTimeoutError } from '../errors.js';
import type { HeldWriterLock } from '../shared-state/shared-state.js';
import { UndoRecordUnavailableError, type UndoRecordStore } from '../shared-state/undo-records.js';
import { audited } from './audit.js';
import { removeCarried, type CarriedMembership, type CarriedRole, type CarryWrites } from './carry-over.js';
import { assertLockHeld, withPrimaryLock } from './primary-lock.js';
import { unlinkUnderLock } from './unlink-core.js';
import type { AccountChange, AccountWriteContext } from './write-context.js';

type Metadata = Record<string, unknown>;

/** What a link keeps for its undo, as runLink knows it at the success point. */
export interface UndoSnapshot {
  /** The secondary user as read before the link (identity and metadata). */
  secondary: WireUser;
  /** Its direct roles and its memberships (with their roles) before the link. */
  roles: CarriedRole[];
  organizations: CarriedMembership[];
  /** The metadata merge the link sent to the primary (what it wrote, and the earlier values). */
  merge: { update: WireUserUpdate; restore: WireUserUpdate } | null;
  /** The roles and memberships the link added to the primary. */
  carried: CarryWrites;
}

/** The record under the link's id. */
interface UndoRecord extends UndoSnapshot {
  expiresAt: number;
  primaryId: string;
  secondaryId: string;
  identity: { provider: string; userId: string; connection: string | null };
  done: { unlink: boolean; secondary: boolean; primary: boolean };
  /** Set once every step is done: the answer a repeated undoLink gives again. */
  keptOnPrimary: string[] | null;
}

/** What undoLink answers: both users are read when the payload asks for them. */
export interface UndoResult {
  primaryId: string;
  restoredId: string;
  keptOnPrimary: string[];
}

/**
 * Stores a new link's undo record (the link frame's success point calls it, under the lock). A
 * store that fails costs the undo, not the link: logged.
 */
export async function putUndoRecord(ctx: AccountWriteContext, change: AccountChange): Promise<void> {
  const { undo, eventId } = change;
  if (!undo || !eventId || !ctx.undoRecords || ctx.config.linkUndoWindowMs <= 0) return;
  const bar = change.secondaryId.indexOf('|');
  const identity = undo.secondary.identities?.[0];
  const record: UndoRecord = {
    ...undo,
    // Only what the undo writes back: never the user's provider tokens or profile.
    secondary: {
      user_id: change.secondaryId,
      user_metadata: undo.secondary.user_metadata,
      app_metadata: undo.secondary.app_metadata,
    },
    expiresAt: Date.now() + ctx.config.linkUndoWindowMs,
    primaryId: change.primaryId,
    secondaryId: change.secondaryId,
    identity: {
      provider: change.secondaryId.slice(0, bar),
      userId: change.secondaryId.slice(bar + 1),
      connection: identity?.connection ?? null,
    },
    done: { unlink: false, secondary: false, primary: false },
    keptOnPrimary: null,
  };
  try {
    await ctx.undoRecords.put(eventId, record as unknown as UndoRecord & Record<string, unknown>);
  } catch (error) {
    ctx
      .logger()
      .error({ err: error, linkId: eventId }, 'could not store the undo record: this link cannot be undone');
  }
}

const isMetadata = (value: unknown): value is Metadata =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** An upstream error of a step after the unlink: the same code, reason UNDO_INCOMPLETE. */
function incomplete(error: unknown, step: string): unknown {
  if (!(error instanceof UpstreamError || error instanceof UpstreamTimeoutError)) return error;
  const Upstream = error instanceof UpstreamTimeoutError ? UpstreamTimeoutError : UpstreamError;
  return new Upstream(
    `${error.message} The undo stopped at ${step}; call undoLink again with the same linkId to finish it.`,
    { reason: 'UNDO_INCOMPLETE', ...(error.auth0 ? { auth0: error.auth0 } : {}), cause: error },
  );
}

/**
 * The record, or null when there is none. Redis not answering is not "unknown link": the undo
 * answers UPSTREAM_ERROR, nothing was done, and a retry once the shared state answers can finish.
 */
async function readUndoRecord(store: UndoRecordStore, linkId: string) {
  try {
    return await store.get(linkId);
  } catch (error) {
    if (!(error instanceof UndoRecordUnavailableError)) throw error;
    throw new UpstreamError(
      'The undo record could not be read (the shared state did not answer); nothing was changed: retry in a moment.',
      { cause: error },
    );
  }
}

/** undoLink: the caller's checks, then the steps not yet done, under the primary's lock. */
export async function undoLink(ctx: GatewayContext, linkId: string): Promise<UndoResult> {
  const caller = requireCaller(ctx.auth);
  await ctx.limitCaller(caller.subject);
  const stored = ctx.undoRecords ? await readUndoRecord(ctx.undoRecords, linkId) : null;
  const expired = new NotFoundError(
    `linkId: no link ${linkId} can be undone (unknown, or LINK_UNDO_WINDOW has passed).`,
    { reason: 'UNDO_EXPIRED' },
  );
  if (!stored) throw expired;
  const record = stored as unknown as UndoRecord;
  const { primaryId, secondaryId } = record;
  parseUserId(primaryId, 'primaryId');
  const { mode } = authorizeUnlink(ctx.auth, primaryId, { adminPermission: ctx.config.admin.permission });
  const answer = (kept: string[]): UndoResult => ({
    primaryId,
    restoredId: secondaryId,
    keptOnPrimary: kept,
  });
  if (record.keptOnPrimary) return answer(record.keptOnPrimary);

  const save = async () => {
    await ctx.undoRecords!.put(linkId, record as unknown as UndoRecord & Record<string, unknown>);
  };
  const rest = async (lock: HeldWriterLock) => {
    record.done.unlink = true;
    await save();
    try {
      if (!record.done.secondary) {
        await restoreSecondary(ctx, lock, record);
        record.done.secondary = true;
        await save();
      }
      if (!record.done.primary) {
        const kept = await takeBackFromPrimary(ctx, lock, record);
        record.done.primary = true;
        record.keptOnPrimary = kept;
        await save();
      }
    } catch (error) {
      throw incomplete(error, record.done.secondary ? "the primary's clean-up" : "the secondary's restore");
    }
  };

  return audited(ctx.audit, { event: 'account.unlink', primaryId }, async (draft) => {
    draft.undoOf = linkId;
    if (!record.done.unlink) {
      await unlinkUnderLock(ctx, draft, {
        primaryId,
        secondaryId,
        mode,
        callerSubject: caller.subject,
        unlink: () =>
          ctx.auth0.unlinkIdentity(primaryId, record.identity.provider, record.identity.userId, {
            kind: 'service',
          }),
        undo: { linkId, after: rest },
      });
    } else {
      draft.mode = mode;
      draft.secondary = secondaryId;
      draft.callerSubject = caller.subject;
      await withPrimaryLock(ctx, primaryId, rest);
    }
    return answer(record.keptOnPrimary ?? []);
  });
}

/** The secondary, standalone again: its metadata, roles and memberships as before the link. */
async function restoreSecondary(ctx: AccountWriteContext, lock: HeldWriterLock, record: UndoRecord) {
  const { secondaryId, secondary } = record;
  const update: WireUserUpdate = {};
  // An empty object would wipe the kind at Auth0; the restored user has none to wipe.
  if (isMetadata(secondary.user_metadata) && Object.keys(secondary.user_metadata).length > 0)
    update.user_metadata = secondary.user_metadata;
  if (isMetadata(secondary.app_metadata) && Object.keys(secondary.app_metadata).length > 0)
    update.app_metadata = secondary.app_metadata;
  if (Object.keys(update).length > 0) {
    assertLockHeld(lock, "secondary's metadata restore");
    await ctx.auth0.updateUser(secondaryId, update);
  }
  if (record.roles.length > 0) {
    assertLockHeld(lock, "secondary's role restore");
    await ctx.auth0.assignUserRoles(
      secondaryId,
      record.roles.map((role) => role.id),
    );
  }
  for (const membership of record.organizations) {
    assertLockHeld(lock, "secondary's membership restore");
    await ctx.auth0.addOrganizationMembers(membership.organizationId, [secondaryId]);
    if (membership.roles.length > 0) {
      await ctx.auth0.assignMemberRoles(
        membership.organizationId,
        secondaryId,
        membership.roles.map((role) => role.id),
      );
    }
  }
}

/**
 * Takes from the primary what the link carried: each merged key still as the link left it goes
 * back to its earlier value (an added key is removed); a key changed since is kept and named.
 * The roles and memberships the link added are removed (the carry-over's own removal).
 */
async function takeBackFromPrimary(
  ctx: AccountWriteContext,
  lock: HeldWriterLock,
  record: UndoRecord,
): Promise<string[]> {
  const { primaryId, merge } = record;
  const kept: string[] = [];
  if (merge) {
    const current = await ctx.auth0.getUser(primaryId);
    const restore: WireUserUpdate = {};
    for (const kind of ['user_metadata', 'app_metadata'] as const) {
      const written = merge.update[kind];
      const before = merge.restore[kind];
      if (!written || !before) continue;
      const now = isMetadata(current[kind]) ? current[kind] : {};
      const back: [string, unknown][] = [];
      for (const [key, value] of Object.entries(written)) {
        if (Object.hasOwn(now, key) && isDeepStrictEqual(now[key], value)) back.push([key, before[key]]);
        else kept.push(`${kind}.${key}`);
      }
      if (back.length > 0) restore[kind] = Object.fromEntries(back);
    }
    if (Object.keys(restore).length > 0) {
      assertLockHeld(lock, "primary's metadata restore");
      await ctx.auth0.updateUser(primaryId, restore);
    }
  }
  if (!(await removeCarried(ctx, lock, primaryId, record.carried))) {
    throw new UpstreamError(
      'Auth0 refused or did not answer removing the roles and memberships the link carried.',
    );
  }
  return kept;
}
