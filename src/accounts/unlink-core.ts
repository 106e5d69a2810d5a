// The unlink itself, for every caller: unlinkAccount (GraphQL) and callers that are not GraphQL
// (undo). Under the primary's lock; an unclear answer is settled by reading the primary back.
import type { WireIdentity } from '../auth0/wire.js';
import type { HeldWriterLock } from '../shared-state/shared-state.js';
import type { AuditDraft } from './audit.js';
import { confirmLockHeld, underPrimaryLock } from './primary-lock.js';
import { notAppliedByReadBack, readBack, withOutcome, writeFailure } from './read-back.js';
import { needsReadBack, settleLinkFailure } from './settle-failure.js';
import type { AccountChange, AccountWriteContext, WriteAttempt } from './write-context.js';

/** One unlink, once every check of its caller passed. */
export interface UnlinkRequest {
  primaryId: string;
  /** `<provider>|<user_id>` of the identity to detach. */
  secondaryId: string;
  /** `user`: the primary's own token; `admin`: the service token. */
  mode: 'admin' | 'user';
  callerSubject: string | null;
  /** The unlink call itself. */
  unlink: () => Promise<WireIdentity[]>;
  /** undoLink: the link undone (the event's `undoOf`), and its steps after the unlink, under the lock. */
  undo?: { linkId: string; after: (lock: HeldWriterLock) => Promise<void> };
}

async function runUnlink(
  ctx: AccountWriteContext,
  request: UnlinkRequest,
  lock: HeldWriterLock,
  attempt: WriteAttempt,
): Promise<AccountChange> {
  const { primaryId, secondaryId } = request;
  await confirmLockHeld(lock, 'unlink call');
  attempt.sent = true;
  try {
    return { primaryId, secondaryId, identities: await request.unlink(), reconciled: false };
  } catch (error) {
    const failure = writeFailure(error, 'unlink');
    const back = needsReadBack(failure) ? await readBack(ctx, 'unlink', primaryId, secondaryId) : null;
    switch (settleLinkFailure(failure, back?.seen ?? null)) {
      case 'applied':
        return { primaryId, secondaryId, identities: back!.primary!.identities ?? [], reconciled: true };
      case 'unknown':
        throw withOutcome(error, 'OUTCOME_UNKNOWN');
      case 'not_applied':
        throw notAppliedByReadBack(error);
      case 'refused':
        throw error;
    }
  }
}

/** The unlink under the primary's lock, within an audit line the caller already opened. */
export function unlinkUnderLock(
  ctx: AccountWriteContext,
  draft: AuditDraft,
  request: UnlinkRequest,
): Promise<AccountChange> {
  draft.mode = request.mode;
  draft.secondary = request.secondaryId;
  draft.callerSubject = request.callerSubject;
  if (request.undo) draft.undoOf = request.undo.linkId;
  const after = request.undo?.after;
  return underPrimaryLock(
    ctx,
    'account.unlinked',
    draft,
    (lock, attempt) => runUnlink(ctx, request, lock, attempt),
    after ? (lock) => after(lock) : undefined,
  );
}
