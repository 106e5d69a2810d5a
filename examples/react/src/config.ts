/** Where the app signs in and which gateway it calls. */
export interface AppConfig {
  /** The gateway's GraphQL endpoint (absolute, or a path on this origin). */
  gatewayUrl: string;
  /** Auth0 domain as the SDK takes it: `tenant.eu.auth0.com`, or an origin such as `http://127.0.0.1:4010`. */
  auth0Domain: string;
  clientId: string;
  /** The Management API audience (`<tenant origin>/api/v2/`): the gateway forwards this token to Auth0. */
  audience: string;
  /** The scopes linking needs: reading the user and linking its identities. */
  scope: string;
}

const SCOPE = 'openid profile email read:current_user update:current_user_identities';

/** `tenant.eu.auth0.com` or `https://tenant.eu.auth0.com` → `https://tenant.eu.auth0.com` (no trailing slash). */
function originOf(domain: string): string {
  return (/^https?:\/\//.test(domain) ? domain : `https://${domain}`).replace(/\/+$/, '');
}

/**
 * The build's VITE_* variables; without VITE_AUTH0_DOMAIN and VITE_AUTH0_CLIENT_ID, the settings of
 * the embedded tenant that the root's `npm start` serves beside its demo page (`/demo/config.json`
 * next to the GraphQL endpoint): its emulator listens on a port chosen at start.
 */
export async function loadConfig(): Promise<AppConfig> {
  const env = import.meta.env;
  const gatewayUrl: string = env.VITE_GATEWAY_URL || '/graphql';
  const domain: string | undefined = env.VITE_AUTH0_DOMAIN || undefined;
  const clientId: string | undefined = env.VITE_AUTH0_CLIENT_ID || undefined;
  if (domain && clientId) {
    return {
      gatewayUrl,
      auth0Domain: domain,
      clientId,
      audience: env.VITE_AUTH0_AUDIENCE || `${originOf(domain)}/api/v2/`,
      scope: SCOPE,
    };
  }
  const url = new URL('/demo/config.json', new URL(gatewayUrl, window.location.href));
  const response = await fetch(url);
  if (!response.ok) {
    throw new Error(
      `No VITE_AUTH0_DOMAIN/VITE_AUTH0_CLIENT_ID, and ${url.href} answered ${response.status}: start the gateway with \`npm start\` at the repository root (embedded tenant), or set the VITE_* variables.`,
    );
  }
  const embedded = (await response.json()) as {
    auth0Domain: string;
    clientId: string;
    audience: string;
    scope: string;
  };
  return {
    gatewayUrl,
    auth0Domain: embedded.auth0Domain,
    clientId: embedded.clientId,
    audience: embedded.audience,
    scope: embedded.scope,
  };
}
