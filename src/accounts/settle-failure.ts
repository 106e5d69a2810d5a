// How a failed link or unlink write is settled (DESIGN §2, §8), as a pure decision: what the write's
// failure was, and what reading the primary back showed.

/**
 * How a link POST or unlink DELETE failed:
 * - `refused`: Auth0 said no (a 4xx); it did nothing.
 * - `maybe-repeated`: Auth0's 409, or its 400 for a secondary that no longer exists: a refusal,
 *   unless the link was already made (a repeated link), which the read-back tells.
 * - `answered-unclear`: Auth0 answered, but not with a yes or a no (a 5xx, an unreadable 2xx): it
 *   has finished with the request, so an unchanged primary proves it did nothing.
 * - `unanswered`: no answer came (a timeout, a reset after sending): Auth0 may still be working on
 *   it, so an unchanged primary proves nothing yet (review H1).
 */
export type WriteFailure = 'refused' | 'maybe-repeated' | 'answered-unclear' | 'unanswered';

/** What the read-back saw: the operation in the primary, the primary unchanged, or no read. */
export type ReadBackSeen = 'applied' | 'unchanged' | 'failed';

/**
 * - `applied`: the operation shows: answer success from the read.
 * - `not_applied`: known not to have happened: put the merge back, answer NOT_APPLIED.
 * - `unknown`: may have happened or may still happen: restore nothing, answer OUTCOME_UNKNOWN, and
 *   check again later (the reconciliation of DESIGN §8).
 * - `refused`: Auth0's refusal stands: put the merge back, answer Auth0's error.
 */
export type Settlement = 'applied' | 'not_applied' | 'unknown' | 'refused';

/** Whether a failure is worth a read-back at all: a plain refusal is not. */
export function needsReadBack(failure: WriteFailure): boolean {
  return failure !== 'refused';
}

/** The settlement of a failed write; `readBack` is `null` when no read-back was made. */
export function settleLinkFailure(failure: WriteFailure, readBack: ReadBackSeen | null): Settlement {
  if (failure === 'refused' || readBack === null) return 'refused';
  if (readBack === 'applied') return 'applied';
  if (failure === 'maybe-repeated') return 'refused';
  if (failure === 'unanswered') return 'unknown';
  return readBack === 'failed' ? 'unknown' : 'not_applied';
}
