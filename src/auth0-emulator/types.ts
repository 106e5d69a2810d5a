// Public types of the Auth0 emulator. Wire shapes follow Auth0's Management API (auth0-reference.md).

export type RouteName =
  | 'token'
  | 'jwks'
  | 'openid-configuration'
  | 'link'
  | 'unlink'
  | 'get-user'
  | 'users-by-email'
  | 'search-users'
  | 'update-user'
  | 'get-user-roles'
  | 'assign-user-roles'
  | 'remove-user-roles'
  | 'get-user-organizations'
  | 'get-organization-members'
  | 'add-organization-members'
  | 'remove-organization-members'
  | 'get-member-roles'
  | 'assign-member-roles'
  | 'remove-member-roles'
  | 'list-roles'
  | 'list-organizations'
  | 'authorize'
  | 'userinfo'
  | 'logout'
  // Resumes a login suspended by a post-login Action's redirect (DESIGN §14).
  | 'continue'
  // Users-export job (DESIGN §16); the file route is the job's `location`, outside /api/v2.
  | 'create-users-export'
  | 'get-job'
  | 'users-export-file';

export interface EmulatorOptions {
  /** TCP port, default 0 (ephemeral). */
  port?: number;
  /** Interface to bind, default '127.0.0.1'. */
  host?: string;
  /** Users and clients the tenant starts with (and returns to on reset), default DEMO_SEED. */
  seed?: EmulatorSeed;
  /**
   * Token bucket shared by all /api/v2 calls. Default (or false): 10,000/s with a burst of 10,000,
   * which nothing local reaches; its x-ratelimit-* headers are on every Management API response.
   */
  rateLimit?: RateLimit | false;
  /**
   * Auth0's published Management API limit for a plan (see RATE_LIMIT_PLANS): `free` 2/s burst 2,
   * `enterprise` 16/s burst 50, `enterprise-nonprod` 2/s burst 10. Not together with `rateLimit`.
   */
  plan?: RatePlan;
  /** Lifetime of access tokens issued by POST /oauth/token, default 86400. */
  tokenLifetimeSeconds?: number;
  /**
   * Reads of `GET /api/v2/jobs/{id}` after which a users-export job is `completed` (earlier reads
   * answer `processing`), default 2: a test polls the job to completion, with no waiting.
   */
  exportJobPolls?: number;
  /** Clock in epoch milliseconds used for token times and the rate-limit bucket, default Date.now. */
  now?: () => number;
  /**
   * How long one Action handler may run before the login fails, default 20000 (Auth0 stops an
   * Action after 20 s). Tests of a hanging Action lower it.
   */
  actionTimeoutMs?: number;
}

/** Auth0 plans whose Management API rate limits the emulator can take on. */
export type RatePlan = 'free' | 'enterprise' | 'enterprise-nonprod';

export interface RateLimit {
  /** Sustained refill rate, tokens per second. */
  perSecond: number;
  /** Bucket capacity (the x-ratelimit-limit header). */
  burst: number;
}

export interface JournalEntry {
  route: RouteName | 'unknown';
  method: string;
  /** Raw path exactly as received, e.g. /api/v2/users/auth0%7Cabc/identities. */
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  /** Parsed JSON or form object; the raw string if unparseable; undefined if none. */
  body: unknown;
  /** Status sent on the wire; 0 when the socket was destroyed before a status line was written. */
  status: number;
  /** With an `applyFirst` fault: the status the request really had in the tenant. */
  appliedStatus?: number;
}

export interface Journal {
  entries(filter?: { route?: RouteName; method?: string }): JournalEntry[];
  count(route?: RouteName): number;
  clear(): void;
}

/** A faulted response is answered before the rate-limit bucket is consulted (and does not consume it). */
export interface FaultRule {
  route: RouteName | '*';
  /** How many next matching requests it affects, default 1. */
  times?: number;
  /** Respond with this status (default 500 when body or headers are given without one). */
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Delay before handling (then the normal or the faulted response). */
  latencyMs?: number;
  /** Destroy the socket before any header is written, or right after a 200 status line and headers. */
  destroy?: 'before-headers' | 'after-headers';
  /** 200 (201 for link) with a content-type of JSON and a body that does not parse. */
  malformedJson?: boolean;
  /**
   * Apply first, then fail: the request takes effect in the tenant as it would without the rule
   * (rate limit included), then the rule's fault answers instead (status, latency, reset, bad
   * JSON). With `latencyMs` alone, the real answer comes after the delay. Rehearses an Auth0 that
   * acted but whose answer was lost.
   */
  applyFirst?: boolean;
}

