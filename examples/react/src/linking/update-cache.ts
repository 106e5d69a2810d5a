import type { ApolloCache } from '@apollo/client';
import type { Identity } from '../gql/graphql';

type CachedIdentity = Pick<Identity, 'id'> & { __typename?: 'Identity' };

/** The primary's `User.identities` in the cache become `identities` (what the gateway answered). */
export function setIdentitiesInCache(
  cache: ApolloCache,
  primaryId: string,
  identities: readonly CachedIdentity[],
): void {
  cache.modify({
    id: cache.identify({ __typename: 'User', id: primaryId }),
    fields: {
      identities: (_existing, { toReference }) =>
        identities.map((identity) => toReference({ __typename: 'Identity', id: identity.id })),
    },
  });
}

/**
 * After a link: the primary's identities as the gateway answered them, and the former secondary
 * user (Auth0 deleted it) out of the cache. Lists that held it, the link candidates, drop the
 * dangling reference, so the candidate is no longer offered without a refetch.
 */
export function applyLinkToCache(
  cache: ApolloCache,
  primaryId: string,
  result: { identities: readonly CachedIdentity[]; formerUserId: string },
): void {
  setIdentitiesInCache(cache, primaryId, result.identities);
  cache.evict({ id: cache.identify({ __typename: 'User', id: result.formerUserId }) });
  cache.gc();
}
