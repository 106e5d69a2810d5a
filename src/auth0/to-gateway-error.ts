import {
  BadUserInputError,
  ConflictError,
  ForbiddenError,
  type GatewayError,
  NotFoundError,
  RateLimitedError,
  UnauthenticatedError,
  UpstreamError,
  UpstreamTimeoutError,
  type ErrorCode,
  type ErrorReason,
} from '../errors.js';
import type { WireErrorBody } from './wire.js';

/** Which kind of Management API call failed; it decides the wording and the reasons. */
/** What a call does, for its error message; `assign`: a role or membership write. */
export type Auth0Operation = 'link' | 'unlink' | 'read' | 'update' | 'assign';

/** Whose token the call carried: a 401 on the service's own token is the gateway's fault, not the caller's. */
export type UpstreamAuthKind = 'service' | 'user';

export type HeaderBag = Record<string, string | string[] | undefined>;

/** An Auth0 answer that was not the expected success. */
export interface Auth0ErrorResponse {
  statusCode: number;
  headers?: HeaderBag;
  /** Raw body text (or an already parsed value). Goes to `cause` only. */
  body?: unknown;
}

/**
 * The one status → code table (DESIGN §4). Statuses not listed (5xx, 3xx, other 4xx) are
 * UPSTREAM_ERROR: the gateway cannot tell the caller anything more useful about them.
 */
export const STATUS_TO_CODE: Readonly<Record<number, ErrorCode>> = Object.freeze({
  400: 'BAD_USER_INPUT',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  429: 'RATE_LIMITED',
});

/** `extensions.code` for an Auth0 status; `auth` matters only for 401 (see UpstreamAuthKind). */
export function codeForStatus(statusCode: number, auth: UpstreamAuthKind = 'user'): ErrorCode {
  if (statusCode === 401 && auth === 'service') return 'UPSTREAM_ERROR';
  return STATUS_TO_CODE[statusCode] ?? 'UPSTREAM_ERROR';
}

/**
 * `extensions.reason` from what Auth0 answered (auth0-reference.md §1, §6). Matches key phrases
 * case-insensitively; anything unrecognised has no reason, which clients treat as "just the code".
 */
export function deriveReason(
  operation: Auth0Operation,
  statusCode: number,
  errorCode: string | null | undefined,
  message: string | null | undefined,
): ErrorReason | undefined {
  const text = (message ?? '').toLowerCase();
  const linking = operation === 'link' || operation === 'unlink';
  switch (statusCode) {
    case 400:
      if (operation === 'link') {
        if (text.includes('main identity and the new one are the same')) return 'SAME_ACCOUNT';
        if (text.includes('secondary account not found')) return 'SECONDARY_NOT_FOUND';
        // "Invalid token (link_with).", "JWT (link_with) contains an invalid aud claim.", …
        if (/link_with|\bjwt\b|\btoken\b/.test(text)) return 'INVALID_LINK_TOKEN';
      }
      if (operation === 'unlink' && text.includes('main identity cannot be removed')) return 'MAIN_IDENTITY';
      return undefined;
    case 403:
      if (text.includes('does not match subject')) return 'SUBJECT_MISMATCH';
      if (errorCode === 'insufficient_scope' || text.includes('insufficient scope'))
        return 'INSUFFICIENT_SCOPE';
      return undefined;
    case 404:
      if (!linking) return undefined;
      // An unlink whose identity (not user) is missing says nothing about the primary.
      if (operation === 'unlink' && text.includes('identity') && !text.includes('user')) return undefined;
      return 'PRIMARY_NOT_FOUND';
    case 409:
      return operation === 'link' ? 'ALREADY_LINKED' : undefined;
    default:
      return undefined;
  }
}

const JWT_LIKE = /[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g;
const BEARER = /\bbearer\s+\S+/gi;
// Opaque tokens (refresh tokens, secrets) are long runs without separators.
const OPAQUE_TOKEN = /[A-Za-z0-9_~+/=-]{40,}/g;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]+/g;
const MAX_MESSAGE_LENGTH = 300;

