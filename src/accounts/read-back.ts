// No ambiguous answers (DESIGN §8): after a link or unlink whose outcome Auth0's answer does not
// prove, the gateway reads the primary back and answers from what it shows.
import type { WireUser } from '../auth0/wire.js';
import {
  BadUserInputError,
  ConflictError,
  GatewayError,
  UpstreamError,
  UpstreamTimeoutError,
  type ErrorReason,
} from '../errors.js';
import { unclearWriteKind } from '../auth0/call-pipeline.js';
import type { ReadBackSeen, WriteFailure } from './settle-failure.js';
import type { AccountWriteContext } from './write-context.js';

type ReadBackContext = Pick<AccountWriteContext, 'auth0' | 'config' | 'logger' | 'metrics'>;

/** Does `user` carry the identity `<provider>|<user_id>` (`identityId`)? */
export function hasIdentity(user: WireUser, identityId: string): boolean {
  return (user.identities ?? []).some(
    (identity) => `${identity.provider}|${String(identity.user_id)}` === identityId,
  );
}

/**
 * The primary as Auth0 has it now: a fresh GET with the service token (never a cache), within the
 * budget and AUTH0_TIMEOUT_MS, retries included. `null` when that read fails too.
 */
async function readPrimaryBack(ctx: ReadBackContext, primaryId: string): Promise<WireUser | null> {
  try {
    return await ctx.auth0.getUser(primaryId, { kind: 'service' }, { withinMs: ctx.config.auth0.timeoutMs });
  } catch (error) {
    ctx.logger().warn({ err: error, primaryId }, 'could not read the primary back after an unclear answer');
    return null;
  }
}

/** What the read-back saw: the primary as read (`null`: the read failed) and whether the operation shows. */
export interface ReadBack {
  primary: WireUser | null;
  applied: boolean;
  /** The same, as the settlement of a failed write takes it. */
  seen: ReadBackSeen;
}

/**
 * Reads the primary back and tells whether `operation` on the identity `secondaryId` shows in it:
 * a link when the primary carries the identity, an unlink when it no longer does. Counted in
 * `account_read_backs_total`, so operators see how often Auth0's answers leave an outcome open.
 */
export async function readBack(
  ctx: ReadBackContext,
  operation: 'link' | 'unlink',
  primaryId: string,
  secondaryId: string,
): Promise<ReadBack> {
  const primary = await readPrimaryBack(ctx, primaryId);
  const applied = primary !== null && hasIdentity(primary, secondaryId) === (operation === 'link');
  const outcome = primary === null ? 'unknown' : applied ? 'applied' : 'not_applied';
  ctx.metrics?.readBacks.inc({ operation, outcome });
  return { primary, applied, seen: primary === null ? 'failed' : applied ? 'applied' : 'unchanged' };
}

/**
 * Auth0's answers to a link that was already made: 409 (the identity exists) or 400 for a
 * secondary that no longer exists as a user. The read-back decides whether they mean success.
 */
export function mayBeRepeatedLink(error: unknown): boolean {
  return (
    error instanceof ConflictError ||
    (error instanceof BadUserInputError && error.reason === 'SECONDARY_NOT_FOUND')
  );
}

/** What the message of a settled upstream error adds, per reason. */
const OUTCOME_MESSAGES: Partial<Record<ErrorReason, string>> = {
  NOT_APPLIED: 'Nothing changed at Auth0 (the gateway checked): safe to retry.',
  OUTCOME_UNKNOWN:
    'Whether Auth0 applied it is not known yet (it did not answer in time, or reading the primary back failed); the gateway checks again shortly and sends the event if it was applied. Read the user before retrying; a repeated link answers success.',
};

/** How a link or unlink call failed, for the settlement. */
export function writeFailure(error: unknown, operation: 'link' | 'unlink'): WriteFailure {
  const unclear = unclearWriteKind(error);
  if (unclear === 'answered') return 'answered-unclear';
  if (unclear === 'unanswered') return 'unanswered';
  return operation === 'link' && mayBeRepeatedLink(error) ? 'maybe-repeated' : 'refused';
}

// Errors whose NOT_APPLIED a read-back decided: their audit line says `reconciled: true`.
const decidedByReadBack = new WeakSet<object>();

/** Was this error's outcome decided by reading the primary back (audit `reconciled`)? */
export function isDecidedByReadBack(error: unknown): boolean {
  return typeof error === 'object' && error !== null && decidedByReadBack.has(error);
}

/** `withOutcome(error, 'NOT_APPLIED')` for an outcome a read-back showed. */
export function notAppliedByReadBack(error: unknown): unknown {
  const settled = withOutcome(error, 'NOT_APPLIED');
  if (typeof settled === 'object' && settled !== null) decidedByReadBack.add(settled);
  return settled;
}

/**
 * The same upstream error with the reason that tells the client whether anything changed:
 * `NOT_APPLIED` or `OUTCOME_UNKNOWN` (DESIGN §4), its message followed by `said`. Other errors pass
 * unchanged.
 */
export function withOutcome(
  error: unknown,
  reason: 'NOT_APPLIED' | 'OUTCOME_UNKNOWN',
  said = OUTCOME_MESSAGES[reason],
): unknown {
  if (!(error instanceof UpstreamError || error instanceof UpstreamTimeoutError)) return error;
  const Upstream = error instanceof UpstreamTimeoutError ? UpstreamTimeoutError : UpstreamError;
  return new Upstream(`${error.message} ${said}`, {
    reason,
    ...(error.auth0 ? { auth0: error.auth0 } : {}),
    cause: error,
  });
}

/**
 * The outcome a link or unlink error says when nothing settled it: an upstream error without a
 * reason ended the operation before its link or unlink call was sent (a pre-read, the token, a
 * refused merge PATCH) and becomes `NOT_APPLIED`, so every upstream error of these mutations says
 * whether anything changed. Errors that settled their own outcome keep it.
 */
export function withNotAppliedDefault(error: unknown): unknown {
  return error instanceof GatewayError && error.reason === undefined
    ? withOutcome(error, 'NOT_APPLIED')
    : error;
}
