// Access, ID and refresh tokens for a logged-in user, shared by the password, code and refresh grants.
import { allowsGrant } from './clients.js';
import type { EmulatorContext } from './context.js';
import type { Grant } from './sessions.js';
import { splitUserId, type StoredUser } from './state.js';
import type { SeedClient } from './types.js';

const OIDC_SCOPES = new Set(['openid', 'profile', 'email', 'offline_access']);

/** Scopes a user access token for the Management API may carry (reference §5), plus OIDC ones. */
const MANAGEMENT_USER_SCOPES = new Set([
  ...OIDC_SCOPES,
  'read:current_user',
  'update:current_user_identities',
  'create:current_user_metadata',
  'update:current_user_metadata',
  'create:current_user_device_credentials',
  'delete:current_user_device_credentials',
]);

// Auth0 issues ID tokens for 10 hours unless the client's jwt_configuration says otherwise.
const ID_TOKEN_LIFETIME_SECONDS = 36000;

const PROFILE_CLAIMS = ['name', 'nickname', 'picture', 'given_name', 'family_name', 'updated_at'];
const EMAIL_CLAIMS = ['email', 'email_verified'];

export function scopeList(scope: string | undefined): string[] {
  return (scope ?? '').split(/\s+/).filter(Boolean);
}

/** The primary user that owns a login identity (`provider|id`): after a link, the secondary logs in as it. */
export function userOfLogin(ctx: EmulatorContext, loginIdentity: string): StoredUser | undefined {
  const { provider, id } = splitUserId(loginIdentity);
  return ctx.state.ownerOfIdentity(provider, id);
}

/**
 * The scopes a user token gets: for the Management API only the `current_user` ones (and OIDC);
 * without an audience only OIDC; another API gets what was asked (the emulator has no RBAC).
 */
export function grantableScopes(
  ctx: EmulatorContext,
  requested: string[],
  audience: string | undefined,
): string[] {
  if (audience === ctx.managementAudience) return requested.filter((s) => MANAGEMENT_USER_SCOPES.has(s));
  if (audience === undefined) return requested.filter((s) => OIDC_SCOPES.has(s));
  return requested;
}

/** OIDC claims of a user for the granted scopes (ID token, /userinfo). */
export function userClaims(user: StoredUser, scope: string[]): Record<string, unknown> {
  const source: Record<string, unknown> = { ...user.profile, updated_at: user.updated_at };
  const keys = [
    ...(scope.includes('profile') ? PROFILE_CLAIMS : []),
    ...(scope.includes('email') ? EMAIL_CLAIMS : []),
  ];
  return Object.fromEntries(keys.filter((k) => source[k] !== undefined).map((k) => [k, source[k]]));
}

function idTokenLifetime(client: SeedClient): number {
  const configured = (client.jwt_configuration as { lifetime_in_seconds?: unknown } | undefined)
    ?.lifetime_in_seconds;
  return typeof configured === 'number' && configured > 0 ? configured : ID_TOKEN_LIFETIME_SECONDS;
}

export interface UserTokenOptions {
  client: SeedClient;
  user: StoredUser;
  /** Already filtered by grantableScopes. */
  scope: string[];
  audience: string | undefined;
  /** The session's grant (code and refresh grants); absent for the password grant. */
  grant?: Omit<Grant, 'scope' | 'audience' | 'clientId'>;
  /** Issue a refresh token when offline_access was granted; false on a non-rotating refresh. */
  refreshToken: boolean;
}

/** The token response body: access token, ID token with openid, refresh token with offline_access. */
export async function mintUserTokens(
  ctx: EmulatorContext,
  o: UserTokenOptions,
): Promise<Record<string, unknown>> {
  const { client, user, scope } = o;
  const openid = scope.includes('openid');
  const userinfo = `${ctx.origin}/userinfo`;
  const iat = Math.floor(ctx.now() / 1000);
  const accessAudience = o.audience === undefined ? userinfo : openid ? [o.audience, userinfo] : o.audience;
  const body: Record<string, unknown> = {
    access_token: await ctx.minter.sign({
      iss: ctx.issuer,
      sub: user.user_id,
      aud: accessAudience,
      iat,
      exp: iat + ctx.tokenLifetimeSeconds,
      scope: scope.join(' '),
      azp: client.client_id,
    }),
  };
  if (openid) {
    body.id_token = await ctx.minter.sign({
      ...userClaims(user, scope),
      iss: ctx.issuer,
      sub: user.user_id,
      aud: client.client_id,
      azp: client.client_id,
      iat,
      exp: iat + idTokenLifetime(client),
      ...(o.grant ? { auth_time: o.grant.authTime, sid: o.grant.sid } : {}),
      ...(o.grant?.nonce === undefined ? {} : { nonce: o.grant.nonce }),
    });
  }
  if (o.refreshToken && o.grant && scope.includes('offline_access') && allowsGrant(client, 'refresh_token')) {
    body.refresh_token = ctx.logins.issueRefreshToken({
      ...o.grant,
      clientId: client.client_id,
      scope,
      audience: o.audience,
    });
  }
  return { ...body, scope: scope.join(' '), expires_in: ctx.tokenLifetimeSeconds, token_type: 'Bearer' };
}
