import { useMutation } from '@apollo/client/react';
import { PopupCancelledError, PopupTimeoutError, useAuth0 } from '@auth0/auth0-react';
import { useCallback, useState } from 'react';
import { useLinkAuth } from '../auth/LinkAuthProvider';
import { useErrors } from '../errors/ErrorsProvider';
import { LINK_ACCOUNT } from '../operations';
import { savePendingLink } from './pending-link';
import { applyLinkToCache } from './update-cache';

/** How long the popup may stay open without an answer before the redirect takes over. */
const POPUP_TIMEOUT_SECONDS = 120;

/** The linkAccounts mutation (jwt mode) with its cache update, for the primary `primaryId`. */
export function useLinkAccountsMutation(primaryId: string) {
  return useMutation(LINK_ACCOUNT, {
    update: (cache, { data }) => {
      if (data) applyLinkToCache(cache, primaryId, data.linkAccounts);
    },
  });
}

/**
 * Links the account the user signs in to with `connection` into the signed-in primary. The
 * second login runs in its own Auth0 context with `prompt=login` (always a fresh sign-in, even
 * with a tenant session). By popup, opened in the click handler itself so the browser allows it;
 * when the popup is blocked, or closed or left without an answer (a COOP header can cut it off from
 * this page), by redirect instead: see pending-link.ts for what crosses the page load.
 */
export function useLinkAccount(primaryId: string) {
  const primary = useAuth0();
  const second = useLinkAuth();
  const { report, clear } = useErrors();
  const [linkAccounts] = useLinkAccountsMutation(primaryId);
  const [busy, setBusy] = useState<string | null>(null);

  const linkByRedirect = useCallback(
    async (connection: string) => {
      const accessToken = await primary.getAccessTokenSilently();
      if (!accessToken) throw new Error('The SDK returned no access token.');
      savePendingLink({ primaryId, accessToken, connection });
      await second.loginWithRedirect({ authorizationParams: { connection, prompt: 'login' } });
    },
    [primaryId, primary, second],
  );

  const link = useCallback(
    (connection: string): void => {
      clear();
      // Synchronously in the click handler: later (after an await) the browser blocks it.
      const popup = window.open('', 'auth0:authorize:popup', 'width=480,height=640,resizable,scrollbars');
      setBusy(connection);
      const run = async () => {
        if (!popup) return linkByRedirect(connection);
        try {
          // Not loginWithPopup: auth0-react's loginWithPopup never rejects (a closed popup only
          // sets the context's `error`), and the ID token read next would be an older one.
          // getAccessTokenWithPopup runs the same popup login and rethrows its errors.
          await second.getAccessTokenWithPopup(
            { authorizationParams: { connection, prompt: 'login' } },
            { popup, timeoutInSeconds: POPUP_TIMEOUT_SECONDS },
          );
        } catch (error) {
          if (error instanceof PopupCancelledError || error instanceof PopupTimeoutError) {
            popup.close();
            return linkByRedirect(connection);
          }
          throw error;
        }
        const claims = await second.getIdTokenClaims();
        if (!claims) throw new Error('The second sign-in returned no ID token.');
        await linkAccounts({ variables: { primaryId, linkWith: claims.__raw } });
      };
      run()
        .catch((error: unknown) => report(error, () => link(connection)))
        .finally(() => setBusy(null));
    },
    [clear, linkByRedirect, second, linkAccounts, primaryId, report],
  );

  return { link, busy };
}
