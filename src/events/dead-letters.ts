import type { RedisClient } from '../shared-state/redis-connection.js';
import { fieldsOf, type WebhookKeys } from './redis-keys.js';
import type { DeadLetter } from './outbox.js';
import type { OutboxMessage } from './webhook-delivery.js';

/** A dead letter as Redis keeps it: the listing's fields, the body to replay, its stream entry. */
export interface StoredDeadLetter extends DeadLetter {
  entryId: string;
  message: OutboxMessage;
}

/** The fields written to the dead-letter stream. */
export function deadLetterFields(letter: DeadLetter, message: OutboxMessage): string[] {
  return [
    'webhookId',
    letter.webhookId,
    'type',
    letter.type,
    'primaryId',
    letter.primaryId,
    'attempts',
    String(letter.attempts),
    'lastError',
    letter.lastError,
    'deadAt',
    letter.deadAt,
    'body',
    message.body,
  ];
}

/** Every dead letter of the tenant, oldest first. */
export async function listDeadLetters(redis: RedisClient, keys: WebhookKeys): Promise<StoredDeadLetter[]> {
  const entries = await redis.xrange(keys.dead, '-', '+');
  return entries.map(([entryId, flat]) => {
    const f = fieldsOf(flat);
    return {
      entryId,
      webhookId: f.webhookId,
      type: f.type,
      primaryId: f.primaryId,
      attempts: Number(f.attempts),
      lastError: f.lastError,
      deadAt: f.deadAt,
      message: { webhookId: f.webhookId, primaryId: f.primaryId, body: f.body },
    };
  });
}

/** Forgets a dead letter (after a replay delivered it). */
export async function removeDeadLetter(
  redis: RedisClient,
  keys: WebhookKeys,
  entryId: string,
): Promise<void> {
  await redis.xdel(keys.dead, entryId);
}
