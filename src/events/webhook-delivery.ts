import type { Tracer } from '@opentelemetry/api';
import { Webhook } from 'standardwebhooks';
import { SpanKind, SpanStatusCode, startSpan } from '../observability/tracing.js';

/** One event as the outbox keeps it: the body is fixed when the event is written. */
export interface OutboxMessage {
  /** `webhook-id`: unique per event, the same on every attempt (receivers deduplicate on it). */
  webhookId: string;
  /** Deliveries of one primary go in order. */
  primaryId: string;
  /** The JSON body, `{ type, timestamp, data }`. */
  body: string;
}

export type AttemptOutcome = { ok: true; status: number } | { ok: false; error: string };

export interface WebhookTarget {
  url: string;
  /** `whsec_<base64>`. */
  secret: string;
  /** Longest one attempt may take, connection included. */
  timeoutMs: number;
  tracer?: Tracer;
}

/** The event type written in a body (`account.linked`), for metric labels, spans and listings. */
export function eventTypeOf(message: Pick<OutboxMessage, 'body'>): string {
  return /"type":"([a-z.]+)"/.exec(message.body)?.[1] ?? 'unknown';
}

/** Longest one delivery attempt may take before it counts as failed. */
export const WEBHOOK_TIMEOUT_MS = 10_000;

/** Sends `webhook-*` headers signed for one attempt over `secret` (the timestamp is the attempt's). */
export function createWebhookSender(target: WebhookTarget) {
  const signer = new Webhook(target.secret);
  /**
   * One delivery attempt. Never throws: a refused connection, a timeout or a non-2xx answer is a
   * failed attempt, which the caller retries on its schedule.
   */
  return async function attempt(
    message: OutboxMessage,
    attemptNumber: number,
    signal?: AbortSignal,
  ): Promise<AttemptOutcome> {
    const sentAt = new Date();
    const type = eventTypeOf(message);
    // Ids and statuses only: span attributes never carry a user id or a secret.
    const span = startSpan(target.tracer, 'webhook deliver', {
      kind: SpanKind.CLIENT,
      attributes: { 'webhook.id': message.webhookId, 'webhook.type': type, 'webhook.attempt': attemptNumber },
    });
    // One controller per attempt: aborted by its own timeout, or by `signal` (the scheduler
    // stopping), whose listener is removed when the attempt ends, so nothing outlives it.
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new DOMException('no answer within the timeout', 'TimeoutError')),
      target.timeoutMs,
    );
    const stop = () => controller.abort(new DOMException('delivery stopped', 'AbortError'));
    if (signal?.aborted) stop();
    else signal?.addEventListener('abort', stop, { once: true });
    let outcome: AttemptOutcome;
    try {
      const response = await fetch(target.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'auth0-link-gateway-webhooks',
          'webhook-id': message.webhookId,
          'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
          'webhook-signature': signer.sign(message.webhookId, sentAt, message.body),
        },
        body: message.body,
        // A redirect is not a delivery: the receiver answers at the configured URL or not at all.
        redirect: 'manual',
        signal: controller.signal,
      });
      // The answer's body means nothing here; reading it would let a receiver hold the socket.
      await response.body?.cancel().catch(() => undefined);
      outcome =
        response.status >= 200 && response.status < 300
          ? { ok: true, status: response.status }
          : { ok: false, error: `HTTP ${response.status}` };
      span?.setAttribute('http.response.status_code', response.status);
    } catch (error) {
      outcome = { ok: false, error: describeFailure(error) };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', stop);
    }
    if (!outcome.ok) span?.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error });
    span?.end();
    return outcome;
  };
}

/** `timeout`, `aborted` or `network (ECONNREFUSED)`: never a URL or a body. */
function describeFailure(error: unknown): string {
  // Read off any object: a DOMException need not be an `Error` of this realm.
  const name = typeof error === 'object' && error !== null ? (error as { name?: unknown }).name : '';
  if (name === 'TimeoutError') return 'timeout';
  if (name === 'AbortError') return 'aborted';
  const code = (error as { cause?: { code?: unknown } }).cause?.code;
  return typeof code === 'string' ? `network (${code})` : 'network';
}

export type WebhookSender = ReturnType<typeof createWebhookSender>;
