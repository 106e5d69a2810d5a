// Linking at login wired from the gateway's own parts (DESIGN §14): one call in the composition root.
import type { JWTVerifyGetKey } from 'jose';
import type { Logger } from 'pino';
import { createAuditLog, skipAudit } from '../accounts/audit.js';
import type { AccountWriteContext } from '../accounts/write-context.js';
import type { Auth0Services } from '../auth0/auth0-services.js';
import { Auth0ManagementApi } from '../auth0/management-api.js';
import type { Config, LoginLinkSetting } from '../config.js';
import type { SharedState } from '../shared-state/shared-state.js';
import { createLoginLinkRoutes, type LoginLinkRoute } from './login-link-routes.js';
import { SESSION_TOKEN_MAX_SECONDS } from './tokens.js';

export type { LoginLinkRoute } from './login-link-routes.js';

export interface LoginLinkParts {
  config: Config & { loginLink: LoginLinkSetting };
  /** The listening origin, once known: PUBLIC_URL's default. */
  origin: () => string;
  keys: JWTVerifyGetKey;
  services: Auth0Services;
  shared: SharedState;
  logger: Logger;
  /** What every link needs besides its Auth0 client (the gateway's own events, locks, records). */
  linkParts: Omit<AccountWriteContext, 'auth0' | 'config' | 'logger' | 'audit' | 'metrics'>;
  invalidateUsers?: (userIds: string[]) => Promise<unknown>;
}

export function createLoginLink(parts: LoginLinkParts): LoginLinkRoute {
  const { config, shared, logger } = parts;
  const api = (requestId: string) => new Auth0ManagementApi(parts.services, { requestId, logger });
  const audit = logger.isLevelEnabled('info') ? createAuditLog(() => logger) : skipAudit;
  const limit = config.callerRateLimit;
  return createLoginLinkRoutes({
    config,
    setting: config.loginLink,
    publicUrl: () => config.loginLink.publicUrl ?? parts.origin(),
    keys: parts.keys,
    api,
    writeContext: (requestId) => ({
      ...parts.linkParts,
      auth0: api(requestId),
      config,
      logger: () => logger.child({ requestId }),
      audit,
      metrics: parts.services.metrics,
    }),
    // One use per key within the session token's longest lifetime, on every replica sharing Redis.
    singleUse: shared.callerLimiter({
      name: 'login-link-once',
      count: 1,
      windowSeconds: SESSION_TOKEN_MAX_SECONDS + 60,
    }),
    checkLimiter: shared.callerLimiter({ name: 'login-link-check', ...limit }),
    pageLimiter: shared.callerLimiter({ name: 'login-link-page', ...limit }),
    invalidateUsers: parts.invalidateUsers,
    logger,
    metrics: parts.services.metrics,
  });
}
