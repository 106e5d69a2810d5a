import { useEffect, useRef } from 'react';
import { createGatewayClient } from '../apollo';
import { useLinkAuth } from '../auth/LinkAuthProvider';
import type { AppConfig } from '../config';
import { toAppError, type AppError } from '../errors/app-error';
import { LINK_ACCOUNT } from '../operations';
import { takePendingLink } from './pending-link';

/**
 * Back from the linking login by redirect (the popup fallback): the second context has handled
 * the callback; its ID token is `linkWith`, sent with the primary's access token that waited in
 * sessionStorage (removed as it is read). The primary's own context is mounted only afterwards:
 * its silent sign-in then goes through the tenant session of the account just linked, which
 * Auth0 resolves to the primary user.
 */
export function CompleteRedirectLink({
  config,
  onDone,
}: {
  config: AppConfig;
  onDone: (error: AppError | null) => void;
}) {
  const second = useLinkAuth();
  const started = useRef(false);

  useEffect(() => {
    if (second.isLoading || started.current) return;
    started.current = true;
    const pending = takePendingLink();
    const finish = async (): Promise<AppError | null> => {
      if (!pending) return null;
      if (second.error) return toAppError(second.error);
      const claims = await second.getIdTokenClaims();
      if (!claims) return toAppError(new Error('The second sign-in returned no ID token.'));
      const client = createGatewayClient({
        gatewayUrl: config.gatewayUrl,
        getAccessToken: async () => pending.accessToken,
      });
      try {
        await client.mutate({
          mutation: LINK_ACCOUNT,
          variables: { primaryId: pending.primaryId, linkWith: claims.__raw },
        });
        return null;
      } catch (error) {
        return toAppError(error);
      } finally {
        client.stop();
      }
    };
    void finish().then(onDone, (error: unknown) => onDone(toAppError(error)));
  }, [second, config.gatewayUrl, onDone]);

  return <p className="muted">Linking the account you signed in to…</p>;
}
