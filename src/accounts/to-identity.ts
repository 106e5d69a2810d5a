import { isSocialProvider } from '../auth0/social-providers.js';
import type { WireIdentity, WireProfileData, WireUser } from '../auth0/wire.js';
import type { Identity, IdentityProfile } from './identity.type.js';
import type { User } from './user.type.js';

function optional<T>(value: T | undefined): T | null {
  return value === undefined ? null : value;
}

function toProfile(p: WireProfileData): IdentityProfile {
  return {
    email: optional(p.email),
    emailVerified: optional(p.email_verified),
    name: optional(p.name),
    username: optional(p.username),
    givenName: optional(p.given_name),
    familyName: optional(p.family_name),
    nickname: optional(p.nickname),
    picture: optional(p.picture),
    phoneNumber: optional(p.phone_number),
    phoneVerified: optional(p.phone_verified),
  };
}

/**
 * Wire identity → GraphQL Identity. Copies named fields only, so provider tokens that Auth0 may
 * include (`access_token`, `refresh_token`, …) can never reach a response. Auth0's schema requires
 * only `provider`, `user_id` (string or integer) and `connection`: an absent `isSocial` is derived
 * from the provider, an absent `profileData` is null, extra profileData keys are ignored.
 */
export function toIdentity(wire: WireIdentity): Identity {
  // Auth0 sends GitHub ids as numbers; clients always get strings.
  const userId = String(wire.user_id);
  return {
    id: `${wire.provider}|${userId}`,
    provider: wire.provider,
    userId,
    connection: wire.connection,
    isSocial: typeof wire.isSocial === 'boolean' ? wire.isSocial : isSocialProvider(wire.provider),
    profileData: wire.profileData ? toProfile(wire.profileData) : null,
  };
}

/** Wire user → GraphQL User. */
export function toUser(wire: WireUser): User {
  return {
    id: wire.user_id,
    identities: (wire.identities ?? []).map(toIdentity),
    email: optional(wire.email),
    emailVerified: optional(wire.email_verified),
    name: optional(wire.name),
    picture: optional(wire.picture),
    metadata: { user_metadata: wire.user_metadata, app_metadata: wire.app_metadata },
  };
}
