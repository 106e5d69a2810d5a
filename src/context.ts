import type DataLoader from 'dataloader';
import type { Logger } from 'pino';
import type { CallerResult } from './auth/verify-access-token.js';
import type { Caller } from './auth/caller.js';
import { Auth0ManagementApi, type Auth0Services } from './auth0/management-api.js';
import type { WireUser } from './auth0/wire.js';
import type { Config } from './config.js';
import { createAuditLog, skipAudit, type AuditEvent } from './accounts/audit.js';
import { createUserLoader } from './accounts/user-loader.js';

/** Everything one GraphQL request's resolvers may use. Built once per request by `createContext`. */
export interface GatewayContext {
  readonly requestId: string;
  /** This request's logger (with its requestId), made on first use. */
  readonly logger: () => Logger;
  /** The caller, verified once; `null` caller with `null` error when no token was sent. */
  readonly auth: CallerResult;
  /** One datasource per request over the process's shared HTTP client, budget and token. */
  readonly auth0: Auth0ManagementApi;
  /** Per-request batching of user reads (entities, `user`, policy checks); null when absent. */
  readonly users: DataLoader<string, WireUser | null>;
  readonly config: Config;
  readonly verifyLinkToken: (linkWith: string, caller: Caller) => Promise<{ subject: string }>;
  readonly audit: (event: AuditEvent) => void;
}

/** The per-process parts a request context is built from. */
export interface ContextDependencies {
  readonly config: Config;
  readonly logger: Logger;
  readonly services: Auth0Services;
  readonly verifyAuthorizationHeader: (header: string | undefined) => Promise<CallerResult>;
  readonly verifyLinkToken: (linkWith: string, caller: Caller) => Promise<{ subject: string }>;
}

/**
 * Builds one request's context: the caller verified once, one datasource, one user loader.
 * Never throws for a missing or bad token (the router's `_service` query carries none): the
 * authorization rules throw when an operation needs a caller.
 */
export async function createContext(
  deps: ContextDependencies,
  request: { requestId: string; authorization: string | undefined },
): Promise<GatewayContext> {
  // A child logger costs more than most requests log: made on first use only.
  let logger: Logger | undefined;
  const requestLogger = () => (logger ??= deps.logger.child({ requestId: request.requestId }));
  // The datasource writes `requestId` into its own lines: it gets the process logger, not the
  // request's child, which would write the key a second time.
  const auth0 = new Auth0ManagementApi(deps.services, { requestId: request.requestId, logger: deps.logger });
  return {
    requestId: request.requestId,
    logger: requestLogger,
    auth: await deps.verifyAuthorizationHeader(request.authorization),
    auth0,
    users: createUserLoader(auth0),
    config: deps.config,
    verifyLinkToken: deps.verifyLinkToken,
    audit: deps.logger.isLevelEnabled('info') ? createAuditLog(requestLogger) : skipAudit,
  };
}
