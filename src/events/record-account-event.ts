import { audited, type AuditDraft, type AuditEvent } from '../accounts/audit.js';
import type { GatewayContext } from '../context.js';
import { toAccountEvent, type AccountEventType } from './account-event.js';

/** What a link or unlink resolves to, as far as its event needs it. */
interface AppliedResult {
  primaryId: string;
  mergedMetadata?: { userMetadataKeys: string[]; appMetadataKeys: string[] } | null;
  /** Found applied by a read-back of the primary after an ambiguous or refused answer. */
  reconciled?: boolean;
}

/**
 * `audited` that also records the operation's event once it has been applied: written to the
 * outbox before the mutation answers. An operation that fails records nothing.
 */
export function auditedWithEvent<T extends AppliedResult>(
  ctx: Pick<GatewayContext, 'audit' | 'events'>,
  type: AccountEventType,
  base: { event: AuditEvent['event']; primaryId: string },
  run: (draft: AuditDraft) => Promise<T>,
): Promise<T> {
  return audited(ctx.audit, base, async (draft) => {
    const result = await run(draft);
    const reconciled =
      result.reconciled === true ||
      ('reconciled' in draft && (draft as { reconciled?: unknown }).reconciled === true);
    await ctx.events.record(
      toAccountEvent(type, {
        primaryId: result.primaryId,
        secondary: draft.secondary ?? '',
        mode: draft.mode ?? 'admin',
        callerSubject: draft.callerSubject,
        mergedMetadata: result.mergedMetadata ?? draft.mergedMetadata ?? null,
        reconciled,
      }),
    );
    return result;
  });
}
