// GET /userinfo (the OIDC claims of a bearer token's user) and GET /v2/logout (ends the SSO session).
import type { BrowserRequest } from './authorize-route.js';
import { urlAllowed } from './clients.js';
import type { EmulatorContext } from './context.js';
import { corsHeaders } from './cors.js';
import { oauthError, redirect, type Reply } from './http.js';
import { errorPage, loggedOutPage } from './login-pages.js';
import { clearedSessionCookie, readCookie, SESSION_COOKIE } from './sessions.js';
import { verifyTenantJwt } from './tokens.js';
import { scopeList, userClaims, userOfLogin } from './user-tokens.js';

function invalidToken(description: string, cors: Record<string, string>): Reply {
  const reply = oauthError(401, 'invalid_token', description);
  return { ...reply, headers: { ...cors, 'www-authenticate': `Bearer error="invalid_token"` } };
}

export async function handleUserinfo(ctx: EmulatorContext, req: BrowserRequest): Promise<Reply> {
  const origin = req.headers.origin;
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (!bearer) return invalidToken('Missing bearer token', corsHeaders(ctx, origin));
  const result = await verifyTenantJwt(bearer[1], ctx.keys, ctx.now());
  const claims = result.ok ? result.payload : undefined;
  const cors = corsHeaders(ctx, origin, typeof claims?.azp === 'string' ? claims.azp : undefined);
  const audiences = Array.isArray(claims?.aud) ? claims.aud : [claims?.aud];
  if (!claims || claims.iss !== ctx.issuer || !audiences.includes(`${ctx.origin}/userinfo`)) {
    return invalidToken('Invalid token', cors);
  }
  const user = typeof claims.sub === 'string' ? userOfLogin(ctx, claims.sub) : undefined;
  if (!user) return invalidToken('The user of the token does not exist', cors);
  const scope = scopeList(typeof claims.scope === 'string' ? claims.scope : undefined);
  return { status: 200, body: { sub: claims.sub, ...userClaims(user, scope) }, headers: cors };
}

/** Ends the session whatever else happens; redirects only to a returnTo the client allows. */
export function handleLogout(ctx: EmulatorContext, req: BrowserRequest): Reply {
  ctx.logins.endSession(readCookie(req.headers.cookie, SESSION_COOKIE));
  const cleared = { 'set-cookie': clearedSessionCookie() };
  const { returnTo, client_id: clientId } = req.query;
  if (returnTo === undefined) return loggedOutPage(cleared);
  const client = clientId ? ctx.state.client(clientId) : undefined;
  // Without a client Auth0 checks the tenant's Allowed Logout URLs; the emulator's tenant has none.
  if (!client || !urlAllowed(client.allowed_logout_urls, returnTo)) {
    const reply = errorPage(
      400,
      'invalid_request',
      `The "returnTo" querystring parameter "${returnTo}" is not defined as a valid URL in "Allowed Logout URLs".`,
    );
    return { ...reply, headers: { ...reply.headers, ...cleared } };
  }
  return redirect(returnTo, cleared);
}
