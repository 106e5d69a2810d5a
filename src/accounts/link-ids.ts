import { createHash } from 'node:crypto';
import type { AccountEventType } from '../events/account-event.js';

/**
 * The id of an applied operation that the service finds made but holds no record of (made
 * elsewhere, or its record expired): derived from the operation and the pair, so that every replica
 * and every retry derives the same one and receivers that deduplicate by webhook-id see it once.
 * A Standard Webhooks message id like the random ones (`msg_` and 32 hex digits).
 */
export function derivedEventId(type: AccountEventType, primaryId: string, secondaryId: string): string {
  const digest = createHash('sha256').update(`${type}\n${primaryId}\n${secondaryId}`).digest('hex');
  return `msg_${digest.slice(0, 32)}`;
}
