import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import { createMemorySharedState } from './memory.js';
import { createRedisSharedState } from './redis.js';
import type { SharedState } from './shared-state.js';

export type * from './shared-state.js';

/** Redis when REDIS_URL is set (degrading to memory while it is unreachable), else process memory. */
export function createSharedState(
  config: Config,
  options: { logger: Logger; onAvailabilityChange?: (up: boolean) => void },
): Promise<SharedState> {
  if (config.shared.redisUrl === null) return Promise.resolve(createMemorySharedState());
  return createRedisSharedState({
    url: config.shared.redisUrl,
    keyPrefix: config.shared.keyPrefix,
    logger: options.logger,
    onAvailabilityChange: options.onAvailabilityChange,
    tokenLockMs: config.auth0.timeoutMs + 1000,
  });
}
