import { toAccountEvent, type AccountEventType, type AppliedChange } from '../events/account-event.js';
import { NO_ACCOUNT_EVENTS, type AccountEvents } from '../events/account-events.js';

/**
 * Writes the event of an applied link or unlink to the outbox under `webhookId` (a link's `linkId`),
 * before the mutation answers. Called at the operation's one success point, under the primary's
 * lock, so events of one primary enter the outbox in the order the operations were applied; and by
 * the reconciliation of DESIGN §8, under the same lock.
 */
export async function recordAccountEvent(
  ctx: { events: AccountEvents },
  type: AccountEventType,
  change: AppliedChange,
  webhookId: string,
): Promise<void> {
  // Without WEBHOOK_URL nothing is kept: the event (a timestamp, copies of the key lists) is not built.
  if (ctx.events === NO_ACCOUNT_EVENTS) return;
  await ctx.events.record(
    toAccountEvent(type, type === 'account.linked' ? { ...change, linkId: webhookId } : change),
    webhookId,
  );
}
