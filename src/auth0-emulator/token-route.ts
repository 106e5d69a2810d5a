// POST /oauth/token: client credentials for M2M clients, password and password-realm for seeded users,
// and (code-grants.ts) the authorization_code and refresh_token grants of browser logins.
import type { EmulatorContext } from './context.js';
import { oauthError, type ParsedBody, type Reply } from './http.js';
import { allowsGrant, isPublicClient } from './clients.js';
import { authorizationCodeGrant, refreshTokenGrant } from './code-grants.js';
import type { LoginCandidate } from './state.js';
import type { SeedClient } from './types.js';
import { grantableScopes, mintUserTokens, scopeList } from './user-tokens.js';

const PASSWORD_REALM = 'http://auth0.com/oauth/grant-type/password-realm';
const KNOWN_GRANTS = new Set([
  'client_credentials',
  'password',
  PASSWORD_REALM,
  'authorization_code',
  'refresh_token',
  'urn:ietf:params:oauth:grant-type:device_code',
]);

const UNAUTHORIZED = oauthError(401, 'access_denied', 'Unauthorized');
const WRONG_CREDENTIALS = oauthError(403, 'invalid_grant', 'Wrong email or password.');

export type Params = Record<string, string | undefined>;

function readParams(body: ParsedBody, authorization: string | undefined): Params | undefined {
  if (body.kind === 'invalid') return undefined;
  const params: Params = {};
  if (typeof body.value === 'object' && body.value !== null && !Array.isArray(body.value)) {
    for (const [key, value] of Object.entries(body.value)) {
      if (typeof value === 'string') params[key] = value;
    }
  } else if (body.kind !== 'none') {
    return undefined;
  }
  // client_secret_basic: credentials in the Authorization header.
  const basic = /^Basic\s+(.+)$/i.exec(authorization ?? '');
  if (basic) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const at = decoded.indexOf(':');
    if (at > 0) {
      params.client_id ??= decodeURIComponent(decoded.slice(0, at));
      params.client_secret ??= decodeURIComponent(decoded.slice(at + 1));
    }
  }
  return params;
}

export async function handleTokenRequest(
  ctx: EmulatorContext,
  body: ParsedBody,
  authorization: string | undefined,
): Promise<Reply> {
  const params = readParams(body, authorization);
  if (!params) return oauthError(400, 'invalid_request', 'Invalid request body.');
  const grant = params.grant_type;
  if (!grant) return oauthError(400, 'invalid_request', 'Missing required parameter: grant_type');
  // RFC 6749 §5.2 says 400 for an unknown grant type; Auth0's status for it is unconfirmed.
  if (!KNOWN_GRANTS.has(grant))
    return oauthError(400, 'unsupported_grant_type', `Unsupported grant type: ${grant}`);

  if (!params.client_id && (grant === 'authorization_code' || grant === 'refresh_token'))
    return oauthError(400, 'invalid_request', 'Missing required parameter: client_id');
  const client = params.client_id ? ctx.state.client(params.client_id) : undefined;
  if (!client) return UNAUTHORIZED;
  if (params.client_secret !== undefined || (!isPublicClient(client) && client.client_secret !== undefined)) {
    if (client.client_secret === undefined || params.client_secret !== client.client_secret)
      return UNAUTHORIZED;
  }
  // Status for a grant the client may not use is unconfirmed; Auth0 answers 403 for its other client refusals.
  if (!allowsGrant(client, grant)) {
    return oauthError(403, 'unauthorized_client', `Grant type '${grant}' not allowed for the client.`);
  }

  switch (grant) {
    case 'client_credentials':
      return clientCredentials(ctx, client, params);
    case 'password':
    case PASSWORD_REALM:
      return passwordGrant(ctx, client, params, grant === PASSWORD_REALM);
    case 'authorization_code':
      return authorizationCodeGrant(ctx, client, params);
    case 'refresh_token':
      return refreshTokenGrant(ctx, client, params);
    default:
      return oauthError(403, 'unauthorized_client', `Grant type '${grant}' not allowed for the client.`);
  }
}

async function clientCredentials(ctx: EmulatorContext, client: SeedClient, params: Params): Promise<Reply> {
  const audience = params.audience;
  if (!audience) {
    return oauthError(
      403,
      'access_denied',
      'No audience parameter was provided, and no default audience has been configured',
    );
  }
  const granted = ctx.state.grantedScopes(client.client_id, audience, ctx.managementAudience);
  // The emulator knows other APIs only through their client grants.
  if (granted === undefined && audience !== ctx.managementAudience)
    return oauthError(403, 'access_denied', `Service not found: ${audience}`);
  if (granted === undefined || granted.length === 0) {
    return oauthError(
      403,
      'access_denied',
      `Client is not authorized to access "${audience}". You need to create a "client-grant" associated to this API. See: https://auth0.com/docs/api/v2#!/Client_Grants/post_client_grants`,
    );
  }
  const requested = params.scope === undefined ? undefined : scopeList(params.scope);
  const scope = (requested === undefined ? granted : granted.filter((s) => requested.includes(s))).join(' ');
  const iat = Math.floor(ctx.now() / 1000);
  const accessToken = await ctx.minter.sign({
    iss: ctx.issuer,
    sub: `${client.client_id}@clients`,
    aud: audience,
    iat,
    exp: iat + ctx.tokenLifetimeSeconds,
    scope,
    gty: 'client-credentials',
    azp: client.client_id,
  });
  return {
    status: 200,
    body: { access_token: accessToken, scope, expires_in: ctx.tokenLifetimeSeconds, token_type: 'Bearer' },
  };
}

function pickCandidate(
  candidates: LoginCandidate[],
  username: string,
): LoginCandidate | 'ambiguous' | undefined {
  if (candidates.length <= 1) return candidates[0];
  const exact = candidates.filter(
    (c) => c.email === username || `${c.identity.provider}|${c.identity.user_id}` === username,
  );
  return exact.length === 1 ? exact[0] : 'ambiguous';
}

async function passwordGrant(
  ctx: EmulatorContext,
  client: SeedClient,
  params: Params,
  realmGrant: boolean,
): Promise<Reply> {
  for (const name of ['username', 'password', ...(realmGrant ? ['realm'] : [])]) {
    if (!params[name]) return oauthError(400, 'invalid_request', `Missing required parameter: ${name}`);
  }
  const username = params.username as string;
  const audience = params.audience ?? ctx.managementAudience;
  if (audience !== ctx.managementAudience)
    return oauthError(403, 'access_denied', `Service not found: ${audience}`);

  const picked = pickCandidate(ctx.state.loginCandidates(username, params.realm), username);
  // Auth0 would fall back to the tenant's default directory; the emulator has none and asks for a realm.
  if (picked === 'ambiguous') {
    return oauthError(
      400,
      'invalid_request',
      'Several users match this username: send realm (the connection name) to choose one.',
    );
  }
  if (!picked || picked.password !== params.password) return WRONG_CREDENTIALS;

  // With no scope parameter the emulator grants the demo user scope (Auth0's default here is unconfirmed).
  const requested =
    params.scope === undefined ? scopeList(ctx.minter.defaultUserScope) : scopeList(params.scope);
  const body = await mintUserTokens(ctx, {
    client,
    user: picked.user,
    scope: grantableScopes(ctx, requested, audience),
    audience,
    refreshToken: false,
  });
  return { status: 200, body };
}
