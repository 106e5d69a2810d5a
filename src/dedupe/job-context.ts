// The parts a dedupe run shares with the gateway, built from the same configuration: the service
// token, the tenant budget (in Redis when REDIS_URL is set, so a gateway serving traffic on the
// same Redis and this job pace each other), the primary locks, link records, events and audit.
import { createAuditLog, skipAudit } from '../accounts/audit.js';
import { Reconciliation } from '../accounts/reconciliation.js';
import type { AccountWriteContext } from '../accounts/write-context.js';
import { createAuth0Services, type Auth0Services } from '../auth0/auth0-services.js';
import { Auth0ManagementApi } from '../auth0/management-api.js';
import type { Config } from '../config.js';
import { startAccountEvents } from '../events/account-events.js';
import type { Logger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import { createSharedState, type SharedState } from '../shared-state/index.js';

/** Least time a link record is kept, as the gateway keeps it (a retry's answer needs it). */
const LINK_RECORD_MIN_MS = 60 * 60 * 1000;

export interface DedupeJob {
  readonly config: Config;
  readonly services: Auth0Services;
  readonly shared: SharedState;
  /** A Management API client for one unit of work (`requestId` names it in logs). */
  api(requestId: string): Auth0ManagementApi;
  /** The context performLink runs in, with a client of its own (one per pair). */
  writeContext(requestId: string): AccountWriteContext;
  close(): Promise<void>;
}

export async function startDedupeJob(config: Config, logger: Logger): Promise<DedupeJob> {
  const metrics = createMetrics({ redis: config.shared.redis !== null, defaultMetrics: false });
  const shared = await createSharedState(config, { logger });
  const services = createAuth0Services({ config: config.auth0, logger, metrics, shared });
  const events = await startAccountEvents(config, { logger, metrics });
  const primaryLocks = shared.writerLock('primary');
  const linkRecords = shared.linkRecords({ ttlMs: Math.max(config.linkUndoWindowMs, LINK_RECORD_MIN_MS) });
  // Its links can be undone by the gateways sharing its Redis (DESIGN §15).
  const undoRecords = shared.undoRecords({
    name: `${config.auth0.origin}|${config.auth0.clientId}`,
    secret: config.auth0.clientSecret,
  });
  // A link whose outcome stayed unknown is checked again later: by this run while it lasts, and
  // by the gateways sharing Redis after it (the checks are kept there).
  const reconciliation = new Reconciliation({
    store: shared.pendingChecks(),
    linkRecords,
    primaryLocks,
    events,
    services,
    config,
    logger,
    metrics,
  });
  reconciliation.start();
  // The tenant budget's waits use unref'd timers (a waiting call must not keep a stopping gateway
  // alive). Here nothing else may hold the event loop while every pair waits for the budget: the
  // job holds it until it is closed, else the process would end mid-run with exit code 0.
  const keepAlive = setInterval(() => undefined, 60_000);
  const audit = logger.isLevelEnabled('info') ? createAuditLog(() => logger) : skipAudit;
  const api = (requestId: string) => new Auth0ManagementApi(services, { requestId, logger });
  return {
    config,
    services,
    shared,
    api,
    writeContext: (requestId) => ({
      auth0: api(requestId),
      config,
      logger: () => logger,
      events,
      primaryLocks,
      metrics,
      audit,
      linkRecords,
      undoRecords,
      reconciliations: reconciliation,
    }),
    async close() {
      clearInterval(keepAlive);
      await reconciliation.stop();
      await events.close();
      await services.close();
      await shared.close();
    },
  };
}
