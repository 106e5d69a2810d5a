import type { Logger } from 'pino';
import type { GatewayMetrics } from '../observability/metrics.js';
import { eventTypeOf, type AttemptOutcome, type OutboxMessage } from './webhook-delivery.js';

/** Where events wait for delivery: written before the mutation answers. */
export interface Outbox {
  /** Keeps `message` for delivery; resolves once it is kept. Never rejects. */
  append(message: OutboxMessage): Promise<void>;
  /** Stops delivering (an attempt in flight is aborted; the message stays in a Redis outbox). */
  close(): Promise<void>;
}

/** A dead-lettered event, as `npm run webhooks -- dead` lists it. */
export interface DeadLetter {
  webhookId: string;
  type: string;
  primaryId: string;
  /** Attempts made before it was dead-lettered. */
  attempts: number;
  /** The last attempt's failure: `HTTP 503`, `timeout`, `network (ECONNREFUSED)`. */
  lastError: string;
  /** ISO time it was dead-lettered. */
  deadAt: string;
}

/** What both outboxes need to deliver. */
export interface OutboxDependencies {
  attempt: (message: OutboxMessage, attemptNumber: number, signal?: AbortSignal) => Promise<AttemptOutcome>;
  retryDelaysMs: readonly number[];
  logger: Logger;
  metrics: GatewayMetrics;
}

/** An attempt that also counts itself in the metrics. */
export function countedAttempt(deps: OutboxDependencies): OutboxDependencies['attempt'] {
  return async (message, attemptNumber, signal) => {
    const outcome = await deps.attempt(message, attemptNumber, signal);
    if (outcome.ok) deps.metrics.webhookDeliveries.inc({ type: eventTypeOf(message) });
    else if (!signal?.aborted) deps.metrics.webhookFailedAttempts.inc({ type: eventTypeOf(message) });
    return outcome;
  };
}

/** The log line of a dead-lettered event: ids only, never the body. */
export function logDeadLetter(logger: Logger, dead: DeadLetter): void {
  logger.error(
    { webhookId: dead.webhookId, type: dead.type, attempts: dead.attempts, lastError: dead.lastError },
    'webhook event dead-lettered after the last retry (WEBHOOK_RETRY_DELAYS)',
  );
}

/**
 * An error's message alone for a log line: Redis client errors may carry the command's arguments,
 * and an outbox command's arguments are an event body.
 */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The dead letter of `message`, whose last of `attempts` attempts failed with `lastError`. */
export function toDeadLetter(message: OutboxMessage & { attempts: number }, lastError: string): DeadLetter {
  return {
    webhookId: message.webhookId,
    type: eventTypeOf(message),
    primaryId: message.primaryId,
    attempts: message.attempts,
    lastError,
    deadAt: new Date().toISOString(),
  };
}
