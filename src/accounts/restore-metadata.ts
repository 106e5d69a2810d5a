import type { WireUser } from '../auth0/wire.js';
import type { HeldWriterLock } from '../shared-state/shared-state.js';
import { restoreStillOurs, type MetadataMergePlan } from './merge-metadata.js';
import { hasIdentity } from './read-back.js';
import type { AccountWriteContext } from './write-context.js';

/**
 * - `restored`: the keys still ours were put back (or none was left to put back).
 * - `linked`: the fresh read shows the secondary on the primary (an earlier attempt's link landed):
 *   nothing was restored, the merged copy is the only one, and the link counts as applied.
 * - `failed`: the read or the PATCH failed, or the lock was lost before the PATCH: the merged keys
 *   may stay.
 */
export type RestoreResult =
  | { outcome: 'restored' }
  | { outcome: 'linked'; primary: WireUser }
  | { outcome: 'failed'; lockLost: boolean };

/**
 * Puts back the keys a merge wrote, when the link is known not to have happened (DESIGN §2): only
 * keys whose current value is still this request's, read fresh unless `current` is such a read.
 * Never when that read shows the secondary on the primary (review L1). Best effort: a failure is
 * logged at error level with the keys (never the values) and recorded in the audit line.
 */
export async function restoreMetadata(
  ctx: Pick<AccountWriteContext, 'auth0' | 'config' | 'logger'>,
  lock: HeldWriterLock,
  target: { primaryId: string; secondaryId: string },
  plan: MetadataMergePlan,
  current?: WireUser | null,
): Promise<RestoreResult> {
  const { primaryId, secondaryId } = target;
  const failed = (error: unknown, lockLost: boolean): RestoreResult => {
    ctx
      .logger()
      .error(
        { err: error, primaryId, ...plan.keys },
        "could not restore the primary's metadata after a link that did not happen: the merged keys may stay",
      );
    return { outcome: 'failed', lockLost };
  };
  try {
    const now =
      current ??
      (await ctx.auth0.getUser(primaryId, { kind: 'service' }, { withinMs: ctx.config.auth0.timeoutMs }));
    if (hasIdentity(now, secondaryId)) return { outcome: 'linked', primary: now };
    const restore = restoreStillOurs(plan, now);
    if (restore) {
      // No write once the lock may be lost: another holder may have changed these keys since.
      if (lock.signal.aborted) return failed(new Error('the primary lock was lost before the restore'), true);
      await ctx.auth0.updateUser(primaryId, restore);
    }
    return { outcome: 'restored' };
  } catch (error) {
    return failed(error, false);
  }
}