/** Auth0's message made safe to show: no JWT, bearer or token-like run, no control characters, bounded. */
export function sanitizeUpstreamMessage(message: string): string {
  const cleaned = message
    .replace(BEARER, 'Bearer [redacted]')
    .replace(JWT_LIKE, '[redacted]')
    .replace(OPAQUE_TOKEN, '[redacted]')
    .replace(CONTROL, ' ')
    .trim();
  return cleaned.length > MAX_MESSAGE_LENGTH ? `${cleaned.slice(0, MAX_MESSAGE_LENGTH)}…` : cleaned;
}

export function headerValue(headers: HeaderBag | undefined, name: string): string | undefined {
  const value = headers?.[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** `Retry-After` in seconds (delta-seconds or an HTTP date), when sent and readable. */
export function parseRetryAfter(
  headers: HeaderBag | undefined,
  nowMs: number = Date.now(),
): number | undefined {
  const raw = headerValue(headers, 'retry-after')?.trim();
  if (!raw) return undefined;
  if (/^\d+(\.\d+)?$/.test(raw)) return Number(raw);
  const date = Date.parse(raw);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, (date - nowMs) / 1000);
}

/** Seconds a client should wait after a 429: Retry-After, else until `x-ratelimit-reset`, else 1. */
export function retryAfterSeconds(headers: HeaderBag | undefined, nowMs: number = Date.now()): number {
  const retryAfter = parseRetryAfter(headers, nowMs);
  if (retryAfter !== undefined) return Math.max(1, Math.ceil(retryAfter));
  const reset = Number(headerValue(headers, 'x-ratelimit-reset'));
  if (Number.isFinite(reset) && reset > 0) return Math.max(1, Math.ceil(reset - nowMs / 1000));
  return 1;
}

/** Auth0's `{statusCode, error, message, errorCode}` (or the token endpoint's `{error, error_description}`). */
export function parseErrorBody(body: unknown): { errorCode: string | null; message: string | null } {
  let value = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body);
    } catch {
      return { errorCode: null, message: null };
    }
  }
  if (!value || typeof value !== 'object') return { errorCode: null, message: null };
  const b = value as WireErrorBody & { error_description?: unknown };
  const errorCode = typeof b.errorCode === 'string' ? b.errorCode : null;
  const message =
    typeof b.message === 'string'
      ? b.message
      : typeof b.error_description === 'string'
        ? b.error_description
        : null;
  return { errorCode, message };
}

const NOUN: Record<Auth0Operation, string> = {
  link: 'link',
  unlink: 'unlink',
  read: 'read',
  update: 'metadata update',
  assign: 'role or membership change',
};

/**
 * Turns an Auth0 answer other than the expected success into the GatewayError a client sees:
 * code from {@link STATUS_TO_CODE}, `extensions.auth0`, a reason from {@link deriveReason}, and a
 * message with Auth0's text (sanitised). Body and headers stay in `cause`.
 */
export function toGatewayError(
  operation: Auth0Operation,
  response: Auth0ErrorResponse,
  options: { auth?: UpstreamAuthKind; nowMs?: number } = {},
): GatewayError {
  const { statusCode } = response;
  const { errorCode, message } = parseErrorBody(response.body);
  const code = codeForStatus(statusCode, options.auth);
  const auth0 = { statusCode, errorCode };
  const cause = { statusCode, headers: response.headers, body: response.body };
  const said = message ? `: ${sanitizeUpstreamMessage(message)}` : '.';
  const noun = NOUN[operation];

  if (code === 'RATE_LIMITED') {
    const retryAfter = retryAfterSeconds(response.headers, options.nowMs);
    return new RateLimitedError(
      `Auth0's rate limit was reached during the ${noun}; retry after ${retryAfter} s.`,
      { auth0, retryAfter, cause },
    );
  }
  if (statusCode === 401 && code === 'UPSTREAM_ERROR') {
    return new UpstreamError(`Auth0 rejected the gateway's service token during the ${noun} (401).`, {
      auth0,
      cause,
    });
  }
  const reason = deriveReason(operation, statusCode, errorCode, message);
  const refused = `Auth0 refused the ${noun} (${statusCode})${said}`;
  const errorOptions = { auth0, cause, ...(reason ? { reason } : {}) };
  switch (code) {
    case 'BAD_USER_INPUT':
      return new BadUserInputError(refused, errorOptions);
    case 'UNAUTHENTICATED':
      return new UnauthenticatedError(refused, errorOptions);
    case 'FORBIDDEN':
      return new ForbiddenError(refused, errorOptions);
    case 'NOT_FOUND':
      return new NotFoundError(refused, errorOptions);
    case 'CONFLICT':
      return new ConflictError(refused, errorOptions);
    default:
      return new UpstreamError(`Auth0 failed the ${noun} (${statusCode})${said}`, errorOptions);
  }
}

