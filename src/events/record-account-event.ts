import type { AuditDraft } from '../accounts/audit.js';
import type { GatewayContext } from '../context.js';
import { toAccountEvent, type AccountEventType } from './account-event.js';
import { newWebhookId, NO_ACCOUNT_EVENTS } from './account-events.js';

/** What a link or unlink resolves to, as far as its event needs it. */
interface AppliedResult {
  primaryId: string;
  mergedMetadata?: { userMetadataKeys: string[]; appMetadataKeys: string[] } | null;
  /** Found applied by a read-back of the primary after an ambiguous or refused answer. */
  reconciled: boolean;
}

/**
 * Writes the event of an applied link or unlink to the outbox, before the mutation answers.
 * Called at the operation's one success point, under the primary's lock, so events of one
 * primary enter the outbox in the order the operations were applied.
 */
export async function recordAccountEvent(
  ctx: Pick<GatewayContext, 'events'>,
  type: AccountEventType,
  draft: AuditDraft,
  result: AppliedResult,
): Promise<void> {
  // Without WEBHOOK_URL nothing is kept: the event (a timestamp, copies of the key lists) is not built.
  if (ctx.events === NO_ACCOUNT_EVENTS) return;
  await ctx.events.record(
    toAccountEvent(type, {
      primaryId: result.primaryId,
      secondary: draft.secondary ?? '',
      mode: draft.mode ?? 'admin',
      callerSubject: draft.callerSubject,
      mergedMetadata: result.mergedMetadata ?? draft.mergedMetadata ?? null,
      reconciled: result.reconciled,
    }),
    newWebhookId(),
  );
}
