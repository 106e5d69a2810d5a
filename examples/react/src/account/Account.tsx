import { useAuth0 } from '@auth0/auth0-react';
import { Identities } from './Identities';
import { LinkCandidates } from './LinkCandidates';

/** Signed in: who, the identities, the accounts to link, and Sign out. */
export function Account({ primaryId }: { primaryId: string }) {
  const { logout } = useAuth0();
  return (
    <>
      <Identities />
      <LinkCandidates primaryId={primaryId} />
      <p>
        <button
          type="button"
          className="secondary"
          onClick={() => void logout({ logoutParams: { returnTo: `${window.location.origin}/` } })}
        >
          Sign out
        </button>
      </p>
    </>
  );
}
