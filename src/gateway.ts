import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { createApolloServer } from './apollo-server.js';
import { Reconciliation, type ReconciliationOptions } from './accounts/reconciliation.js';
import { UserReadCache } from './accounts/user-cache.js';
import { createAccessTokenVerifier, createRemoteKeySet } from './auth/verify-access-token.js';
import { createLinkTokenVerifier } from './auth/verify-id-token.js';
import { createAuth0Services, type Auth0Services } from './auth0/auth0-services.js';
import { cacheReadiness } from './auth0/readiness.js';
import type { Config } from './config.js';
import { createContext, type ContextDependencies } from './context.js';
import { createBrowserRoutes } from './frontend/browser-routes.js';
import { TrustedDocuments } from './documents/trusted-documents.js';
import { startAccountEvents } from './events/account-events.js';
import { createHttpServer, DrainState } from './http-server.js';
import { createLoginLink } from './login-link/index.js';
import { createLogger } from './observability/logger.js';
import { createMetrics } from './observability/metrics.js';
import { startTracing } from './observability/tracing.js';
import { buildGatewaySchema } from './schema.js';
import { createSharedState, type SharedState } from './shared-state/index.js';

export interface GatewayOptions {
  logger?: Logger;
  /** How long one `/readyz` answer about Auth0 is reused, in milliseconds; default 5000 (DESIGN §6). */
  readinessCacheMs?: number;
  /** When links and unlinks of unknown outcome are checked again (DESIGN §8); tests shorten it. */
  reconciliation?: ReconciliationOptions;
}

export interface RunningGateway {
  /** `http://host:port/graphql`. */
  readonly url: string;
  /** The demo page (`<origin>/`) when `DEMO_PAGE` is on. */
  readonly demoPageUrl: string | undefined;
  /** GraphiQL for browsers (the GraphQL URL) when `GRAPHIQL` is on. */
  readonly ideUrl: string | undefined;
  readonly origin: string;
  readonly server: Server;
  readonly services: Auth0Services;
  /** What replicas share: memory, or Redis when REDIS_URL is set. */
  readonly shared: SharedState;
  readonly logger: Logger;
  /** Stops accepting, lets in-flight requests finish, then releases upstream connections. */
  close(): Promise<void>;
  /**
   * The SIGTERM/SIGINT drain (DESIGN §8): `/readyz` 503 at once; the listener keeps serving for at
   * least `minDrainMs` (a load balancer's probe period) and while requests are in flight; then
   * `close()`. At `timeoutMs` the requests still in flight are cut: their operations are told to
   * stop (no further Auth0 call is sent), and events and writer locks are let go only once they
   * have stopped. Resolves how it ended.
   */
  drain(options: DrainOptions): Promise<DrainOutcome>;
}

export interface DrainOptions {
  /** SHUTDOWN_TIMEOUT_MS: longest the drain waits for requests in flight before it cuts them. */
  timeoutMs: number;
  /** SHUTDOWN_MIN_DRAIN_MS: shortest time the listener stays open, idle or not; default 0. */
  minDrainMs?: number;
}

