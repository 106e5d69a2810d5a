// Stored users → the JSON Auth0 returns, with provider tokens only for read:user_idp_tokens callers.
import type { StoredUser } from './state.js';
import type { WireIdentity, WireUser } from './types.js';

const IDP_TOKEN_KEYS = ['access_token', 'access_token_secret', 'refresh_token'] as const;

export interface WireOptions {
  /** Include provider access/refresh tokens on social identities (read:user_idp_tokens). */
  idpTokens: boolean;
}

/**
 * The keys Auth0's published schema allows in an identity (`UserIdentity`, whose
 * `additionalProperties` is false): a seed may carry more (`expires_in`, …), an answer never does.
 */
const IDENTITY_KEYS = new Set([
  'connection',
  'user_id',
  'provider',
  'profileData',
  'isSocial',
  ...IDP_TOKEN_KEYS,
]);

export function toWireIdentity(identity: WireIdentity, options: WireOptions): WireIdentity {
  const copy = Object.fromEntries(
    Object.entries(identity).filter(([key]) => IDENTITY_KEYS.has(key)),
  ) as WireIdentity;
  if (!options.idpTokens) for (const key of IDP_TOKEN_KEYS) delete copy[key];
  if (copy.profileData) copy.profileData = { ...copy.profileData };
  return copy;
}

export function toWireIdentities(user: StoredUser, options: WireOptions): WireIdentity[] {
  return user.identities.map((identity) => toWireIdentity(identity, options));
}

export function toWireUser(user: StoredUser, options: WireOptions): WireUser {
  return {
    created_at: user.created_at,
    ...user.profile,
    identities: toWireIdentities(user, options),
    updated_at: user.updated_at,
    user_id: user.user_id,
    ...(user.user_metadata ? { user_metadata: structuredClone(user.user_metadata) } : {}),
    ...(user.app_metadata ? { app_metadata: structuredClone(user.app_metadata) } : {}),
  };
}

/** Auth0's `fields` / `include_fields` projection: keep (or drop, when include_fields=false) the listed fields. */
export function projectFields(
  user: WireUser,
  fields: string | undefined,
  includeFields: string | undefined,
): Record<string, unknown> {
  if (!fields) return user;
  const listed = new Set(
    fields
      .split(',')
      .map((f) => f.trim())
      .filter(Boolean),
  );
  const include = includeFields !== 'false';
  return Object.fromEntries(Object.entries(user).filter(([key]) => listed.has(key) === include));
}
