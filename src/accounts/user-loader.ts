import DataLoader from 'dataloader';
import { MAX_SEARCH_IDS, type Auth0ManagementApi } from '../auth0/management-api.js';
import type { WireUser } from '../auth0/wire.js';
import { NotFoundError } from '../errors.js';
import { userKey, type MissFetcher, type ReadOutcome, type UserReadCache } from './user-cache.js';

async function getUserOrNull(api: Auth0ManagementApi, id: string): Promise<WireUser | null> {
  try {
    return await api.getUser(id);
  } catch (error) {
    if (error instanceof NotFoundError) return null;
    throw error;
  }
}

/**
 * The primary user that holds `id` as a linked identity (Auth0 answers 404 for a linked-away
 * secondary), by one exact-identity search; null when there is none. The search may match the
 * provider and the user id in two different identities of one user: only a user one of whose
 * identities has both counts.
 */
async function findPrimaryOf(api: Auth0ManagementApi, id: string): Promise<WireUser | null> {
  const bar = id.indexOf('|');
  const provider = id.slice(0, bar);
  const identityUserId = id.slice(bar + 1);
  const users = await api.findUsersByIdentity(provider, identityUserId);
  return (
    users.find(
      (user) =>
        user.user_id !== id &&
        (user.identities ?? []).some((i) => i.provider === provider && String(i.user_id) === identityUserId),
    ) ?? null
  );
}

/**
 * Reads users from Auth0: one id is one immediately consistent GET; several are one search per 50,
 * then a GET for each id the search missed (Auth0 search is eventually consistent). Ids in
 * `fresh` (changed lately) are always read with a GET: the search index may not show the change
 * yet. An id Auth0 does not know as a user is looked up as a linked identity (an alias of its
 * primary); the primary that search found is answered under its own key too.
 */
export async function fetchUsers(
  api: Auth0ManagementApi,
  ids: readonly string[],
  fresh: ReadonlySet<string> = new Set(),
): Promise<Map<string, ReadOutcome>> {
  const outcomes = new Map<string, ReadOutcome>();
  const found = new Map<string, WireUser>();
  const searchable = ids.filter((id) => !fresh.has(id));
  if (searchable.length > 1) {
    for (let at = 0; at < searchable.length; at += MAX_SEARCH_IDS) {
      for (const user of await api.searchUsersByIds(searchable.slice(at, at + MAX_SEARCH_IDS)))
        found.set(user.user_id, user);
    }
  }
  await Promise.all(
    ids.map(async (id) => {
      try {
        const user = found.get(id) ?? (await getUserOrNull(api, id));
        if (user) {
          outcomes.set(userKey(id), { kind: 'user', user });
          return;
        }
        const primary = await findPrimaryOf(api, id);
        if (!primary) {
          outcomes.set(userKey(id), { kind: 'none' });
          return;
        }
        outcomes.set(userKey(id), { kind: 'alias', primaryId: primary.user_id });
        outcomes.set(userKey(primary.user_id), { kind: 'user', user: primary });
      } catch (error) {
        outcomes.set(userKey(id), error as Error);
      }
    }),
  );
  return outcomes;
}

const idOf = (key: string) => key.slice('user:'.length);

/**
 * Reads `keys` of user ids through the cache when there is one, else straight from Auth0. `extra`:
 * what the reads answered besides those ids (an alias's primary, as its search found it), for
 * this request only: a search's copy is never cached under a key nobody asked for.
 */
async function readUsers(
  api: Auth0ManagementApi,
  cache: UserReadCache | undefined,
  ids: readonly string[],
): Promise<{ outcomes: ReadOutcome[]; extra: Map<string, ReadOutcome> }> {
  const keys = ids.map(userKey);
  const extra = new Map<string, ReadOutcome>();
  if (cache) {
    const fetch: MissFetcher = async (missing, { fresh }) => {
      const fetched = await fetchUsers(api, missing.map(idOf), new Set([...fresh].map(idOf)));
      for (const [key, outcome] of fetched) if (!missing.includes(key)) extra.set(key, outcome);
      return fetched;
    };
    return { outcomes: await cache.getMany(keys, fetch), extra };
  }
  const fetched = await fetchUsers(api, ids);
  return { outcomes: keys.map((key) => fetched.get(key)!), extra: fetched };
}

const userOf = (read: ReadOutcome | undefined): WireUser | null | Error =>
  read instanceof Error ? read : read?.kind === 'user' ? read.user : null;

/**
 * The users of `ids` (null for an unknown id), a linked-away secondary's id answering its primary
 * (DESIGN §2, "Linked ids keep working").
 */
export async function loadUsers(
  api: Auth0ManagementApi,
  cache: UserReadCache | undefined,
  ids: readonly string[],
): Promise<(WireUser | null | Error)[]> {
  const { outcomes, extra } = await readUsers(api, cache, ids);
  const aliasOf = (read: ReadOutcome) =>
    !(read instanceof Error) && read.kind === 'alias' ? read.primaryId : null;
  const targets = [...new Set(outcomes.map(aliasOf).filter((id): id is string => id !== null))];
  const primaries = new Map<string, ReadOutcome>();
  const unresolved = targets.filter((id) => {
    const known = extra.get(userKey(id));
    if (known) primaries.set(id, known);
    return !known;
  });
  if (unresolved.length > 0) {
    const resolved = await readUsers(api, cache, unresolved);
    unresolved.forEach((id, i) => primaries.set(id, resolved.outcomes[i]));
  }
  return outcomes.map((read) => {
    const primaryId = aliasOf(read);
    return primaryId === null ? userOf(read) : userOf(primaries.get(primaryId));
  });
}

/** Per-request batching of user reads (`me`, `user`, entities, linkCandidates), through the read cache. */
export function createUserLoader(
  api: Auth0ManagementApi,
  cache?: UserReadCache,
): DataLoader<string, WireUser | null> {
  return new DataLoader<string, WireUser | null>((ids) => loadUsers(api, cache, ids), {
    maxBatchSize: MAX_SEARCH_IDS,
  });
}
