/** The verified caller of one GraphQL request (DESIGN §3). */
export interface Caller {
  /** `sub` of the bearer token: an Auth0 user id, or `<client_id>@clients` for machines. */
  readonly subject: string;
  /** The raw bearer token, forwarded to Auth0 in JWT mode. Never log it. */
  readonly token: string;
  /** `aud` of the token, always as an array. */
  readonly audiences: readonly string[];
  /** `azp`: the application the token was issued to, when present. */
  readonly authorizedParty: string | undefined;
  /** Space-separated `scope` claim, split. */
  readonly scopes: ReadonlySet<string>;
  /** RBAC `permissions` claim. */
  readonly permissions: ReadonlySet<string>;
  /** True when the token is for the Management API audience (usable upstream as the user's own). */
  readonly isManagementToken: boolean;
  /** True when the token is for ADMIN_AUDIENCE and carries ADMIN_PERMISSION in scope or permissions. */
  readonly isAdmin: boolean;
  /** A machine (client credentials: `gty: client-credentials` or `sub` ending in `@clients`), not an end user. */
  readonly isClientCredentials: boolean;
}
