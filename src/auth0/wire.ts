// Shapes as Auth0's Management API sends them (auth0-reference.md §1, §6). Only what the
// gateway reads is typed; everything else passes through untouched.

/**
 * The root profile fields Auth0 copies into an identity's `profileData` when it links a user into
 * another (what the emulator does at a link, and what linkPreview shows the link would do).
 */
export const PROFILE_DATA_KEYS = [
  'email',
  'email_verified',
  'name',
  'username',
  'given_name',
  'family_name',
  'nickname',
  'picture',
  'phone_number',
  'phone_verified',
] as const;

export interface WireProfileData {
  email?: string;
  email_verified?: boolean;
  name?: string;
  username?: string;
  given_name?: string;
  family_name?: string;
  nickname?: string;
  picture?: string;
  phone_number?: string;
  phone_verified?: boolean;
  [extra: string]: unknown;
}

export interface WireIdentity {
  connection: string;
  /** A string, or a number for some providers (GitHub). */
  user_id: string | number;
  provider: string;
  isSocial?: boolean;
  profileData?: WireProfileData;
  // Provider tokens (only with read:user_idp_tokens): never exposed, logged or cached.
  access_token?: string;
  access_token_secret?: string;
  refresh_token?: string;
  [extra: string]: unknown;
}

export interface WireUser {
  user_id: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
  nickname?: string;
  picture?: string;
  given_name?: string;
  family_name?: string;
  identities?: WireIdentity[];
  user_metadata?: Record<string, unknown>;
  app_metadata?: Record<string, unknown>;
  [extra: string]: unknown;
}

/** `{statusCode, error, message, errorCode?}`: Auth0's generic error body. */
export interface WireErrorBody {
  statusCode?: number;
  error?: string;
  message?: string;
  errorCode?: string;
}

/** Body of `POST /api/v2/users/{id}/identities`: exactly one of the two modes. */
export type WireLinkBody =
  { link_with: string } | { provider: string; user_id: string; connection_id?: string };

/**
 * Body of `PATCH /api/v2/users/{id}` as the gateway sends it: metadata only. Auth0 merges each
 * object at the top level (a root key set to `null` is deleted) and an empty object wipes it all.
 */
export interface WireUserUpdate {
  user_metadata?: Record<string, unknown>;
  app_metadata?: Record<string, unknown>;
}

/** `Role` (`GET /api/v2/roles`, a user's or a member's roles). */
export interface WireRole {
  id: string;
  name?: string;
  description?: string;
  [extra: string]: unknown;
}

/** `Organization` (`GET /api/v2/users/{id}/organizations`). */
export interface WireOrganization {
  id: string;
  name?: string;
  display_name?: string;
  [extra: string]: unknown;
}
