import type { HeldWriterLock } from '../shared-state/shared-state.js';
import { ConflictError } from '../errors.js';
import { recordAccountEvent } from '../events/record-account-event.js';
import type { AccountEventType } from '../events/account-event.js';
import type { AuditDraft } from './audit.js';
import { isDecidedByReadBack, withNotAppliedDefault } from './read-back.js';
import type { AccountChange, AccountWriteContext } from './write-context.js';

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
 * says the merge PATCH went out before (its keys may stay on the primary). This narrows the window
 * in which two writers overlap; it cannot close it (a lease can lapse just after the check).
 */
export function assertLockHeld(lock: HeldWriterLock, write: string, mergedKeysMayRemain = false): void {
  if (!lock.signal.aborted) return;
  throw new ConflictError(
    `The gateway lost its lock on this primary before the ${write} and stopped there${
      mergedKeysMayRemain ? ': the merged metadata keys may remain on the primary' : ''
    }. Read the user, then retry.`,
    { reason: 'PRIMARY_BUSY' },
  );
}

/**
 * The frame every link and unlink runs in: the primary's lock, then `run`, then the event at the
 * operation's one success point (still under the lock, so the events of one primary enter the
 * outbox in the order the operations were applied), and an outcome for every upstream error
 * (`withNotAppliedDefault`). The audit draft's `reconciled` is written here and only here.
 */
export async function underPrimaryLock(
  ctx: AccountWriteContext,
  type: AccountEventType,
  draft: AuditDraft,
  run: (lock: HeldWriterLock) => Promise<AccountChange>,
): Promise<AccountChange> {
  let reconciled = false;
  try {
    return await withPrimaryLock(ctx, draft.primaryId, async (lock) => {
      const change = await run(lock);
      reconciled = change.reconciled;
      await recordAccountEvent(ctx, type, draft, change);
      return change;
    });
  } catch (error) {
    reconciled = isDecidedByReadBack(error);
    throw withNotAppliedDefault(error);
  } finally {
    if (reconciled) draft.reconciled = true;
  }
}
