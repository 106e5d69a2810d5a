import { useAuth0 } from '@auth0/auth0-react';
import { useCallback, useEffect, useState } from 'react';
import { Account } from './account/Account';
import { LinkAuthProvider } from './auth/LinkAuthProvider';
import { PrimaryAuthProvider } from './auth/PrimaryAuthProvider';
import type { AppConfig } from './config';
import type { AppError } from './errors/app-error';
import { ErrorsProvider, useErrors } from './errors/ErrorsProvider';
import { GatewayApolloProvider } from './GatewayApolloProvider';
import { CompleteRedirectLink } from './linking/CompleteRedirectLink';
import { hasPendingLink, isAuthCallback, takePendingLink } from './linking/pending-link';

function Page() {
  const { isLoading, isAuthenticated, user, error, loginWithRedirect } = useAuth0();
  const { report } = useErrors();
  useEffect(() => {
    if (error) report(error);
  }, [error, report]);
  const state = isLoading ? 'loading' : isAuthenticated && user?.sub ? 'signed-in' : 'signed-out';
  return (
    <main data-state={state}>
      {state === 'loading' && <p className="muted">Signing in…</p>}
      {state === 'signed-out' && (
        <section>
          <p>Sign in, then link the other accounts you sign in with (Google, GitHub, a password).</p>
          <button type="button" onClick={() => void loginWithRedirect()}>
            Sign in
          </button>
        </section>
      )}
      {state === 'signed-in' && user?.sub && <Account primaryId={user.sub} />}
    </main>
  );
}

export function App({ config }: { config: AppConfig }) {
  // Back from a linking login by redirect: finish that link before the primary context starts.
  const [completingLink, setCompletingLink] = useState(() => hasPendingLink() && isAuthCallback());
  const [carriedError, setCarriedError] = useState<AppError | null>(null);
  const done = useCallback((error: AppError | null) => {
    setCarriedError(error);
    setCompletingLink(false);
  }, []);
  useEffect(() => {
    // A token left behind by a linking login that never came back is not kept.
    if (!completingLink) takePendingLink();
  }, [completingLink]);

  return (
    <>
      <header>
        <h1>Linked accounts</h1>
        <p className="muted">React reference app for auth0-link-gateway</p>
      </header>
      {completingLink ? (
        <LinkAuthProvider config={config} handleRedirectCallback>
          <CompleteRedirectLink config={config} onDone={done} />
        </LinkAuthProvider>
      ) : (
        <PrimaryAuthProvider config={config}>
          <LinkAuthProvider config={config} handleRedirectCallback={false}>
            <GatewayApolloProvider gatewayUrl={config.gatewayUrl}>
              <ErrorsProvider initial={carriedError}>
                <Page />
              </ErrorsProvider>
            </GatewayApolloProvider>
          </LinkAuthProvider>
        </PrimaryAuthProvider>
      )}
    </>
  );
}
