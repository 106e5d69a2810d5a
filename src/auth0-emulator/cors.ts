// CORS for the endpoints a browser calls directly (/oauth/token, /userinfo): the client's origins only.
import { originAllowed } from './clients.js';
import type { EmulatorContext } from './context.js';
import type { Reply } from './http.js';
import type { SeedClient } from './types.js';

// Auth0 also lets a client's web_origins call these endpoints; allowed_origins is the CORS list proper.
function clientAllows(client: SeedClient, origin: string): boolean {
  return originAllowed(client.allowed_origins, origin) || originAllowed(client.web_origins, origin);
}

/**
 * Headers for a response to `origin`: allowed when the client (or, with no client known yet,
 * any client of the tenant) lists it. Without them the browser withholds the response.
 */
export function corsHeaders(
  ctx: EmulatorContext,
  origin: string | undefined,
  clientId?: string,
): Record<string, string> {
  if (origin === undefined) return {};
  const client = clientId === undefined ? undefined : ctx.state.client(clientId);
  const allowed = client
    ? clientAllows(client, origin)
    : clientId === undefined && ctx.state.anyClient((c) => clientAllows(c, origin));
  return allowed ? { 'access-control-allow-origin': origin, vary: 'Origin' } : { vary: 'Origin' };
}

/** OPTIONS preflight: the body (and so the client) is not known yet, so any client's origin passes. */
export function preflight(ctx: EmulatorContext, headers: Record<string, string | undefined>): Reply {
  const cors = corsHeaders(ctx, headers.origin);
  if (!cors['access-control-allow-origin']) return { status: 204, body: undefined, text: '', headers: cors };
  const requested = headers['access-control-request-headers'];
  return {
    status: 204,
    body: undefined,
    text: '',
    headers: {
      ...cors,
      'access-control-allow-methods': 'GET, POST, OPTIONS',
      'access-control-allow-headers':
        requested && /^[\w\s,-]+$/.test(requested) ? requested : 'content-type, authorization, auth0-client',
      'access-control-max-age': '86400',
    },
  };
}
