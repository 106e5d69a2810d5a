import type { WireIdentity, WireUser } from './wire.js';

/** The wire body broke an assumption the gateway relies on. */
export class ShapeError extends Error {}

const PROVIDER_TOKEN_KEYS: readonly string[] = ['access_token', 'access_token_secret', 'refresh_token'];

export function parseIdentities(value: unknown): WireIdentity[] {
  if (!Array.isArray(value)) throw new ShapeError('identities is not an array');
  return value.map((item) => {
    if (!item || typeof item !== 'object') throw new ShapeError('identity is not an object');
    const identity = item as Record<string, unknown>;
    const userId = identity.user_id;
    if (
      typeof identity.provider !== 'string' ||
      typeof identity.connection !== 'string' ||
      !((typeof userId === 'string' && userId !== '') || typeof userId === 'number')
    ) {
      throw new ShapeError('identity lacks provider, connection or user_id');
    }
    return withoutProviderTokens(identity) as WireIdentity;
  });
}

/**
 * Provider tokens leave here, before anything can cache, log or expose them. `value` is fresh
 * from JSON.parse, so one without tokens (a database or enterprise identity, what a link
 * answers with most) is kept as it is rather than copied key by key.
 */
function withoutProviderTokens(value: Record<string, unknown>): Record<string, unknown> {
  if (!PROVIDER_TOKEN_KEYS.some((key) => Object.hasOwn(value, key))) return value;
  return Object.fromEntries(Object.entries(value).filter(([key]) => !PROVIDER_TOKEN_KEYS.includes(key)));
}

export function parseUser(value: unknown): WireUser {
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new ShapeError('user is not an object');
  const user = value as Record<string, unknown>;
  if (typeof user.user_id !== 'string' || user.user_id === '') throw new ShapeError('user lacks user_id');
  if (user.identities === undefined) return user as WireUser;
  return { ...user, identities: parseIdentities(user.identities) } as WireUser;
}

export function parseUsers(value: unknown): WireUser[] {
  if (!Array.isArray(value)) throw new ShapeError('users is not an array');
  return value.map(parseUser);
}
