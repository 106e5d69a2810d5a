import { Auth0Provider } from '@auth0/auth0-react';
import { type ReactNode } from 'react';
import type { AppConfig } from '../config';

/**
 * The signed-in (primary) user: authorization code + PKCE by redirect, tokens in memory only
 * (a token in localStorage could link an attacker's identity into the account after any XSS),
 * refresh tokens with rotation. After a reload the SDK signs in again silently through the
 * tenant's session. With refresh tokens the SDK runs a `blob:` Web Worker: a page CSP needs
 * `worker-src blob:`.
 */
export function PrimaryAuthProvider({ config, children }: { config: AppConfig; children: ReactNode }) {
  return (
    <Auth0Provider
      domain={config.auth0Domain}
      clientId={config.clientId}
      cacheLocation="memory"
      useRefreshTokens
      useRefreshTokensFallback
      authorizationParams={{
        redirect_uri: `${window.location.origin}/`,
        audience: config.audience,
        scope: config.scope,
      }}
    >
      {children}
    </Auth0Provider>
  );
}
