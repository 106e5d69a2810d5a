import { GraphQLError } from 'graphql';

/** The `extensions.code` values of DESIGN §4, and nothing else. */
export const ERROR_CODES = [
  'BAD_USER_INPUT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'RATE_LIMITED',
  'UPSTREAM_ERROR',
  'UPSTREAM_TIMEOUT',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** `extensions.reason`: refines a code where the outcome is specific to linking (DESIGN §4). */
export const ERROR_REASONS = [
  'ALREADY_LINKED',
  'SAME_ACCOUNT',
  'SECONDARY_NOT_FOUND',
  'PRIMARY_NOT_FOUND',
  'MAIN_IDENTITY',
  'SUBJECT_MISMATCH',
  'INSUFFICIENT_SCOPE',
  'INVALID_LINK_TOKEN',
  'EMAIL_NOT_VERIFIED',
  'EMAIL_MISMATCH',
  'CALLER_LIMIT',
  'TENANT_LIMIT',
  /** The read-back after an unclear link or unlink showed nothing changed: safe to retry. */
  'NOT_APPLIED',
  /** The read-back failed too: read the user before retrying. */
  'OUTCOME_UNKNOWN',
  /** Another operation on the same primary held it longer than AUTH0_MAX_WAIT_MS. */
  'PRIMARY_BUSY',
  /** undoLink: no link of this id can be undone (unknown, or LINK_UNDO_WINDOW has passed). */
  'UNDO_EXPIRED',
  /** undoLink stopped after some of its steps: calling it again resumes where it stopped. */
  'UNDO_INCOMPLETE',
] as const;
export type ErrorReason = (typeof ERROR_REASONS)[number];

/** What Auth0 answered, when it answered: exposed as `extensions.auth0`. */
export interface Auth0ErrorInfo {
  statusCode: number;
  errorCode: string | null;
}

export interface GatewayErrorOptions {
  reason?: ErrorReason;
  auth0?: Auth0ErrorInfo;
  /** Seconds a client should wait before retrying (RATE_LIMITED only). */
  retryAfter?: number;
  /** The root cause, for server-side logs only: never serialised into a response. */
  cause?: unknown;
}

/**
 * Every error the gateway means to send. The message is for the calling app's developers and
 * never contains a token, a secret or a stack trace; details stay in `cause`.
 */
export class GatewayError extends GraphQLError {
  readonly code: ErrorCode;
  readonly reason?: ErrorReason;
  readonly auth0?: Auth0ErrorInfo;
  readonly retryAfter?: number;

  constructor(code: ErrorCode, message: string, options: GatewayErrorOptions = {}) {
    const extensions: Record<string, unknown> = { code };
    if (options.reason) extensions.reason = options.reason;
    if (options.auth0) extensions.auth0 = { ...options.auth0 };
    if (options.retryAfter !== undefined) extensions.retryAfter = options.retryAfter;
    super(message, { extensions });
    this.name = new.target.name;
    this.code = code;
    this.reason = options.reason;
    this.auth0 = options.auth0;
    this.retryAfter = options.retryAfter;
    // GraphQLError's own `originalError` would be serialised by some tools; keep the cause apart.
    Object.defineProperty(this, 'cause', { value: options.cause, enumerable: false, writable: true });
  }
}

type SubclassOptions = GatewayErrorOptions;

export class BadUserInputError extends GatewayError {
  constructor(message: string, options?: SubclassOptions) {
    super('BAD_USER_INPUT', message, options);
  }
}
export class UnauthenticatedError extends GatewayError {
  constructor(message: string, options?: SubclassOptions) {
    super('UNAUTHENTICATED', message, options);
  }
}
export class ForbiddenError extends GatewayError {
  constructor(message: string, options?: SubclassOptions) {
    super('FORBIDDEN', message, options);
  }
}
export class NotFoundError extends GatewayError {
  constructor(message: string, options?: SubclassOptions) {
    super('NOT_FOUND', message, options);
  }
}
export class ConflictError extends GatewayError {
  constructor(message: string, options?: SubclassOptions) {
    super('CONFLICT', message, options);
  }
}
export class RateLimitedError extends GatewayError {
  constructor(message: string, options: SubclassOptions & { retryAfter: number }) {
    super('RATE_LIMITED', message, options);
  }
}
export class UpstreamError extends GatewayError {
  constructor(message: string, options?: SubclassOptions) {
    super('UPSTREAM_ERROR', message, options);
  }
}
export class UpstreamTimeoutError extends GatewayError {
  constructor(message: string, options?: SubclassOptions) {
    super('UPSTREAM_TIMEOUT', message, options);
  }
}
