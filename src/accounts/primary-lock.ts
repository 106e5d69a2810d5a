import type { GatewayContext } from '../context.js';
import { ConflictError } from '../errors.js';

/**
 * Runs `operation` holding the primary's writer lock (DESIGN §8: one writer per primary, across
 * replicas). A caller that would wait longer than AUTH0_MAX_WAIT_MS is answered CONFLICT with
 * reason PRIMARY_BUSY; different primaries never wait for each other.
 */
export async function withPrimaryLock<T>(
  ctx: GatewayContext,
  primaryId: string,
  operation: (lock: { readonly signal: AbortSignal }) => Promise<T>,
): Promise<T> {
  const lock = await ctx.primaryLocks.acquire(primaryId, ctx.config.auth0.maxWaitMs);
  if (!lock) {
    throw new ConflictError(
      'Another link, unlink or metadata merge of this primary is in progress; retry in a moment.',
      { reason: 'PRIMARY_BUSY' },
    );
  }
  try {
    return await operation(lock);
  } finally {
    await lock();
  }
}
