/**
 * Providers (connection strategies) whose identities Auth0 does not mark `isSocial`, following
 * its documented connection kinds: the database (`auth0`), passwordless (`email`, `sms`) and the
 * enterprise strategies of the Management API's provider enum. Every other provider in that enum
 * (github, google-oauth2, facebook, `oauth1`/`oauth2` custom social, …) is social.
 */
const NOT_SOCIAL = new Set([
  // Database and passwordless connections.
  'auth0',
  'email',
  'sms',
  // Enterprise connections.
  'ad',
  'adfs',
  'auth0-oidc',
  'custom',
  'google-apps',
  'ip',
  'office365',
  'oidc',
  'okta',
  'pingfederate',
  'samlp',
  'sharepoint',
  'waad',
]);

/**
 * Whether an identity of `provider` is social. Auth0's schema makes `isSocial` optional in an
 * identity, so the gateway derives it from the provider where an answer leaves it out; the
 * emulator marks the identities it creates by the same rule.
 */
export function isSocialProvider(provider: string): boolean {
  return !NOT_SOCIAL.has(provider);
}
