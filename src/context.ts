import type DataLoader from 'dataloader';
import type { Logger } from 'pino';
import type { CallerResult } from './auth/verify-access-token.js';
import type { Caller } from './auth/caller.js';
import type { Auth0Services } from './auth0/auth0-services.js';
import { Auth0ManagementApi } from './auth0/management-api.js';
import type { WireUser } from './auth0/wire.js';
import type { Config } from './config.js';
import { RateLimitedError } from './errors.js';
import type { GatewayMetrics } from './observability/metrics.js';
import type { TraceParent } from './observability/tracing.js';
import type { CallerLimiter, LinkRecordStore, WriterLock } from './shared-state/shared-state.js';
import type { UndoRecordStore } from './shared-state/undo-records.js';
import type { ReconciliationScheduler } from './accounts/reconciliation.js';
import { createAuditLog, skipAudit, type AuditEvent } from './accounts/audit.js';
import { createUserLoader } from './accounts/user-loader.js';
import type { AccountEvents } from './events/account-events.js';
import type { UserReadCache } from './accounts/user-cache.js';

/** Everything one GraphQL request's resolvers may use. Built once per request by `createContext`. */
export interface GatewayContext {
  readonly requestId: string;
  /** Where this request's spans hang (the GraphQL plugin moves it to the operation's span). */
  readonly trace: TraceParent;
  /** This request's logger (with its requestId), made on first use. */
  readonly logger: () => Logger;
  /** The caller, verified once; `null` caller with `null` error when no token was sent. */
  readonly auth: CallerResult;
  /** One datasource per request over the process's shared HTTP client, budget and token. */
  readonly auth0: Auth0ManagementApi;
  /**
   * Per-request batching of user reads (`me`, `user`, entities, linkCandidates) through the read
   * cache; null when absent. Never for authorization or policy reads: those call `auth0` directly.
   */
  readonly users: DataLoader<string, WireUser | null>;
  /** The process's read cache (DESIGN §11); absent with USER_CACHE_TTL_MS=0. */
  readonly userCache?: UserReadCache;
  /**
   * Drops the users this request's link, unlink and PATCH calls touched (and the linkWith token's
   * subject) from the read cache on every replica, with what the change's answer told (`known`).
   * Call it before a mutation answers; never throws. Resolves `false` when Redis did not take it.
   */
  readonly invalidateTouchedUsers: (
    known?: Parameters<UserReadCache['invalidateUsers']>[1],
  ) => Promise<boolean>;
  readonly config: Config;
  readonly verifyLinkToken: (linkWith: string, caller: Caller) => Promise<{ subject: string }>;
  readonly audit: (event: AuditEvent) => void;
  /**
   * Counts one link/unlink attempt of `subject`; throws RATE_LIMITED (CALLER_LIMIT) beyond
   * CALLER_RATE_LIMIT (end users) or ADMIN_CALLER_RATE_LIMIT (client-credentials callers, unlimited
   * when unset).
   */
  readonly limitCaller: (subject: string) => Promise<void>;
  /** Link and unlink events (webhooks); records nothing without WEBHOOK_URL. */
  readonly events: AccountEvents;
  /** One writer per primary (DESIGN §8): link, unlink and merge take the primary's lock. */
  readonly primaryLocks: WriterLock;
  /** The process's metrics; absent where a test builds a context without them. */
  readonly metrics?: GatewayMetrics;
  /** The records of applied links and unlinks: one id and one event per operation (DESIGN §12). */
  readonly linkRecords: LinkRecordStore;
  /** What undoLink needs of each link (DESIGN §15); absent: links are not recorded for undo. */
  readonly undoRecords?: UndoRecordStore;
  /** Checks again, later, a link or unlink whose outcome was unknown (DESIGN §8). */
  readonly reconciliations: ReconciliationScheduler;
}

