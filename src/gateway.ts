import type { AddressInfo } from 'node:net';
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
   * The SIGTERM/SIGINT drain (DESIGN §8): `/readyz` 503 at once; the listener keeps serving while
   * requests are in flight; then `close()`, which releases the writer locks this process holds.
   * After `timeoutMs` the requests still in flight are cut. Resolves how it ended.
   */
  drain(timeoutMs: number): Promise<{ cut: number }>;
}

/** Least time a link record is kept, whatever LINK_UNDO_WINDOW says: a client's retries need it. */
const LINK_RECORD_MIN_MS = 60 * 60 * 1000;

/** Composition root: config → shared services → schema → Apollo Server → HTTP server. */
export async function startGateway(config: Config, options: GatewayOptions = {}): Promise<RunningGateway> {
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  // Read before anything starts: a bad manifest stops the start (ConfigError naming TRUSTED_DOCUMENTS).
  const trustedDocuments =
    config.trustedDocumentsPath === null ? undefined : TrustedDocuments.load(config.trustedDocumentsPath);
  const metrics = createMetrics({ redis: config.shared.redisUrl !== null });
  const shared = await createSharedState(config, {
    logger,
    onAvailabilityChange: (up) => metrics.redisUp?.set(up ? 1 : 0),
  });
  const tracing = await startTracing(config.otlpEndpoint, 'auth0-link-gateway');
  const tracer = tracing?.tracer;
  const services = createAuth0Services({ config: config.auth0, logger, metrics, shared, tracer });
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

  let closing: Promise<void> | undefined;
  const close = () =>
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
      await shared.close();
      await tracing?.shutdown();
    })());

  const drain = async (timeoutMs: number) => {
    drainState.draining = true;
    let cut = 0;
    if (!(await drainState.whenIdle(timeoutMs))) {
      cut = drainState.requestsInFlight;
      // SHUTDOWN_TIMEOUT_MS reached: what is still running is cut, so close() can finish.
      server.closeAllConnections();
    }
    await close();
    return { cut };
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
