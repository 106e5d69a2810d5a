import { UpstreamTimeoutError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import {
  endHttpSpan,
  SpanKind,
  SpanStatusCode,
  startSpan,
  type TraceParent,
} from '../observability/tracing.js';
import type { Auth0Services } from './auth0-services.js';
import type { Auth0HttpResponse } from './http-client.js';
import {
  fromRequestFailure,
  isConnectionRefused,
  parseRetryAfter,
  toGatewayError,
  unexpectedResponse,
  type Auth0Operation,
} from './to-gateway-error.js';
import { ShapeError } from './parse-wire.js';
import { UpstreamError } from '../errors.js';

// A 401 on the service token is retried once with a fresh one: a second means the client itself is refused.
const TOKEN_REFRESHES = 1;

/** Whose token goes to Auth0: the service's client-credentials token, or the caller's own (JWT mode). */
export type UpstreamAuth = { kind: 'service' } | { kind: 'user'; token: string };

/** The request a call is made for: its id for logs, its logger and trace parent. */
export interface CallRequest {
  requestId: string;
  logger?: Logger;
  trace?: TraceParent;
}

export interface CallSpec<T> {
  operation: Auth0Operation;
  /** Metrics label. */
  endpoint: string;
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Path with placeholders, for logs: never the raw ids. */
  route: string;
  path: string;
  searchParams?: Record<string, string>;
  json?: unknown;
  auth: UpstreamAuth;
  /** The success status, or the statuses Auth0 may answer for success where that is unsettled. */
  expectedStatus: number | readonly number[];
  parse(body: unknown): T;
  /**
   * Give up (no further attempt, no longer budget wait) at this time, in the budget clock's ms:
   * bounds a whole call with its retries, as the read-back of DESIGN §8 needs.
   */
  deadline?: number;
}

// Errors of a write after which Auth0 may have acted, with how the write ended. Kept beside the
// error rather than in it: the client never sees this, only the gateway's read-back does.
const unclearWrites = new WeakMap<object, UnclearWriteKind>();

/**
 * How an unclear write ended (DESIGN §8). `answered`: Auth0 sent a status (a 5xx, a redirect, an
 * unreadable or unexpected 2xx): it has finished with the request, so a read-back that finds
 * nothing changed proves it did nothing. `unanswered`: no status came (a timeout, a reset after
 * sending): Auth0 may still be working on it, and an unchanged read-back proves nothing yet.
 */
export type UnclearWriteKind = 'answered' | 'unanswered';

/**
 * Did this error end a write (POST, DELETE, PATCH) in a way that does not prove Auth0 did nothing:
 * a timeout, a reset after sending, a 5xx, an unreadable or unexpected answer? False for a refusal
 * (4xx, 429), a connection refused, a budget refusal or a token failure: Auth0 cannot have acted.
 */
export function isUnclearWrite(error: unknown): boolean {
  return typeof error === 'object' && error !== null && unclearWrites.has(error);
}

/** How an unclear write ended; `null` for any other error. */
export function unclearWriteKind(error: unknown): UnclearWriteKind | null {
  return (typeof error === 'object' && error !== null && unclearWrites.get(error)) || null;
}

// Auth0 answered when the error carries the status it sent (`extensions.auth0`): errors made from
// a request failure (timeout, reset) never do.
function endedBy(error: object): UnclearWriteKind {
  return (error as { auth0?: unknown }).auth0 === undefined ? 'unanswered' : 'answered';
}

function markUnclear<E extends object>(spec: CallSpec<unknown>, error: E): E {
  if (spec.method !== 'GET') unclearWrites.set(error, endedBy(error));
  return error;
}

/** The request never left: the connection was refused, or the connect phase timed out. */
function neverSent(failure: unknown): boolean {
  if (isConnectionRefused(failure)) return true;
  const phase = (failure as { event?: unknown } | null)?.event;
  return phase === 'lookup' || phase === 'connect' || phase === 'secureConnect';
}

/**
 * May the call be sent again after a 5xx or a lost answer? GETs, and PATCHes because the gateway
 * only PATCHes metadata with whole top-level values (a key set, or deleted with null): sending the
 * same body twice leaves the user as once did. A link or unlink POST/DELETE could double-act, so
 * those are retried only where Auth0 cannot have acted (DESIGN §8).
 */
function isRepeatable(spec: CallSpec<unknown>): boolean {
  return spec.method === 'GET' || spec.method === 'PATCH';
}

/**
 * Sends one Auth0 call through the pipeline every call shares: the service token, the tenant's
 * rate budget, retries where they are safe (DESIGN §8), metrics, logs and a span, and one
 * GatewayError for every failure. The answer's body goes through `spec.parse`.
 */
export class Auth0CallPipeline {
  private readonly logger: Logger;

  constructor(
    private readonly services: Auth0Services,
    private readonly request: CallRequest,
  ) {
    this.logger = request.logger ?? services.logger;
  }

  async call<T>(spec: CallSpec<T>): Promise<T> {
    const { services } = this;
    const { budget, tokens, clock, retry } = services;
    const repeatable = isRepeatable(spec);
    const maxAttempts = repeatable ? retry.readAttempts : retry.writeAttempts;
    let waitLeftMs = services.config.maxWaitMs;
    // Three budgets, counted apart: sends after a fault (5xx, network; bounded by the read or write
    // attempts), sends Auth0 answered 429 (it did nothing; bounded by rateLimitedAttempts and the
    // wait), and fresh service tokens after a 401 (one).
    let faultAttempts = 1;
    let rateLimited = 0;
    let refreshed = 0;
    // Every send, for telemetry.
    let sent = 0;
    const { deadline } = spec;
    const timeLeft = () => (deadline === undefined ? Infinity : deadline - clock.now());

    for (;;) {
      sent += 1;
      this.refuseWhenStopped(spec);
      const token = spec.auth.kind === 'service' ? await this.serviceToken(deadline) : spec.auth.token;

      const waitStart = clock.now();
      // A call Auth0 answered 429 waits at the head of the queue: it was in line before the others.
      const release = await budget.acquire(Math.max(0, Math.min(waitLeftMs, timeLeft())), {
        retry: rateLimited > 0,
      });
      const waitedMs = clock.now() - waitStart;
      waitLeftMs -= waitedMs;
      services.metrics?.auth0BudgetWait.observe(waitedMs / 1000);
      try {
        // Checked again after the wait: a drain may have cut the operation meanwhile.
        this.refuseWhenStopped(spec);
      } catch (error) {
        release();
        throw error;
      }

      const started = performance.now();
      const sentAt = clock.now();
      // Named by the route template: the path itself carries user ids.
      const span = startSpan(services.tracer, `${spec.method} ${spec.route}`, {
        kind: SpanKind.CLIENT,
        parent: this.request.trace?.context,
        attributes: {
          'http.request.method': spec.method,
          'url.template': spec.route,
          'auth0.attempt': sent,
        },
      });
      let response: Auth0HttpResponse;
      try {
        response = await services.http.send({
          method: spec.method,
          path: spec.path,
          headers: { authorization: `Bearer ${token}` },
          ...(spec.searchParams ? { searchParams: spec.searchParams } : {}),
          ...(spec.json !== undefined ? { json: spec.json } : {}),
          ...(deadline !== undefined ? { timeoutMs: Math.max(1, Math.round(timeLeft())) } : {}),
        });
      } catch (failure) {
        release();
        const error = fromRequestFailure(spec.operation, failure);
        span?.setAttribute('error.type', error.code === 'UPSTREAM_TIMEOUT' ? 'timeout' : 'network');
        span?.setStatus({ code: SpanStatusCode.ERROR });
        span?.end();
        this.record(spec, error.code === 'UPSTREAM_TIMEOUT' ? 'timeout' : 'network', started, sent);
        // A write is retried only when the connection was refused: then Auth0 cannot have acted.
        const retryable = repeatable || isConnectionRefused(failure);
        if (retryable && faultAttempts < maxAttempts && this.canWait(faultAttempts, timeLeft())) {
          await services.delay(this.backoffMs(faultAttempts));
          faultAttempts += 1;
          continue;
        }
        throw neverSent(failure) ? error : markUnclear(spec, error);
      }
      release();
      endHttpSpan(span, response.statusCode, 400);
      budget.observe(response.headers, sentAt);
      this.record(spec, String(response.statusCode), started, sent);

      const { statusCode } = response;
      const expected = spec.expectedStatus;
      if (typeof expected === 'number' ? statusCode === expected : expected.includes(statusCode)) {
        try {
          return this.parse(spec, response);
        } catch (error) {
          // Auth0 said yes, but the answer cannot be used: the read-back builds it.
          throw error instanceof Error ? markUnclear(spec, error) : error;
        }
      }

      if (statusCode === 429) {
        // Retried at the budget's pace; the next acquire refuses at once if that is too far off.
        budget.onRateLimited(parseRetryAfter(response.headers, clock.now()), sentAt);
        rateLimited += 1;
        if (rateLimited < retry.rateLimitedAttempts) continue;
      } else if (statusCode === 401 && spec.auth.kind === 'service' && refreshed < TOKEN_REFRESHES) {
        // The cached service token may have been revoked or rotated: one fresh token, one retry.
        await tokens.invalidate(token);
        refreshed += 1;
        continue;
      } else if (
        repeatable &&
        statusCode >= 500 &&
        faultAttempts < maxAttempts &&
        this.canWait(faultAttempts, timeLeft())
      ) {
        await services.delay(this.backoffMs(faultAttempts));
        faultAttempts += 1;
        continue;
      }
      const error = toGatewayError(
        spec.operation,
        { statusCode, headers: response.headers, body: response.body },
        { auth: spec.auth.kind, nowMs: clock.now() },
      );
      // Only a 4xx is Auth0 saying no; a 5xx, a redirect or another 2xx may come after it acted.
      throw statusCode >= 400 && statusCode < 500 ? error : markUnclear(spec, error);
    }
  }

  /**
   * A drain cut the operation this call belongs to (SHUTDOWN_TIMEOUT_MS): nothing more is sent. The
   * error is a definite one (the call never left), so a link is known not to have happened, and a
   * read-back that is refused leaves the outcome unknown.
   */
  private refuseWhenStopped(spec: CallSpec<unknown>): void {
    if (this.services.stopCalls?.aborted) {
      throw new UpstreamError(`The gateway is shutting down: this ${spec.method} to Auth0 was not sent.`);
    }
  }

  /**
   * The service token, waited for no later than `deadline`: a token request (or another replica's,
   * through the shared slot) can take up to AUTH0_TIMEOUT_MS, and a read-back bounded by the same
   * timeout must not wait for it and then spend its own. The request goes on for later calls.
   */
  private serviceToken(deadline: number | undefined): Promise<string> {
    const { tokens, clock } = this.services;
    const token = tokens.getToken();
    if (deadline === undefined) return token;
    let cancel = () => undefined as void;
    const expired = new Promise<never>((_resolve, reject) => {
      cancel = clock.setTimer(
        () => reject(new UpstreamTimeoutError('Auth0 did not answer the service token request in time.')),
        Math.max(0, deadline - clock.now()),
      );
    });
    return Promise.race([token, expired]).finally(() => cancel());
  }

  private parse<T>(spec: CallSpec<T>, response: Auth0HttpResponse): T {
    let body: unknown;
    // A 204 (role and member writes) has no body to parse.
    if (response.statusCode === 204) return spec.parse(undefined);
    try {
      body = JSON.parse(response.body);
    } catch {
      throw unexpectedResponse(spec.operation, response.statusCode, 'body is not JSON');
    }
    try {
      return spec.parse(body);
    } catch (error) {
      if (error instanceof ShapeError)
        throw unexpectedResponse(spec.operation, response.statusCode, error.message);
      throw error;
    }
  }

  /** Is there time for another attempt after this one's backoff, before the spec's deadline? */
  private canWait(faultAttempt: number, timeLeftMs: number): boolean {
    return timeLeftMs > this.backoffMs(faultAttempt);
  }

  /**
   * Capped exponential backoff with jitter (50–100% of the step) after fault attempt number
   * `faultAttempt` (1 = the first send), so replicas do not retry in step.
   */
  private backoffMs(faultAttempt: number): number {
    const { backoffBaseMs, backoffMaxMs } = this.services.retry;
    const step = Math.min(backoffMaxMs, backoffBaseMs * 2 ** (faultAttempt - 1));
    return Math.round(step * (0.5 + Math.random() * 0.5));
  }

  private record(spec: CallSpec<unknown>, status: string, started: number, attempt: number): void {
    const ms = Math.round(performance.now() - started);
    const { metrics } = this.services;
    metrics?.auth0Requests.inc({ endpoint: spec.endpoint, method: spec.method, status });
    metrics?.auth0RequestDuration.observe({ endpoint: spec.endpoint }, ms / 1000);
    this.logger.debug(
      { requestId: this.request.requestId, method: spec.method, route: spec.route, status, ms, attempt },
      'auth0 call',
    );
  }
}
