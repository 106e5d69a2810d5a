import type { WireIdentity, WireOrganization, WireRole, WireUser } from './wire.js';

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

/** One page of a paged list: its items and, with `include_totals`, Auth0's total. */
export interface WirePage<T> {
  items: T[];
  total?: number;
}

/**
 * A page of `GET` list answers, under `key`: a bare array, or `{ start, limit, total, <key> }`
 * with `include_totals=true` (a missing or non-numeric `total` leaves it unknown).
 */
function parsePage<T>(value: unknown, key: string, parseItem: (item: unknown) => T): WirePage<T> {
  if (Array.isArray(value)) return { items: value.map(parseItem) };
  if (!value || typeof value !== 'object') throw new ShapeError(`${key} page is not an object`);
  const page = value as Record<string, unknown>;
  if (!Array.isArray(page[key])) throw new ShapeError(`${key} page has no ${key} array`);
  return {
    items: (page[key] as unknown[]).map(parseItem),
    ...(typeof page.total === 'number' ? { total: page.total } : {}),
  };
}

function withId(kind: string, value: unknown): Record<string, unknown> & { id: string } {
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new ShapeError(`${kind} is not an object`);
  const item = value as Record<string, unknown>;
  if (typeof item.id !== 'string' || item.id === '') throw new ShapeError(`${kind} lacks id`);
  return item as Record<string, unknown> & { id: string };
}

export function parseRolePage(value: unknown): WirePage<WireRole> {
  return parsePage(value, 'roles', (item) => withId('role', item) as WireRole);
}

export function parseOrganizationPage(value: unknown): WirePage<WireOrganization> {
  return parsePage(value, 'organizations', (item) => withId('organization', item) as WireOrganization);
}

/** A 204: Auth0 sends no body, and anything it did send is not looked at. */
export function parseNoContent(): void {}