export interface DrainOutcome {
  /** Requests still in flight at `timeoutMs`, whose connections were closed. */
  cut: number;
  /**
   * Cut requests whose operations had not stopped when the process let go (an Auth0 call or a wait
   * outlived its own bound): their writer locks were not released but left to expire in Redis.
   */
  stillRunning: number;
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Least time a link record is kept, whatever LINK_UNDO_WINDOW says: a client's retries need it. */
const LINK_RECORD_MIN_MS = 60 * 60 * 1000;

/** Composition root: config → shared services → schema → Apollo Server → HTTP server. */
export async function startGateway(config: Config, options: GatewayOptions = {}): Promise<RunningGateway> {
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  // Read before anything starts: a bad manifest stops the start (ConfigError naming TRUSTED_DOCUMENTS).
  const trustedDocuments =
    config.trustedDocumentsPath === null ? undefined : TrustedDocuments.load(config.trustedDocumentsPath);
  const metrics = createMetrics({ redis: config.shared.redis !== null });
  const shared = await createSharedState(config, {
    logger,
    onAvailabilityChange: (up) => metrics.redisUp?.set(up ? 1 : 0),
  });
  const tracing = await startTracing(config.otlpEndpoint, 'auth0-link-gateway');
  const tracer = tracing?.tracer;
  // Aborted when a drain cuts what is still running: the cut operations send nothing more to Auth0.
  const stopOperations = new AbortController();
  const services = createAuth0Services({
    config: config.auth0,
    logger,
    metrics,
    shared,
    tracer,
    stopCalls: stopOperations.signal,
  });
  const keys = createRemoteKeySet(config.auth0.origin, { timeoutMs: config.auth0.timeoutMs });
  const accessTokens = createAccessTokenVerifier({
    issuer: config.auth0.issuer,
    managementAudience: config.auth0.audience,
    adminAudience: config.admin.audience,
    adminPermission: config.admin.permission,
    keys,
  });
  const linkTokens = createLinkTokenVerifier({ issuer: config.auth0.issuer, keys });
  const userCache =
    config.userCache.ttlMs > 0
      ? new UserReadCache({
          ttlMs: config.userCache.ttlMs,
          max: config.userCache.max,
          createStore: (hooks) =>
            shared.userCacheStore({
              // The tenant and the client: two gateways sharing one Redis never share users.
              name: `${config.auth0.origin}|${config.auth0.clientId}`,
              secret: config.auth0.clientSecret,
              ...hooks,
            }),
          onLookup: (layer, result) => metrics.userCacheLookups.inc({ layer, result }),
        })
      : undefined;
  const events = await startAccountEvents(config, { logger, metrics, tracer });
  const primaryLocks = shared.writerLock('primary');
  // Kept for undo's window, and at least long enough for a client's retries (DESIGN §12, §15).
  const linkRecords = shared.linkRecords({ ttlMs: Math.max(config.linkUndoWindowMs, LINK_RECORD_MIN_MS) });
  const reconciliation = new Reconciliation(
    {
      store: shared.pendingChecks(),
      linkRecords,
      primaryLocks,
      events,
      services,
      config,
      logger,
      metrics,
      userCache,
    },
    options.reconciliation,
  );
  reconciliation.start();
  const deps: ContextDependencies = {
    config,
    logger,
    services,
    verifyAuthorizationHeader: (header) => accessTokens.verifyAuthorizationHeader(header),
    verifyLinkToken: (linkWith, caller) => linkTokens.verifyLinkToken(linkWith, caller),
    callerLimiter: shared.callerLimiter({ name: 'link-unlink', ...config.callerRateLimit }),
    events,
    primaryLocks,
    adminCallerLimiter: config.adminCallerRateLimit
      ? shared.callerLimiter({ name: 'link-unlink-admin', ...config.adminCallerRateLimit })
      : null,
    userCache,
    linkRecords,
    undoRecords: shared.undoRecords({
      name: `${config.auth0.origin}|${config.auth0.clientId}`,
      secret: config.auth0.clientSecret,
    }),
    reconciliations: reconciliation,
  };

  const { schema } = await buildGatewaySchema();
  const apollo = createApolloServer({
    trustedDocuments,
    schema,
    introspection: config.server.introspection,
    logger,
    metrics,
    cache: shared.apqCache(),
    tracer,
  });
  await apollo.start();

  // The listening origin, known once the server listens: PUBLIC_URL's default (DESIGN §5).
  let listeningOrigin = '';
  const loginLinkSetting = config.loginLink;
  const loginLink = loginLinkSetting
    ? createLoginLink({
        config: { ...config, loginLink: loginLinkSetting },
        origin: () => listeningOrigin,
        keys,
        services,
        shared,
        logger,
        linkParts: {
          events,
          primaryLocks,
          linkRecords: deps.linkRecords,
          undoRecords: deps.undoRecords,
          reconciliations: reconciliation,
        },
        invalidateUsers: userCache ? (ids) => userCache.invalidateUsers(ids) : undefined,
      })
    : undefined;

  const drainState = new DrainState();
  // Probes are answered from this: at most one JWKS request per interval, whatever their number.
  const auth0Readiness = cacheReadiness(() => services.checkReadiness(), { ttlMs: options.readinessCacheMs });
  const server = createHttpServer({
    drain: drainState,
    apollo,
    createContext: (request) => createContext(deps, request),
    checkReadiness: async () => {
      const checks: Record<string, boolean> = { ...(await auth0Readiness()) };
      // Degraded, not down: without Redis each replica goes on alone (DESIGN §6, §10).
      if (shared.kind === 'redis') checks.redis = shared.isAvailable();
      return { ready: checks.jwks, checks };
    },
    metrics: { contentType: metrics.registry.contentType, render: () => metrics.registry.metrics() },
    corsOrigins: config.server.corsOrigins,
    browserRoutes: createBrowserRoutes(config),
    loginLink,
    logger,
    tracer,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.server.port, config.server.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
  const origin = `http://${host}:${port}`;
  listeningOrigin = origin;

  let closing: Promise<void> | undefined;
  /**
   * `releaseLocks: false` leaves the writer locks of operations that are still running in Redis,
   * where they expire once this process no longer renews them.
   */
  const shutDown = ({ releaseLocks }: { releaseLocks: boolean }) =>
    (closing ??= (async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await apollo.stop();
      // Before the outbox and the shared state it records into and reads from.
      await reconciliation.stop();
      await events.close();
      await services.close();
      await userCache?.close();
      // Last: releases the writer locks this process still holds (DESIGN §8).
      if (releaseLocks) await shared.close();
      await tracing?.shutdown();
    })());
  const close = () => shutDown({ releaseLocks: true });

  // How long a cut operation may take to stop: its Auth0 call in flight ends within
  // AUTH0_TIMEOUT_MS, a wait for the budget or the primary's lock within AUTH0_MAX_WAIT_MS, and
  // nothing new is sent after the cut.
  const stopWithinMs = Math.max(config.auth0.timeoutMs, config.auth0.maxWaitMs) + 1000;

  const drain = async ({ timeoutMs, minDrainMs = 0 }: DrainOptions): Promise<DrainOutcome> => {
    const deadline = performance.now() + timeoutMs;
    drainState.startDraining();
    // Open and serving for a probe period even when idle: the load balancer must see the 503
    // before connections are refused.
    await pause(Math.min(minDrainMs, timeoutMs));
    if (await drainState.whenIdle(Math.max(0, deadline - performance.now()))) {
      await close();
      return { cut: 0, stillRunning: 0 };
    }
    const cut = drainState.requestsInFlight;
    // SHUTDOWN_TIMEOUT_MS reached. The cut operations are told to stop first; their clients see the
    // connection end. Events they record and the locks they hold are let go only once they have
    // stopped: another replica must not take a primary whose link is still in flight here.
    stopOperations.abort();
    server.closeAllConnections();
    if (await drainState.whenIdle(stopWithinMs)) {
      await close();
      return { cut, stillRunning: 0 };
    }
    const stillRunning = drainState.requestsInFlight;
    logger.error(
      { stillRunning, waitedMs: stopWithinMs },
      'operations cut at SHUTDOWN_TIMEOUT_MS have not stopped: their writer locks are left to expire in Redis',
    );
    await shutDown({ releaseLocks: false });
    return { cut, stillRunning };
  };

  const url = `${origin}/graphql`;
  return {
    url,
    demoPageUrl: config.frontend.demoPage ? `${origin}/` : undefined,
    ideUrl: config.frontend.graphiql ? url : undefined,
    origin,
    server,
    services,
    shared,
    logger,
    close,
    drain,
  };
}
