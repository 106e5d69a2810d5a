import { ApolloProvider } from '@apollo/client/react';
import { useAuth0 } from '@auth0/auth0-react';
import { useMemo, useRef, type ReactNode } from 'react';
import { createGatewayClient } from './apollo';

/** One Apollo Client for the page, sending the primary's access token (refreshed by the SDK). */
export function GatewayApolloProvider({ gatewayUrl, children }: { gatewayUrl: string; children: ReactNode }) {
  const { getAccessTokenSilently } = useAuth0();
  const getToken = useRef(getAccessTokenSilently);
  getToken.current = getAccessTokenSilently;
  const client = useMemo(
    () =>
      createGatewayClient({
        gatewayUrl,
        getAccessToken: async () => {
          const token = await getToken.current();
          if (!token) throw new Error('The SDK returned no access token.');
          return token;
        },
      }),
    [gatewayUrl],
  );
  return <ApolloProvider client={client}>{children}</ApolloProvider>;
}
