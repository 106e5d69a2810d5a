import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import { createMemorySharedState } from './memory.js';
import { createRedisSharedState } from './redis.js';
import type { SharedState } from './shared-state.js';
import { originDiscriminator, tenantDiscriminator } from './tenant-key.js';

export type * from './shared-state.js';

/**
 * Redis when REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS is set (degrading to memory while it
 * is unreachable), else process memory. Every Redis key starts with REDIS_KEY_PREFIX and carries
 * the tenant's tag (DESIGN §13; key-space.ts names them): the tag of the origin and client id, but
 * for the rate budget the origin's alone (Auth0 limits the tenant, not the client).
 */
export function createSharedState(
  config: Config,
  options: { logger: Logger; onAvailabilityChange?: (up: boolean) => void },
): Promise<SharedState> {
  if (config.shared.redis === null) return Promise.resolve(createMemorySharedState());
  return createRedisSharedState({
    target: config.shared.redis,
    keyPrefix: config.shared.keyPrefix,
    tenantTag: tenantDiscriminator(config.auth0),
    originTag: originDiscriminator(config.auth0.origin),
    logger: options.logger,
    onAvailabilityChange: options.onAvailabilityChange,
    tokenLockMs: config.auth0.timeoutMs + 1000,
  });
}
