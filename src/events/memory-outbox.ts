import { DeliveryScheduler } from './delivery-scheduler.js';
import {
  countedAttempt,
  logDeadLetter,
  toDeadLetter,
  type DeadLetter,
  type Outbox,
  type OutboxDependencies,
} from './outbox.js';

/** Dead letters one process keeps in memory, at most. */
const MAX_DEAD_LETTERS = 1000;

export interface MemoryOutbox extends Outbox {
  /** Events kept and not yet delivered or dead-lettered. */
  pending(): number;
  /** Dead letters of this process (the newest MAX_DEAD_LETTERS). */
  deadLetters(): readonly DeadLetter[];
}

/**
 * The outbox without Redis: a queue in this process's memory. What is still queued when the
 * process exits is lost, and dead letters live only as long as the process (and in its log).
 */
export function createMemoryOutbox(deps: OutboxDependencies): MemoryOutbox {
  const dead: DeadLetter[] = [];
  let sequence = 0;
  const attempt = countedAttempt(deps);
  const scheduler = new DeliveryScheduler(deps.retryDelaysMs, {
    attempt,
    delivered: async () => undefined,
    settled: () => refresh(),
    retrying: async (message, error) => {
      deps.logger.warn(
        { webhookId: message.webhookId, attempts: message.attempts, lastError: error },
        'webhook delivery failed; retrying',
      );
    },
    dead: async (message, error) => {
      const letter = toDeadLetter(message, error);
      dead.push(letter);
      if (dead.length > MAX_DEAD_LETTERS) dead.shift();
      logDeadLetter(deps.logger, letter);
    },
  });
  const refresh = () => {
    deps.metrics.webhookPending.set(scheduler.size);
    deps.metrics.webhookDead.set(dead.length);
  };
  return {
    append(message) {
      if (!scheduler.add({ ...message, key: String(++sequence), attempts: 0, nextAttemptAt: 0 })) {
        deps.logger.error(
          { webhookId: message.webhookId },
          'webhook event is lost: it came after the in-memory outbox closed',
        );
      }
      refresh();
      return Promise.resolve();
    },
    pending: () => scheduler.size,
    deadLetters: () => dead,
    async close() {
      const lost = scheduler.heldWebhookIds();
      await scheduler.stop();
      if (lost.length > 0) {
        deps.logger.error(
          { lost: lost.length, webhookIds: lost },
          'webhook events not yet delivered are lost: without REDIS_URL the outbox is in memory',
        );
      }
    },
  };
}
