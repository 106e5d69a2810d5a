// What a seeded client may do: its grant types, whether it is public, and its allowed URLs and origins.
import type { AppType, SeedClient } from './types.js';

// Auth0's default grant types per application type, used when a seeded client lists none.
const DEFAULT_GRANTS: Record<AppType, string[]> = {
  spa: ['authorization_code', 'implicit', 'refresh_token'],
  native: ['authorization_code', 'implicit', 'refresh_token'],
  regular_web: ['authorization_code', 'implicit', 'refresh_token', 'client_credentials'],
  non_interactive: ['client_credentials'],
};

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

export function appTypeOf(client: SeedClient): AppType {
  return client.app_type ?? 'regular_web';
}

export function allowsGrant(client: SeedClient, grant: string): boolean {
  return (client.grant_types ?? DEFAULT_GRANTS[appTypeOf(client)]).includes(grant);
}

/** A client that cannot keep a secret: it authenticates with PKCE instead (Auth0's `none` method). */
export function isPublicClient(client: SeedClient): boolean {
  if (client.token_endpoint_auth_method !== undefined) return client.token_endpoint_auth_method === 'none';
  const type = appTypeOf(client);
  return type === 'spa' || type === 'native';
}

function parseUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

/** `http://<loopback host>:*`, the emulator's wildcard for any port of a loopback host. */
function loopbackWildcardHost(entry: string): string | undefined {
  const match = /^http:\/\/(127\.0\.0\.1|localhost|\[::1\]):\*\/?$/.exec(entry);
  return match?.[1];
}

function matchesLoopbackWildcard(entry: string, url: URL): boolean {
  const host = loopbackWildcardHost(entry);
  return host !== undefined && url.protocol === 'http:' && url.hostname === host;
}

/** Whether `url` is listed in `allowed` (callbacks, allowed_logout_urls): exact, or under a loopback wildcard. */
export function urlAllowed(allowed: string[] | undefined, value: string): boolean {
  const url = parseUrl(value);
  if (!url || url.username || url.password || url.hash) return false;
  return (allowed ?? []).some((entry) => entry === value || matchesLoopbackWildcard(entry, url));
}

/** Whether a browser origin is listed in `allowed` (web_origins, allowed_origins). */
export function originAllowed(allowed: string[] | undefined, origin: string): boolean {
  const url = parseUrl(origin);
  if (!url || url.origin !== origin) return false;
  return (allowed ?? []).some(
    (entry) => entry.replace(/\/$/, '') === origin || matchesLoopbackWildcard(entry, url),
  );
}

/** The loopback origins allowed for anything (demo SPA): each loopback host, any port. */
export const LOOPBACK_WILDCARDS = [...LOOPBACK_HOSTS].map((host) => `http://${host}:*`);
