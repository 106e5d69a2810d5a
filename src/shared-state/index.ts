import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import { createMemorySharedState } from './memory.js';
import { createRedisSharedState } from './redis.js';
import type { SharedState } from './shared-state.js';
import { budgetKeyPrefix, tenantKeyPrefix } from './tenant-key.js';

export type * from './shared-state.js';

/**
 * Redis when REDIS_URL is set (degrading to memory while it is unreachable), else process memory.
 * Every Redis key starts with REDIS_KEY_PREFIX and the tenant's tag (DESIGN §13), composed here once
 * so that every key written through the shared state inherits it: the tag of the origin and client
 * id, but for the rate budget the origin's alone (Auth0 limits the tenant, not the client).
 */
export function createSharedState(
  config: Config,
  options: { logger: Logger; onAvailabilityChange?: (up: boolean) => void },
): Promise<SharedState> {
  if (config.shared.redisUrl === null) return Promise.resolve(createMemorySharedState());
  return createRedisSharedState({
    url: config.shared.redisUrl,
    keyPrefix: tenantKeyPrefix(config.shared.keyPrefix, config.auth0),
    budgetKeyPrefix: budgetKeyPrefix(config.shared.keyPrefix, config.auth0.origin),
    logger: options.logger,
    onAvailabilityChange: options.onAvailabilityChange,
    tokenLockMs: config.auth0.timeoutMs + 1000,
  });
}