export interface Faults {
  add(rule: FaultRule): void;
  clear(): void;
}

export type MintAlg = 'RS256' | 'HS256' | 'none' | 'foreign-RS256';

export interface UserAccessTokenOptions {
  sub: string;
  azp?: string;
  scope?: string;
  audience?: string | string[];
  expiresInSeconds?: number;
  issuer?: string;
}

export interface IdTokenOptions {
  sub: string | null;
  aud?: string;
  issuer?: string;
  expiresInSeconds?: number;
  email?: string;
  emailVerified?: boolean;
  alg?: MintAlg;
}

export interface AdminTokenOptions {
  scope?: string;
  permissions?: string[];
  audience?: string | string[];
  sub?: string;
  expiresInSeconds?: number;
  issuer?: string;
}

export interface SignOptions {
  alg?: MintAlg;
  kid?: string;
  expiresInSeconds?: number;
}

export interface TokenMinter {
  userAccessToken(o: UserAccessTokenOptions): Promise<string>;
  idToken(o: IdTokenOptions): Promise<string>;
  adminToken(o?: AdminTokenOptions): Promise<string>;
  sign(claims: Record<string, unknown>, o?: SignOptions): Promise<string>;
}

export interface TenantControl {
  /** Back to the seed; clears the journal, the faults and the rate-limit bucket. */
  reset(): void;
  addUser(user: SeedUser): void;
  /** Replaces a client of the same id (and its grants; `scopes` is the Management API shorthand). */
  addClient(client: SeedClient): void;
  addClientGrant(grant: SeedClientGrant): void;
  /** A primary user in Auth0's shape (provider tokens included), undefined if absent or linked away. */
  getUser(userId: string): WireUser | undefined;
  listUsers(): WireUser[];
  /** Search (GET /api/v2/users) misses these, as Auth0's eventually consistent search can; reads still find them. */
  hideFromSearch(userIds: string[]): void;
  /**
   * Search answers from a copy of the tenant as it is now until `catchUpSearch()` (or `reset()`),
   * as Auth0's eventually consistent search index can lag behind writes; reads by id see every change.
   */
  lagSearch(): void;
  catchUpSearch(): void;
  /** The tenant's id for a connection name ('con_' + 16 alphanumerics), as sent in connection_id. */
  connectionId(connection: string): string;
  /** A role, with `users` it is assigned to directly. */
  addRole(role: SeedRole): void;
  /** An organization, with its `members` and their roles. */
  addOrganization(organization: SeedOrganization): void;
  /** Role ids assigned to the user directly, in assignment order ([] for a user that is gone). */
  userRoleIds(userId: string): string[];
  /** The user's memberships: organization id and that membership's role ids. */
  userMemberships(userId: string): { organizationId: string; roleIds: string[] }[];
}

export interface EmulatorSeed {
  users: SeedUser[];
  clients: SeedClient[];
  /** Auth0's client grants: Management API scopes (audience `<any origin>/api/v2/`) or another API's. */
  client_grants?: SeedClientGrant[];
  /** Roles as `GET /api/v2/roles` returns them, with `users`: who has the role directly. */
  roles?: SeedRole[];
  /** Organizations as `GET /api/v2/organizations` returns them, with their `members`. */
  organizations?: SeedOrganization[];
  /** Actions in the Deploy CLI's shape (`code` is the source text); run when bound in `triggers`. */
  actions?: SeedAction[];
  /** Trigger bindings in the Deploy CLI's shape: `{ 'post-login': [{ action_name }] }`, run in order. */
  triggers?: SeedTriggers;
  [k: string]: unknown;
}

/**
 * An Action as the Deploy CLI writes it (`actions:` in tenant.yaml), with `code` holding the
 * JavaScript source (the CLI's YAML names a file; the emulator's CLI seed reads that file).
 * `runtime`, `dependencies`, `deployed`, … are accepted and ignored: an emulated Action has no
 * dependencies; `require` reaches only Node's built-ins (crypto, url, util, buffer, querystring).
 */
export interface SeedAction {
  name: string;
  code: string;
  secrets?: { name: string; value: string; [k: string]: unknown }[];
  supported_triggers?: { id: string; version?: string; [k: string]: unknown }[];
  [k: string]: unknown;
}

