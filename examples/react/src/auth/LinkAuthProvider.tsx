import { Auth0Provider, initialContext, type Auth0ContextInterface } from '@auth0/auth0-react';
import { createContext, useContext, type ReactNode } from 'react';
import type { AppConfig } from '../config';

/**
 * A second Auth0 context for the account to link. With one provider for both logins, the second
 * login replaces the primary's session in the SDK (auth0/auth0-react#425); with its own context
 * and in-memory cache it never touches the primary's tokens. Only its ID token is used (`linkWith`).
 */
export const LinkAuthContext = createContext<Auth0ContextInterface>(initialContext);

export const useLinkAuth = () => useContext(LinkAuthContext);

export function LinkAuthProvider({
  config,
  handleRedirectCallback,
  children,
}: {
  config: AppConfig;
  /** True only on the way back from a linking login by redirect (the popup fallback). */
  handleRedirectCallback: boolean;
  children: ReactNode;
}) {
  return (
    <Auth0Provider
      context={LinkAuthContext}
      domain={config.auth0Domain}
      clientId={config.clientId}
      cacheLocation="memory"
      // Both contexts share one client id, so one callback URL: only the context that started a
      // login may consume the code that comes back.
      skipRedirectCallback={!handleRedirectCallback}
      authorizationParams={{ redirect_uri: `${window.location.origin}/`, scope: 'openid profile email' }}
    >
      {children}
    </Auth0Provider>
  );
}
