import DataLoader from 'dataloader';
import { MAX_SEARCH_IDS, type Auth0ManagementApi } from '../auth0/management-api.js';
import type { WireUser } from '../auth0/wire.js';
import { NotFoundError } from '../errors.js';

async function getUserOrNull(api: Auth0ManagementApi, id: string): Promise<WireUser | null> {
  try {
    return await api.getUser(id);
  } catch (error) {
    if (error instanceof NotFoundError) return null;
    throw error;
  }
}

/**
 * Per-request user reads. One id is one immediately consistent GET; several ids are one search
 * per 50, then a GET for each id the search missed (Auth0 search is eventually consistent).
 */
export function createUserLoader(api: Auth0ManagementApi): DataLoader<string, WireUser | null> {
  return new DataLoader<string, WireUser | null>(
    async (ids) => {
      if (ids.length === 1) return [await getUserOrNull(api, ids[0])];
      const found = new Map<string, WireUser>();
      for (const user of await api.searchUsersByIds([...ids])) found.set(user.user_id, user);
      return Promise.all(ids.map((id) => found.get(id) ?? getUserOrNull(api, id)));
    },
    { maxBatchSize: MAX_SEARCH_IDS },
  );
}