/** A failed HTTP exchange, summarised without the request options (they carry the Authorization header). */
export interface RequestFailure {
  name: string;
  code: string | undefined;
  message: string;
  /** got's timeout phase (`connect`, `request`, …), when it timed out. */
  event?: string;
}

export function summariseRequestFailure(error: unknown): RequestFailure {
  const e = (error ?? {}) as { name?: unknown; code?: unknown; message?: unknown; event?: unknown };
  return {
    name: typeof e.name === 'string' ? e.name : 'Error',
    code: typeof e.code === 'string' ? e.code : undefined,
    message: typeof e.message === 'string' ? sanitizeUpstreamMessage(e.message) : String(error),
    ...(typeof e.event === 'string' ? { event: e.event } : {}),
  };
}

export function isTimeout(error: unknown): boolean {
  const failure = summariseRequestFailure(error);
  return failure.name === 'TimeoutError' || failure.code === 'ETIMEDOUT';
}

/** True only where the request cannot have reached Auth0: the connection was refused. */
export function isConnectionRefused(error: unknown): boolean {
  return summariseRequestFailure(error).code === 'ECONNREFUSED';
}

/** No answer from Auth0: a timeout is UPSTREAM_TIMEOUT, any other network failure UPSTREAM_ERROR. */
export function fromRequestFailure(operation: Auth0Operation | 'token', error: unknown): GatewayError {
  const cause = summariseRequestFailure(error);
  const noun = operation === 'token' ? 'service token request' : NOUN[operation];
  if (isTimeout(error)) {
    return new UpstreamTimeoutError(`Auth0 did not answer the ${noun} in time.`, { cause });
  }
  return new UpstreamError(`Auth0 could not be reached for the ${noun} (${cause.code ?? cause.name}).`, {
    cause,
  });
}

/** Auth0 answered with the expected status but a body the gateway cannot use. */
export function unexpectedResponse(
  operation: Auth0Operation | 'token',
  statusCode: number,
  problem: string,
): UpstreamError {
  const noun = operation === 'token' ? 'service token request' : NOUN[operation];
  // The body is deliberately left out of the cause: it may hold provider or access tokens.
  return new UpstreamError(`Auth0 sent an unexpected response to the ${noun} (${statusCode}).`, {
    auth0: { statusCode, errorCode: null },
    cause: { statusCode, problem },
  });
}

/**
 * An error from `POST /oauth/token` (client credentials). None of them is the caller's fault:
 * 429 is RATE_LIMITED, everything else UPSTREAM_ERROR with Auth0's `error` as errorCode.
 */
export function tokenEndpointError(
  response: Auth0ErrorResponse,
  options: { secret?: string; nowMs?: number } = {},
): GatewayError {
  const { statusCode } = response;
  let error: string | null = null;
  let description: string | null = null;
  try {
    const body = typeof response.body === 'string' ? JSON.parse(response.body) : response.body;
    if (body && typeof body === 'object') {
      if (typeof body.error === 'string') error = body.error;
      if (typeof body.error_description === 'string') description = body.error_description;
    }
  } catch {
    // Unreadable body: status alone.
  }
  const auth0 = { statusCode, errorCode: error };
  const cause = { statusCode, headers: response.headers, errorCode: error };
  if (statusCode === 429) {
    const retryAfter = retryAfterSeconds(response.headers, options.nowMs);
    return new RateLimitedError(`Auth0's token endpoint is rate limited; retry after ${retryAfter} s.`, {
      auth0,
      retryAfter,
      cause,
    });
  }
  let said = description ? sanitizeUpstreamMessage(description) : '';
  if (options.secret && said.includes(options.secret)) said = said.split(options.secret).join('[redacted]');
  const detail = [error, said].filter(Boolean).join(': ');
  return new UpstreamError(
    `Auth0 refused the gateway's service token request (${statusCode})${detail ? `: ${detail}` : '.'}`,
    { auth0, cause },
  );
}
