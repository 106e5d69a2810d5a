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
  | 'update-user';

export interface EmulatorOptions {
  /** TCP port, default 0 (ephemeral). */
  port?: number;
  /** Interface to bind, default '127.0.0.1'. */
  host?: string;
  /** Users and clients the tenant starts with (and returns to on reset), default DEMO_SEED. */
  seed?: EmulatorSeed;
  /** Token bucket shared by all /api/v2 calls; default false (no limiting and no x-ratelimit headers). */
  rateLimit?: RateLimit | false;
  /** Lifetime of access tokens issued by POST /oauth/token, default 86400. */
  tokenLifetimeSeconds?: number;
  /** Clock in epoch milliseconds used for token times and the rate-limit bucket, default Date.now. */
  now?: () => number;
}

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
  addClient(client: SeedClient): void;
  /** A primary user in Auth0's shape (provider tokens included), undefined if absent or linked away. */
  getUser(userId: string): WireUser | undefined;
  listUsers(): WireUser[];
  /** Search (GET /api/v2/users) misses these, as Auth0's eventually consistent search can; reads still find them. */
  hideFromSearch(userIds: string[]): void;
  /** The tenant's id for a connection name ('con_' + 16 alphanumerics), as sent in connection_id. */
  connectionId(connection: string): string;
}

export interface EmulatorSeed {
  users: SeedUser[];
  clients: SeedClient[];
}

export interface SeedClient {
  client_id: string;
  client_secret?: string;
  name?: string;
  app_type: 'spa' | 'non_interactive' | 'regular_web' | 'native';
  grant_types?: string[];
  /** Management API scopes granted by its client grant. */
  scopes?: string[];
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
  expires_in?: number;
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
