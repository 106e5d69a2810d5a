import { createHash } from 'node:crypto';

/**
 * A short, stable tag for one tenant and client: the first 12 hex digits of SHA-256 over the Auth0
 * origin and client id. Every Redis key carries it, so gateways of two tenants (or two clients of
 * one tenant) can share one Redis and one REDIS_KEY_PREFIX without counting each other's replicas
 * or callers. It names no tenant in clear.
 */
export function tenantDiscriminator(auth0: { origin: string; clientId: string }): string {
  return createHash('sha256').update(`${auth0.origin}\n${auth0.clientId}`).digest('hex').slice(0, 12);
}

/** `REDIS_KEY_PREFIX` followed by the tenant's tag: the prefix of every key the service writes. */
export function tenantKeyPrefix(keyPrefix: string, auth0: { origin: string; clientId: string }): string {
  return `${keyPrefix}${tenantDiscriminator(auth0)}:`;
}
