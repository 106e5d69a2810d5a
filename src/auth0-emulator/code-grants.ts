// POST /oauth/token for browser logins: the authorization_code (PKCE) and refresh_token grants.
import { createHash } from 'node:crypto';
import type { EmulatorContext } from './context.js';
import { oauthError, type Reply } from './http.js';
import type { Params } from './token-route.js';
import type { SeedClient } from './types.js';
import { grantableScopes, mintUserTokens, scopeList, userOfLogin } from './user-tokens.js';

// Auth0 answers 403 invalid_grant for every unusable code or refresh token.
const INVALID_CODE = oauthError(403, 'invalid_grant', 'Invalid authorization code');
const INVALID_REFRESH = oauthError(403, 'invalid_grant', 'Unknown or invalid refresh token.');

function missing(name: string): Reply {
  return oauthError(400, 'invalid_request', `Missing required parameter: ${name}`);
}

/** RFC 7636 §4.1: 43 to 128 unreserved characters. */
const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

export function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

export async function authorizationCodeGrant(
  ctx: EmulatorContext,
  client: SeedClient,
  params: Params,
): Promise<Reply> {
  for (const name of ['code', 'redirect_uri']) if (!params[name]) return missing(name);
  const issued = ctx.logins.takeCode(params.code as string);
  if (issued === undefined || issued === 'expired') return INVALID_CODE;
  // A code is bound to the client and redirect_uri it was issued for (RFC 6749 §4.1.3).
  if (issued.clientId !== client.client_id) return INVALID_CODE;
  if (issued.redirectUri !== params.redirect_uri) {
    return oauthError(
      403,
      'invalid_grant',
      'Redirect URI mismatch with the one of the authorization request.',
    );
  }
  if (issued.codeChallenge !== undefined) {
    const verifier = params.code_verifier;
    if (!verifier) return missing('code_verifier');
    if (!VERIFIER.test(verifier) || s256(verifier) !== issued.codeChallenge) {
      return oauthError(403, 'invalid_grant', 'Failed to verify code verifier');
    }
  }
  const user = userOfLogin(ctx, issued.loginIdentity);
  if (!user) return INVALID_CODE;
  const body = await mintUserTokens(ctx, {
    client,
    user,
    scope: issued.scope,
    audience: issued.audience,
    grant: issued,
    refreshToken: true,
  });
  return { status: 200, body };
}

/**
 * Refresh tokens do not rotate unless the client says `refresh_token.rotation_type: "rotating"`
 * (then each use returns a new one and the old one stops working); a narrower `scope` may be asked.
 */
export async function refreshTokenGrant(
  ctx: EmulatorContext,
  client: SeedClient,
  params: Params,
): Promise<Reply> {
  const token = params.refresh_token;
  if (!token) return missing('refresh_token');
  const grant = ctx.logins.refreshGrant(token);
  if (!grant || grant.clientId !== client.client_id) return INVALID_REFRESH;
  const user = userOfLogin(ctx, grant.loginIdentity);
  if (!user) return INVALID_REFRESH;
  const requested = params.scope === undefined ? grant.scope : scopeList(params.scope);
  const extra = requested.filter((s) => !grant.scope.includes(s));
  if (extra.length > 0) {
    return oauthError(403, 'invalid_scope', `Scope not granted to the refresh token: ${extra.join(' ')}`);
  }
  const rotating = client.refresh_token?.rotation_type === 'rotating';
  if (rotating) ctx.logins.revokeRefreshToken(token);
  const body = await mintUserTokens(ctx, {
    client,
    user,
    scope: grantableScopes(ctx, requested, grant.audience),
    audience: grant.audience,
    grant,
    refreshToken: rotating,
  });
  return { status: 200, body };
}
