import { authorizeUserRead, requireCaller } from '../auth/authorize.js';
import { parseUserId } from '../auth0/user-id.js';
import type { WireUser } from '../auth0/wire.js';
import type { GatewayContext } from '../context.js';
import { NotFoundError } from '../errors.js';
import { toUser } from './to-identity.js';
import { emailKey, type ReadOutcome } from './user-cache.js';
import type { User } from './user.type.js';

// Machine tokens have `sub` = "<client_id>@clients": they have no user behind them.
const isUserSubject = (subject: string) => !subject.endsWith('@clients') && subject.includes('|');

/** `me`: the user of the caller's token, or null for a machine token. */
export async function readMe(ctx: GatewayContext): Promise<User | null> {
  const caller = requireCaller(ctx.auth);
  if (!isUserSubject(caller.subject)) return null;
  const user = await ctx.users.load(caller.subject);
  return user ? toUser(user) : null;
}

/** `user(id)` and `User` entities: the caller's own user, or any user for an admin. */
export async function readUser(ctx: GatewayContext, id: string): Promise<User | null> {
  parseUserId(id, 'id');
  authorizeUserRead(ctx.auth, id, { adminPermission: ctx.config.admin.permission });
  const user = await ctx.users.load(id);
  return user ? toUser(user) : null;
}

const sameEmail = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/**
 * Other users with the primary's verified email (case-insensitive), oldest first: the accounts
 * the user may want to link. An unverified primary has none.
 */
export async function readLinkCandidates(ctx: GatewayContext, primaryId: string): Promise<User[]> {
  parseUserId(primaryId, 'primaryId');
  authorizeUserRead(ctx.auth, primaryId, { adminPermission: ctx.config.admin.permission });
  const primary = await ctx.users.load(primaryId);
  if (!primary) {
    throw new NotFoundError(`primaryId: no user ${primaryId} exists.`, { reason: 'PRIMARY_NOT_FOUND' });
  }
  const email = primary.email;
  if (!email || primary.email_verified !== true) return [];
  const { ids, fresh } = await usersWithEmail(ctx, email);
  const loaded = await ctx.users.loadMany(ids.filter((id) => !fresh.has(id)));
  const byId = new Map<string, WireUser>();
  for (const user of [...fresh.values(), ...loaded]) {
    if (user instanceof Error) throw user;
    if (
      user !== null &&
      ids.includes(user.user_id) &&
      user.user_id !== primaryId &&
      user.email_verified === true &&
      typeof user.email === 'string' &&
      sameEmail(user.email, email)
    ) {
      byId.set(user.user_id, user);
    }
  }
  return [...byId.values()]
    .sort((a, b) => String(a.created_at ?? '').localeCompare(String(b.created_at ?? '')))
    .map(toUser);
}

/**
 * The ids of the users Auth0 lists for `email`, through the read cache; `fresh` holds the users
 * this request read from Auth0 for it. A listed id that has been linked away since resolves to its
 * primary, whose id differs, and is left out by the caller.
 */
async function usersWithEmail(
  ctx: GatewayContext,
  email: string,
): Promise<{ ids: string[]; fresh: Map<string, WireUser> }> {
  // Search, not users-by-email: only search folds case, and social providers keep theirs. One
  // cache entry per email whatever its case.
  const keys = [emailKey(email.toLowerCase())];
  const fresh = new Map<string, WireUser>();
  const fetch = async (missing: string[]) => {
    const outcomes = new Map<string, ReadOutcome>();
    await Promise.all(
      missing.map(async (key) => {
        try {
          const users = await ctx.auth0.searchUsersByEmail(key.slice('email:'.length));
          outcomes.set(key, { kind: 'ids', ids: users.map((u) => u.user_id) });
          // The users themselves serve this request only: the search's copies are never cached.
          for (const user of users) fresh.set(user.user_id, user);
        } catch (error) {
          outcomes.set(key, error as Error);
        }
      }),
    );
    return outcomes;
  };
  const outcomes = ctx.userCache
    ? await ctx.userCache.getMany(keys, fetch)
    : await fetch(keys).then((map) => keys.map((key) => map.get(key)!));
  const ids = new Set<string>();
  for (const outcome of outcomes) {
    if (outcome instanceof Error) throw outcome;
    if (outcome.kind === 'ids') for (const id of outcome.ids) ids.add(id);
  }
  return { ids: [...ids], fresh };
}
