import type { WireUser } from '../auth0/wire.js';
import { restoreStillOurs, type MetadataMergePlan } from './merge-metadata.js';
import type { AccountWriteContext } from './write-context.js';

/**
 * Puts back the keys a merge wrote, when the link is known not to have happened (DESIGN §2): only
 * keys whose current value is still this request's, read fresh unless `current` is such a read.
 * Best effort: a failure is logged at error level with the keys (never the values) and recorded
 * in the audit line; the caller gets the link's error either way.
 */
export async function restoreMetadata(
  ctx: Pick<AccountWriteContext, 'auth0' | 'config' | 'logger'>,
  primaryId: string,
  plan: MetadataMergePlan,
  current?: WireUser | null,
): Promise<'restored' | 'failed'> {
  try {
    const now =
      current ??
      (await ctx.auth0.getUser(primaryId, { kind: 'service' }, { withinMs: ctx.config.auth0.timeoutMs }));
    const restore = restoreStillOurs(plan, now);
    if (restore) await ctx.auth0.updateUser(primaryId, restore);
    return 'restored';
  } catch (error) {
    ctx
      .logger()
      .error(
        { err: error, primaryId, ...plan.keys },
        "could not restore the primary's metadata after a link that did not happen: the merged keys may stay",
      );
    return 'failed';
  }
}
