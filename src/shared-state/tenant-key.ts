import { createHash } from 'node:crypto';

const tag = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12);

/**
 * A short, stable tag for one tenant and client: the first 12 hex digits of SHA-256 over the Auth0
 * origin and client id. Every Redis key but the rate budget's carries it, so gateways of two
 * tenants (or two clients of one tenant) can share one Redis and one REDIS_KEY_PREFIX without
 * reading each other's service token, cache or events, or counting each other's callers. It names
 * no tenant in clear.
 */
export function tenantDiscriminator(auth0: { origin: string; clientId: string }): string {
  return tag(`${auth0.origin}\n${auth0.clientId}`);
}

/**
 * The tag of the Auth0 tenant alone: the first 12 hex digits of SHA-256 over its origin. The rate
 * budget and the replica count that divides it carry it: Auth0's rate limit is the tenant's, so
 * gateways of one tenant with different client ids spend one budget.
 */
export function originDiscriminator(origin: string): string {
  return tag(origin);
}

/** `REDIS_KEY_PREFIX` followed by the tenant's and client's tag: the prefix of every key but the budget's. */
export function tenantKeyPrefix(keyPrefix: string, auth0: { origin: string; clientId: string }): string {
  return `${keyPrefix}${tenantDiscriminator(auth0)}:`;
}

/** `REDIS_KEY_PREFIX` followed by the tenant's tag alone: the prefix of the rate budget's keys. */
export function budgetKeyPrefix(keyPrefix: string, origin: string): string {
  return `${keyPrefix}${originDiscriminator(origin)}:`;
}
