// Errors as the app shows them: the gateway's `extensions.code` first, then `extensions.reason`
// (DESIGN §4), and what the user can do about it.
import { CombinedGraphQLErrors, ServerError } from '@apollo/client/errors';

export interface AppError {
  code: string;
  reason: string | null;
  message: string;
  /** Seconds to wait before retrying (RATE_LIMITED). */
  retryAfter: number | null;
}

/** What the user can do: retry (after `retryAfter` seconds), sign in again, or nothing. */
export type ErrorAction = 'retry' | 'sign-in' | 'none';

interface WireError {
  message?: string;
  extensions?: { code?: unknown; reason?: unknown; retryAfter?: unknown };
}

function fromWire(error: WireError): AppError {
  const ext = error.extensions ?? {};
  return {
    code: typeof ext.code === 'string' ? ext.code : 'INTERNAL_SERVER_ERROR',
    reason: typeof ext.reason === 'string' ? ext.reason : null,
    message: error.message ?? 'The gateway refused the request.',
    retryAfter: typeof ext.retryAfter === 'number' ? ext.retryAfter : null,
  };
}

/** Any error a gateway call or an Auth0 login threw, as one AppError. */
export function toAppError(error: unknown): AppError {
  if (CombinedGraphQLErrors.is(error) && error.errors[0]) return fromWire(error.errors[0]);
  if (ServerError.is(error)) {
    // A refusal with a non-2xx status (e.g. 400 for a document outside the trusted list) still
    // carries a GraphQL body with the code.
    try {
      const body = JSON.parse(error.bodyText) as { errors?: WireError[] };
      if (body.errors?.[0]) return fromWire(body.errors[0]);
    } catch {
      // not JSON: fall through
    }
    return { code: 'NETWORK_ERROR', reason: null, message: error.message, retryAfter: null };
  }
  // Auth0 SDK errors carry `error` (`login_required`, `consent_required`, …): sign in again.
  const oauth = error as { error?: unknown; error_description?: unknown; message?: unknown };
  if (typeof oauth.error === 'string') {
    return {
      code: 'UNAUTHENTICATED',
      reason: oauth.error.toUpperCase(),
      message: typeof oauth.error_description === 'string' ? oauth.error_description : oauth.error,
      retryAfter: null,
    };
  }
  return {
    code: 'NETWORK_ERROR',
    reason: null,
    message: typeof oauth.message === 'string' ? oauth.message : String(error),
    retryAfter: null,
  };
}

/** What the user can do about `error`, and the sentence that says so. */
export function adviceFor(error: AppError): { action: ErrorAction; text: string } {
  switch (error.code) {
    case 'UNAUTHENTICATED':
      return { action: 'sign-in', text: 'Your session has ended: sign in again.' };
    case 'RATE_LIMITED':
      return {
        action: 'retry',
        text:
          error.reason === 'TENANT_LIMIT'
            ? "The tenant's Auth0 budget is spent for now: try again when the wait is over."
            : 'Too many attempts: try again when the wait is over.',
      };
    case 'CONFLICT':
      if (error.reason === 'ALREADY_LINKED') {
        return { action: 'none', text: 'That account is already linked to a user: nothing to do here.' };
      }
      return { action: 'retry', text: 'Another change to this account was in progress: try again.' };
    case 'BAD_USER_INPUT':
      if (error.reason === 'SAME_ACCOUNT') {
        return { action: 'none', text: 'That is the account you are signed in with: nothing to link.' };
      }
      if (error.reason === 'INVALID_LINK_TOKEN') {
        return { action: 'retry', text: 'The second sign-in did not prove that account: link it again.' };
      }
      return { action: 'none', text: 'The request was refused as invalid.' };
    case 'FORBIDDEN':
      return { action: 'sign-in', text: 'This sign-in may not change these accounts: sign in again.' };
    case 'NOT_FOUND':
      return { action: 'none', text: 'That account or identity no longer exists.' };
    case 'UPSTREAM_ERROR':
    case 'UPSTREAM_TIMEOUT':
      return error.reason === 'OUTCOME_UNKNOWN'
        ? { action: 'none', text: 'Auth0 did not confirm the change: reload to see where it stands.' }
        : { action: 'retry', text: 'Auth0 is unavailable for a moment: try again.' };
    default:
      return { action: 'retry', text: 'Something failed on the way: try again.' };
  }
}
