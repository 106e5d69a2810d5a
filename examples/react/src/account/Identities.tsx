import { useMutation, useQuery } from '@apollo/client/react';
import { useErrors } from '../errors/ErrorsProvider';
import { setIdentitiesInCache } from '../linking/update-cache';
import { LINK_CANDIDATES, ME, UNLINK_ACCOUNT } from '../operations';

/**
 * The signed-in user's identities (`me`): the first is the user's own main identity, every other
 * one a linked account with its Unlink button.
 */
export function Identities() {
  const { data, loading, error } = useQuery(ME);
  const { report, clear } = useErrors();
  const primaryId = data?.me?.id;
  // Unlinked, the identity is a user of its own again: a link candidate once more.
  const [unlinkAccount, { loading: unlinking }] = useMutation(UNLINK_ACCOUNT, {
    update: (cache, { data: result }) => {
      if (result && primaryId) setIdentitiesInCache(cache, primaryId, result.unlinkAccount.identities);
    },
    refetchQueries: [LINK_CANDIDATES],
  });

  if (loading) return <p className="muted">Loading your identities…</p>;
  if (error || !data?.me) return <p className="muted">Your identities could not be read.</p>;
  const me = data.me;

  const unlink = (provider: string, userId: string) => {
    clear();
    unlinkAccount({ variables: { primaryId: me.id, provider, userId } }).catch((failure: unknown) =>
      report(failure, () => unlink(provider, userId)),
    );
  };

  return (
    <section aria-labelledby="identities-title">
      <h2 id="identities-title">Your identities ({me.identities.length})</h2>
      <p className="muted">
        Signed in as <strong data-user-id={me.id}>{me.email ?? me.name ?? me.id}</strong> (
        <code>{me.id}</code>)
      </p>
      <ul className="identities">
        {me.identities.map((identity, index) => (
          <li key={identity.id} data-identity-id={identity.id}>
            <span className="provider">{identity.connection}</span>
            <code>{identity.userId}</code>
            <span className="muted">
              {index === 0 ? (me.email ?? '') : (identity.profileData?.email ?? '')}
            </span>
            {index === 0 ? (
              <span className="muted">main identity</span>
            ) : (
              <button
                type="button"
                className="secondary"
                disabled={unlinking}
                onClick={() => unlink(identity.provider, identity.userId)}
              >
                Unlink
              </button>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