/** One binding of a trigger (the Deploy CLI's `triggers.<id>[]`). */
export interface SeedTriggerBinding {
  action_name: string;
  display_name?: string;
  [k: string]: unknown;
}

/** Bindings by trigger id; the emulator runs `post-login` only (other triggers are kept, never run). */
export type SeedTriggers = Record<string, SeedTriggerBinding[]>;

/** What `deployActions` takes: every Action and binding of the tenant, replacing the current ones. */
export interface ActionsDeployment {
  actions: SeedAction[];
  triggers?: SeedTriggers;
}

/**
 * A role (`Role`: id, name, description); `users` lists the user ids it is assigned to directly,
 * as Auth0's `POST /api/v2/roles/{id}/users` body does.
 */
export interface SeedRole {
  id: string;
  name: string;
  description?: string;
  users?: string[];
  [k: string]: unknown;
}

/**
 * An organization (`Organization`: id, name, display_name, branding, metadata); `members` in
 * Auth0's `OrganizationMember` shape, each with the roles of that membership by id.
 */
export interface SeedOrganization {
  id: string;
  name: string;
  display_name?: string;
  branding?: Record<string, unknown>;
  metadata?: Record<string, string | null>;
  members?: { user_id: string; roles?: { id: string; [k: string]: unknown }[]; [k: string]: unknown }[];
  [k: string]: unknown;
}

export type AppType = 'spa' | 'non_interactive' | 'regular_web' | 'native';

/**
 * A client (application) as Auth0's Management API returns it; unknown fields are kept and ignored.
 * Entries of `callbacks`, `web_origins`, `allowed_origins` and `allowed_logout_urls` match exactly,
 * except the emulator's loopback wildcard `http://127.0.0.1:*` (also `localhost`, `[::1]`): any port
 * and, for callbacks and logout URLs, any path on that loopback host (RFC 8252 §7.3).
 */
export interface SeedClient {
  client_id: string;
  client_secret?: string;
  name?: string;
  /** Default `regular_web`, as Auth0 treats a client created without one. */
  app_type?: AppType;
  grant_types?: string[];
  /** Shorthand for a client grant on the Management API with these scopes. */
  scopes?: string[];
  /** Allowed `redirect_uri`s of /authorize. */
  callbacks?: string[];
  /** Origins allowed for silent authentication and `response_mode=web_message`. */
  web_origins?: string[];
  /** Origins allowed to call /oauth/token and /userinfo from a browser (CORS). */
  allowed_origins?: string[];
  /** Allowed `returnTo` URLs of /v2/logout. */
  allowed_logout_urls?: string[];
  /** `none` makes a public client (PKCE required); default `none` for spa/native, else `client_secret_post`. */
  token_endpoint_auth_method?: 'none' | 'client_secret_post' | 'client_secret_basic' | 'private_key_jwt';
  /** Auth0's refresh token settings; `rotation_type: 'rotating'` makes the refresh grant rotate tokens. */
  refresh_token?: { rotation_type?: 'rotating' | 'non-rotating'; [k: string]: unknown };
  [k: string]: unknown;
}

export interface SeedClientGrant {
  client_id: string;
  audience: string;
  scope: string[];
  [k: string]: unknown;
}

export interface SeedUser {
  user_id: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
  nickname?: string;
  picture?: string;
  given_name?: string;
  family_name?: string;
  username?: string;
  phone_number?: string;
  phone_verified?: boolean;
  identities?: unknown[];
  user_metadata?: Record<string, unknown>;
  app_metadata?: Record<string, unknown>;
  password?: string;
  [k: string]: unknown;
}

/** An identity as Auth0 returns it; user_id is a number for some providers (GitHub). */
export interface WireIdentity {
  provider: string;
  user_id: string | number;
  connection: string;
  isSocial: boolean;
  access_token?: string;
  access_token_secret?: string;
  refresh_token?: string;
  profileData?: Record<string, unknown>;
  [k: string]: unknown;
}

/** A user as GET /api/v2/users/{id} returns it. */
export interface WireUser {
  user_id: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
  nickname?: string;
  picture?: string;
  identities: WireIdentity[];
  created_at: string;
  updated_at: string;
  user_metadata?: Record<string, unknown>;
  app_metadata?: Record<string, unknown>;
  [k: string]: unknown;
}

/** Alias kept for callers written against the issue text. */
export type WireUserLike = WireUser;
