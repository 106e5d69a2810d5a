import type { HeldWriterLock, RecordedOperation } from '../shared-state/shared-state.js';
import { ConflictError, GatewayError } from '../errors.js';
import type { AccountEventType, AppliedChange } from '../events/account-event.js';
import { newWebhookId } from '../events/account-events.js';
import type { AuditDraft } from './audit.js';
import { derivedEventId } from './link-ids.js';
import { isDecidedByReadBack, withNotAppliedDefault } from './read-back.js';
import { recordAccountEvent } from './record-account-event.js';
import type { AccountChange, AccountWriteContext, WriteAttempt } from './write-context.js';

/**
 * Runs `operation` holding the primary's writer lock (DESIGN §8: one writer per primary, across
 * replicas). A caller that would wait longer than AUTH0_MAX_WAIT_MS is answered CONFLICT with
 * reason PRIMARY_BUSY; different primaries never wait for each other.
 */
export async function withPrimaryLock<T>(
  ctx: Pick<AccountWriteContext, 'primaryLocks' | 'config'>,
  primaryId: string,
  operation: (lock: HeldWriterLock) => Promise<T>,
): Promise<T> {
  const lock = await ctx.primaryLocks.acquire(primaryId, ctx.config.auth0.maxWaitMs);
  if (!lock) {
    throw new ConflictError(
      'Another link, unlink or metadata merge of this primary is in progress; retry in a moment.',
      { reason: 'PRIMARY_BUSY' },
    );
  }
  try {
    return await operation(lock);
  } finally {
    await lock();
  }
}

/**
 * Stops before a write once the lock may have been lost (its Redis lease lapsed: review M1): the
 * operation makes no further write and is answered CONFLICT / PRIMARY_BUSY, so that another holder
 * of the primary is not overwritten. `write` names the write in the message; `mergedKeysMayRemain`
 * says the merge PATCH or a carry-over write went out before (what it added may stay). This narrows the window
 * in which two writers overlap; it cannot close it (a lease can lapse just after the check).
 */
export function assertLockHeld(lock: HeldWriterLock, write: string, mergedKeysMayRemain = false): void {
  if (!lock.signal.aborted) return;
  throw lockLostError(write, mergedKeysMayRemain);
}

/**
 * `assertLockHeld`, asked of Redis itself just before a write (DESIGN §10): the lock's key still
 * holds this holder with the newest fencing token. A failover that lost the lock (its key never
 * reached the promoted replica) or a later holder stops the write here, not at the next renewal.
 */
export async function confirmLockHeld(
  lock: HeldWriterLock,
  write: string,
  mergedKeysMayRemain = false,
): Promise<void> {
  assertLockHeld(lock, write, mergedKeysMayRemain);
  if (!(await lock.confirm())) throw lockLostError(write, mergedKeysMayRemain);
}

function lockLostError(write: string, mergedKeysMayRemain: boolean): ConflictError {
  return new ConflictError(
    `The gateway lost its lock on this primary before the ${write} and stopped there${
      mergedKeysMayRemain
        ? ': the merged metadata keys may remain on the primary, with any roles or memberships carried over'
        : ''
    }. Read the user, then retry.`,
    { reason: 'PRIMARY_BUSY' },
  );
}

/** The record an operation's event and id are kept under. */
const recordOf = (type: AccountEventType) =>
  (type === 'account.linked' ? 'link' : 'unlink') as RecordedOperation;

/**
 * The frame every link and unlink runs in: the primary's lock, then `run`, then the operation's one
 * success point (still under the lock, so the events of one primary enter the outbox in the order
 * the operations were applied), and an outcome for every upstream error (`withNotAppliedDefault`).
 *
 * One id and one event per applied operation (DESIGN §12): the id is the pending record's (an
 * earlier attempt whose outcome was unknown) or a fresh one; an operation found already made keeps
 * its record's id and records no second event, or, with no record, gets an id derived from the
 * pair. A call whose outcome is unknown leaves its record pending and a check for the
 * reconciliation (DESIGN §8). The audit draft's `reconciled` is written here and only here.
 * `afterSuccess` runs after the success point, still holding the lock (undoLink's restore steps).
 */