/** The per-process parts a request context is built from. */
export interface ContextDependencies {
  readonly config: Config;
  readonly logger: Logger;
  readonly services: Auth0Services;
  readonly verifyAuthorizationHeader: (header: string | undefined) => Promise<CallerResult>;
  readonly verifyLinkToken: (linkWith: string, caller: Caller) => Promise<{ subject: string }>;
  /** CALLER_RATE_LIMIT: end users (token `sub` is a user). */
  readonly callerLimiter: CallerLimiter;
  readonly events: AccountEvents;
  readonly primaryLocks: WriterLock;
  /** ADMIN_CALLER_RATE_LIMIT: client-credentials callers; `null`: only the tenant budget holds them. */
  readonly adminCallerLimiter: CallerLimiter | null;
  readonly userCache?: UserReadCache;
  readonly linkRecords: LinkRecordStore;
  readonly undoRecords?: UndoRecordStore;
  readonly reconciliations: ReconciliationScheduler;
}

/**
 * The per-caller limit (DESIGN §10): refused before any Auth0 call, so one caller cannot spend the
 * tenant's budget. Machines (admin backends) have a limit of their own, off by default: a bulk
 * admin job may use the whole tenant rate.
 */
async function limitCaller(deps: ContextDependencies, caller: Caller | null, subject: string): Promise<void> {
  const limiter = caller?.isClientCredentials ? deps.adminCallerLimiter : deps.callerLimiter;
  if (limiter === null) return;
  let outcome;
  try {
    outcome = await limiter.consume(subject);
  } catch (error) {
    // The limiter's own store failed: the attempt goes ahead (no request fails for shared state).
    deps.logger.warn({ err: error }, 'caller limit not checked');
    return;
  }
  if (!outcome.allowed) {
    const { retryAfterSeconds } = outcome;
    const variable = caller?.isClientCredentials ? 'ADMIN_CALLER_RATE_LIMIT' : 'CALLER_RATE_LIMIT';
    throw new RateLimitedError(
      `Too many link or unlink attempts by this caller (${variable}); retry after ${retryAfterSeconds} s.`,
      { retryAfter: retryAfterSeconds, reason: 'CALLER_LIMIT' },
    );
  }
}

/**
 * Builds one request's context: the caller verified once, one datasource, one user loader.
 * Never throws for a missing or bad token (the router's `_service` query carries none): the
 * authorization rules throw when an operation needs a caller.
 */
export async function createContext(
  deps: ContextDependencies,
  request: { requestId: string; authorization: string | undefined; trace?: TraceParent },
): Promise<GatewayContext> {
  // A child logger costs more than most requests log: made on first use only.
  let logger: Logger | undefined;
  const requestLogger = () => (logger ??= deps.logger.child({ requestId: request.requestId }));
  // The datasource writes `requestId` into its own lines: it gets the process logger, not the
  // request's child, which would write the key a second time.
  const trace = request.trace ?? {};
  const auth0 = new Auth0ManagementApi(deps.services, {
    requestId: request.requestId,
    logger: deps.logger,
    trace,
  });
  const auth = await deps.verifyAuthorizationHeader(request.authorization);
  // A linkWith token's subject is the secondary of a jwt-mode link: the datasource never sees it.
  const linkSubjects: string[] = [];
  return {
    requestId: request.requestId,
    trace,
    logger: requestLogger,
    auth,
    auth0,
    users: createUserLoader(auth0, deps.userCache),
    userCache: deps.userCache,
    invalidateTouchedUsers: async (known) => {
      const touched = auth0.touchedUserIds();
      if (touched.length === 0 || !deps.userCache) return true;
      return deps.userCache.invalidateUsers([...touched, ...linkSubjects], known);
    },
    config: deps.config,
    verifyLinkToken: async (linkWith, caller) => {
      const verified = await deps.verifyLinkToken(linkWith, caller);
      linkSubjects.push(verified.subject);
      return verified;
    },
    audit: deps.logger.isLevelEnabled('info') ? createAuditLog(requestLogger) : skipAudit,
    limitCaller: (subject) => limitCaller(deps, auth.caller, subject),
    events: deps.events,
    primaryLocks: deps.primaryLocks,
    metrics: deps.services.metrics,
    linkRecords: deps.linkRecords,
    undoRecords: deps.undoRecords,
    reconciliations: deps.reconciliations,
  };
}
