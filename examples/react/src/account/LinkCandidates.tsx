import { useQuery } from '@apollo/client/react';
import { useLinkAccount } from '../linking/useLinkAccount';
import { LINK_CANDIDATES } from '../operations';

/**
 * Accounts with the same verified email (`linkCandidates`), one button per connection: signing in
 * to that connection proves the account is the user's, and links it.
 */
export function LinkCandidates({ primaryId }: { primaryId: string }) {
  const { data, loading } = useQuery(LINK_CANDIDATES, { variables: { primaryId } });
  const { link, busy } = useLinkAccount(primaryId);
  if (loading && !data) return <p className="muted">Looking for your other accounts…</p>;
  const connections = [
    ...new Map(
      (data?.linkCandidates ?? []).flatMap((user) =>
        user.identities.map(
          (identity) =>
            [identity.connection, { connection: identity.connection, email: user.email }] as const,
        ),
      ),
    ).values(),
  ];
  return (
    <section aria-labelledby="candidates-title">
      <h2 id="candidates-title">Accounts you can link</h2>
      {connections.length === 0 ? (
        <p className="muted">No other account with your verified email.</p>
      ) : (
        <ul className="candidates">
          {connections.map(({ connection, email }) => (
            <li key={connection}>
              <button
                type="button"
                data-link-connection={connection}
                disabled={busy !== null}
                onClick={() => link(connection)}
              >
                {busy === connection ? 'Linking…' : `Link ${connection}`}
              </button>
              <span className="muted">{email}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