export async function underPrimaryLock(
  ctx: AccountWriteContext,
  type: AccountEventType,
  draft: AuditDraft,
  run: (lock: HeldWriterLock, attempt: WriteAttempt) => Promise<AccountChange>,
  afterSuccess?: (lock: HeldWriterLock, change: AccountChange) => Promise<void>,
): Promise<AccountChange> {
  const { primaryId } = draft;
  const secondaryId = draft.secondary ?? '';
  const operation = recordOf(type);
  let reconciled = false;
  try {
    return await withPrimaryLock(ctx, primaryId, async (lock) => {
      const record = await ctx.linkRecords.get(operation, primaryId, secondaryId);
      const opposite = operationAfter(operation);
      const earlier = await ctx.linkRecords.get(opposite, primaryId, secondaryId);
      const attempt: WriteAttempt = {
        eventId: record && !record.eventRecorded ? record.id : newWebhookId(),
        sent: false,
      };
      let change: AccountChange;
      try {
        change = await run(lock, attempt);
      } catch (error) {
        if (attempt.sent && isOutcomeUnknown(error)) await leavePending(ctx, type, draft, attempt);
        throw error;
      }
      reconciled = change.reconciled;
      if (!change.alreadyMade && earlier && !earlier.eventRecorded && earlier.pending) {
        // The pair's previous operation (a link before this unlink, or the other way round) ended
        // with its outcome unknown: this one could only be applied if that one was. Its event goes
        // first, under its own id, so the pair's events stay in order (the reconciliation then
        // finds it settled).
        await recordAccountEvent(
          ctx,
          opposite === 'link' ? 'account.linked' : 'account.unlinked',
          {
            primaryId,
            secondary: secondaryId,
            ...earlier.pending,
            reconciled: true,
          },
          earlier.id,
        );
      }
      const eventId = change.alreadyMade
        ? (record?.id ?? derivedEventId(type, primaryId, secondaryId))
        : attempt.eventId;
      if (!(change.alreadyMade && record?.eventRecorded)) {
        await recordAccountEvent(ctx, type, appliedChange(draft, change), eventId);
      }
      await ctx.linkRecords.put(operation, primaryId, secondaryId, { id: eventId, eventRecorded: true });
      // A link after an unlink of the pair (or the other way round) is a new operation with a new id.
      await ctx.linkRecords.delete(opposite, primaryId, secondaryId);
      // Still under the lock, after the event: undoLink's later steps (an error there leaves the
      // unlink applied and its event recorded).
      if (afterSuccess) await afterSuccess(lock, { ...change, eventId });
      return { ...change, eventId };
    });
  } catch (error) {
    reconciled = isDecidedByReadBack(error);
    throw withNotAppliedDefault(error);
  } finally {
    if (reconciled) draft.reconciled = true;
  }
}

/** The other operation of a pair: an unlink follows a link, and a link an unlink. */
const operationAfter = (operation: RecordedOperation): RecordedOperation =>
  operation === 'link' ? 'unlink' : 'link';

/** What the event of an applied change says. */
function appliedChange(draft: AuditDraft, change: AccountChange): AppliedChange {
  return {
    primaryId: change.primaryId,
    secondary: change.secondaryId,
    mode: draft.mode ?? 'admin',
    callerSubject: draft.callerSubject,
    mergedMetadata: change.mergedMetadata ?? draft.mergedMetadata ?? null,
    carriedOver: draft.carriedOver ?? null,
    reconciled: change.reconciled,
    ...(draft.undoOf ? { undoOf: draft.undoOf } : {}),
  };
}

function isOutcomeUnknown(error: unknown): boolean {
  return error instanceof GatewayError && error.reason === 'OUTCOME_UNKNOWN';
}

/**
 * A call whose outcome is unknown: its record stays pending under the attempt's id (a retry or the
 * reconciliation then uses that id), and the reconciliation checks the primary again later.
 */
async function leavePending(
  ctx: AccountWriteContext,
  type: AccountEventType,
  draft: AuditDraft,
  attempt: WriteAttempt,
): Promise<void> {
  const secondaryId = draft.secondary ?? '';
  const mergedMetadata = draft.mergedMetadata
    ? {
        userMetadataKeys: [...draft.mergedMetadata.userMetadataKeys],
        appMetadataKeys: [...draft.mergedMetadata.appMetadataKeys],
      }
    : null;
  const mode = draft.mode ?? 'admin';
  await ctx.linkRecords.put(recordOf(type), draft.primaryId, secondaryId, {
    id: attempt.eventId,
    eventRecorded: false,
    pending: { mode, callerSubject: draft.callerSubject, mergedMetadata },
  });
  await ctx.reconciliations.schedule({
    operation: recordOf(type),
    primaryId: draft.primaryId,
    secondaryId,
    mode,
    callerSubject: draft.callerSubject,
    eventId: attempt.eventId,
    mergedMetadata,
  });
}
