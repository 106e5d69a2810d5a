import { randomUUID } from 'node:crypto';
import type { Tracer } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { AccountEvent } from './account-event.js';
import { createMemoryOutbox } from './memory-outbox.js';
import { messageOf, type Outbox } from './outbox.js';
import { createRedisOutbox } from './redis-outbox.js';
import { webhookKeys } from './redis-keys.js';
import { createWebhookSender, WEBHOOK_TIMEOUT_MS } from './webhook-delivery.js';

/** Where link and unlink events go (DESIGN §12). */
export interface AccountEvents {
  /**
   * Writes `event` to the outbox under `webhookId` (the caller chooses it, so that one applied
   * operation keeps one id: DESIGN §12); resolves once it is kept (delivery follows). Never
   * rejects: an event that cannot be kept (recorded after `close()`) is logged at error level with
   * its webhook-id, and the mutation still answers.
   */
  record(event: AccountEvent, webhookId: string): Promise<void>;
  close(): Promise<void>;
}

/** Without WEBHOOK_URL: no events. */
export const NO_ACCOUNT_EVENTS: AccountEvents = {
  record: () => Promise.resolve(),
  close: () => Promise.resolve(),
};

/** A fresh Standard Webhooks message id: unique per event, kept across its retries. */
export function newWebhookId(): string {
  return `msg_${randomUUID().replaceAll('-', '')}`;
}

/**
 * Starts event delivery when WEBHOOK_URL is set: an outbox in Redis (REDIS_URL) shared by the
 * replicas, or in this process's memory.
 */
export async function startAccountEvents(
  config: Config,
  deps: { logger: Logger; metrics: GatewayMetrics; tracer?: Tracer },
): Promise<AccountEvents> {
  const webhook = config.webhook;
  if (webhook === null) return NO_ACCOUNT_EVENTS;
  const logger = deps.logger.child({ component: 'webhooks' });
  const outboxDeps = {
    attempt: createWebhookSender({
      url: webhook.url,
      secret: webhook.secret,
      timeoutMs: WEBHOOK_TIMEOUT_MS,
      tracer: deps.tracer,
    }),
    retryDelaysMs: webhook.retryDelaysMs,
    logger,
    metrics: deps.metrics,
  };
  const outbox: Outbox =
    config.shared.redis === null
      ? createMemoryOutbox(outboxDeps)
      : await createRedisOutbox({ ...outboxDeps, target: config.shared.redis, keys: webhookKeys(config) });
  let closed = false;
  return {
    async record(event, webhookId) {
      if (closed) {
        // An operation cut by the drain that finished after the outbox closed (SHUTDOWN_TIMEOUT_MS).
        logger.error(
          { webhookId, type: event.type },
          'webhook event of an applied operation is lost: it was recorded after the outbox closed',
        );
        return;
      }
      try {
        await outbox.append({
          webhookId,
          primaryId: event.data.primaryId,
          body: JSON.stringify(event),
        });
      } catch (error) {
        logger.error(
          { error: messageOf(error), webhookId, type: event.type },
          'webhook event could not be kept',
        );
      }
    },
    async close() {
      closed = true;
      await outbox.close();
    },
  };
}
