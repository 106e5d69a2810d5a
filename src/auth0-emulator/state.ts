// The tenant's users and clients, and the account-linking rules that change them.
import { createHash } from 'node:crypto';
import { isSocialProvider } from '../auth0/social-providers.js';
import { PROFILE_DATA_KEYS } from '../auth0/wire.js';
import type {
  EmulatorSeed,
  SeedClient,
  SeedClientGrant,
  SeedOrganization,
  SeedRole,
  SeedUser,
  WireIdentity,
} from './types.js';

const NOT_PROFILE_KEYS = new Set([
  'user_id',
  'identities',
  'password',
  'user_metadata',
  'app_metadata',
  'created_at',
  'updated_at',
]);

// Seeded users share one creation time so the demo tenant is deterministic.
const SEED_TIME = '2024-05-24T10:00:00.000Z';

export interface StoredUser {
  user_id: string;
  /** Root attributes (email, name, ...) in insertion order. */
  profile: Record<string, unknown>;
  /** Main identity first, then linked ones (with profileData). Provider tokens included. */
  identities: WireIdentity[];
  user_metadata?: Record<string, unknown>;
  app_metadata?: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

/** An organization as Auth0 returns it (`Organization`); its members are kept apart. */
export interface StoredOrganization {
  id: string;
  name: string;
  display_name?: string;
  branding?: Record<string, unknown>;
  metadata?: Record<string, string | null>;
}

export interface LoginCandidate {
  user: StoredUser;
  identity: WireIdentity;
  email: string | undefined;
  password: string;
}

/** Splits an Auth0 user id at the first `|` only (`auth0|Conn|123` → auth0, Conn|123). */
export function splitUserId(userId: string): { provider: string; id: string } {
  const at = userId.indexOf('|');
  return at < 0 ? { provider: '', id: userId } : { provider: userId.slice(0, at), id: userId.slice(at + 1) };
}

export function identityKey(provider: string, userId: string | number): string {
  return `${provider}|${String(userId)}`;
}

export function deriveIdentity(userId: string): WireIdentity {
  const { provider, id } = splitUserId(userId);
  return {
    provider,
    user_id: id,
    connection: provider === 'auth0' ? 'Username-Password-Authentication' : provider,
    isSocial: isSocialProvider(provider),
  };
}

function normalizeIdentity(raw: unknown, userId: string): WireIdentity {
  if (typeof raw !== 'object' || raw === null) throw new Error(`user ${userId}: identities must be objects`);
  const identity = raw as Record<string, unknown>;
  const provider = String(identity.provider ?? '');
  if (!provider) throw new Error(`user ${userId}: identity without provider`);
  const id = identity.user_id;
  if (typeof id !== 'string' && typeof id !== 'number')
    throw new Error(`user ${userId}: identity without user_id`);
  return {
    ...identity,
    provider,
    user_id: id,
    connection:
      typeof identity.connection === 'string' ? identity.connection : deriveIdentity(userId).connection,
    isSocial: typeof identity.isSocial === 'boolean' ? identity.isSocial : isSocialProvider(provider),
  };
}

function defaultProfile(profile: Record<string, unknown>): Record<string, unknown> {
  const email = profile.email;
  if (typeof email !== 'string') return profile;
  const local = email.split('@')[0];
  const digest = createHash('md5').update(email.trim().toLowerCase()).digest('hex');
  return {
    ...profile,
    name: profile.name ?? email,
    nickname: profile.nickname ?? local,
    picture:
      profile.picture ??
      `https://s.gravatar.com/avatar/${digest}?s=480&r=pg&d=https%3A%2F%2Fcdn.auth0.com%2Favatars%2F${local.slice(0, 2).toLowerCase()}.png`,
  };
}

// Grants on the Management API are keyed by this, whatever tenant origin the seed was exported from.
const MANAGEMENT_GRANT = 'management-api';

function grantKey(audience: string): string {
  try {
    if (new URL(audience).pathname === '/api/v2/') return MANAGEMENT_GRANT;
  } catch {
    // Not a URL: an API identifier such as "urn:my-api", kept as it is.
  }
  return audience;
}

function pickProfileData(profile: Record<string, unknown>): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const key of PROFILE_DATA_KEYS) if (profile[key] !== undefined) data[key] = profile[key];
  return data;
}

export class TenantState {
  private readonly users = new Map<string, StoredUser>();
  private readonly clients = new Map<string, SeedClient>();
  /** Granted scopes by client id, then by audience (or MANAGEMENT_GRANT). */
  private readonly grants = new Map<string, Map<string, string[]>>();
  /** Passwords by identity key, so a linked identity keeps its credentials. */
  private readonly passwords = new Map<string, string>();
  private readonly hidden = new Set<string>();
  private readonly roleList = new Map<string, SeedRole>();
  private readonly organizationList = new Map<string, StoredOrganization>();
  /** Directly assigned (tenant-wide) role ids by user id, in assignment order. */
  private readonly userRoles = new Map<string, Set<string>>();
  /** Members of each organization by organization id: user id → that membership's role ids. */
  private readonly members = new Map<string, Map<string, Set<string>>>();

  constructor(private readonly now: () => number) {}

  load(seed: EmulatorSeed): void {
    this.users.clear();
    this.clients.clear();
    this.grants.clear();
    this.passwords.clear();
    this.hidden.clear();
    this.roleList.clear();
    this.organizationList.clear();
    this.userRoles.clear();
    this.members.clear();
    for (const client of seed.clients) this.addClient(client);
    for (const grant of seed.client_grants ?? []) this.addClientGrant(grant);
    for (const user of seed.users) this.addUser(user, SEED_TIME);
    for (const role of seed.roles ?? []) this.addRole(role);
    for (const organization of seed.organizations ?? []) this.addOrganization(organization);
  }

  /** A role, with `users` (Auth0's role-assignment body) given that role directly. */
  addRole(seed: SeedRole): void {
    if (this.roleList.has(seed.id)) throw new Error(`role ${seed.id} already exists`);
    const { users = [], ...role } = seed;
    this.roleList.set(role.id, role);
    for (const userId of users) {
      if (!this.users.has(userId)) throw new Error(`role ${role.id}: no user ${userId}`);
      this.assignUserRoles(userId, [role.id]);
    }
  }

  /** An organization, with `members` in Auth0's member shape (`roles` by id). */
  addOrganization(seed: SeedOrganization): void {
    if (this.organizationList.has(seed.id)) throw new Error(`organization ${seed.id} already exists`);
    const { id, name, display_name: displayName, branding, metadata, members = [] } = seed;
    const organization: StoredOrganization = {
      id,
      name,
      ...(displayName === undefined ? {} : { display_name: displayName }),
      ...(branding === undefined ? {} : { branding }),
      ...(metadata === undefined ? {} : { metadata }),
    };
    this.organizationList.set(organization.id, organization);
    this.members.set(organization.id, new Map());
    for (const member of members) {
      if (!this.users.has(member.user_id))
        throw new Error(`organization ${organization.id}: no user ${member.user_id}`);
      const roleIds = (member.roles ?? []).map((r) => r.id);
      const unknown = roleIds.find((id) => !this.roleList.has(id));
      if (unknown) throw new Error(`organization ${organization.id}: no role ${unknown}`);
      this.addMembers(organization.id, [member.user_id]);
      this.assignMemberRoles(organization.id, member.user_id, roleIds);
    }
  }

  roles(): SeedRole[] {
    return [...this.roleList.values()];
  }

  role(roleId: string): SeedRole | undefined {
    return this.roleList.get(roleId);
  }

  organizations(): StoredOrganization[] {
    return [...this.organizationList.values()];
  }

  organization(organizationId: string): StoredOrganization | undefined {
    return this.organizationList.get(organizationId);
  }

  /** The user's directly assigned roles, in assignment order. */
  rolesOfUser(userId: string): SeedRole[] {
    return [...(this.userRoles.get(userId) ?? [])].map((id) => this.roleList.get(id)!);
  }

  assignUserRoles(userId: string, roleIds: string[]): void {
    let assigned = this.userRoles.get(userId);
    if (!assigned) this.userRoles.set(userId, (assigned = new Set()));
    for (const id of roleIds) assigned.add(id);
  }

  removeUserRoles(userId: string, roleIds: string[]): void {
    const assigned = this.userRoles.get(userId);
    for (const id of roleIds) assigned?.delete(id);
  }

  /** Organizations the user is a member of, in the order they were created. */
  organizationsOfUser(userId: string): StoredOrganization[] {
    return this.organizations().filter((o) => this.members.get(o.id)?.has(userId));
  }

  /** Member user ids of an organization, in the order they joined. */
  memberIds(organizationId: string): string[] {
    return [...(this.members.get(organizationId)?.keys() ?? [])];
  }

  isMember(organizationId: string, userId: string): boolean {
    return this.members.get(organizationId)?.has(userId) ?? false;
  }

  /** Adding a member twice keeps the membership and its roles as they are. */
  addMembers(organizationId: string, userIds: string[]): void {
    const members = this.members.get(organizationId)!;
    for (const id of userIds) if (!members.has(id)) members.set(id, new Set());
  }

  /** Removing a membership removes its roles with it. */
  removeMembers(organizationId: string, userIds: string[]): void {
    const members = this.members.get(organizationId);
    for (const id of userIds) members?.delete(id);
  }

  memberRoles(organizationId: string, userId: string): SeedRole[] {
    const roleIds = this.members.get(organizationId)?.get(userId) ?? new Set<string>();
    return [...roleIds].map((id) => this.roleList.get(id)!);
  }

  assignMemberRoles(organizationId: string, userId: string, roleIds: string[]): void {
    const assigned = this.members.get(organizationId)?.get(userId);
    for (const id of roleIds) assigned?.add(id);
  }

  removeMemberRoles(organizationId: string, userId: string, roleIds: string[]): void {
    const assigned = this.members.get(organizationId)?.get(userId);
    for (const id of roleIds) assigned?.delete(id);
  }

  addClient(client: SeedClient): void {
    this.clients.set(client.client_id, { ...client });
    this.grants.delete(client.client_id);
    if (client.scopes) this.grant(client.client_id, MANAGEMENT_GRANT, client.scopes);
  }

  addClientGrant(grant: SeedClientGrant): void {
    if (!this.clients.has(grant.client_id))
      throw new Error(`client grant for unknown client ${grant.client_id}`);
    this.grant(grant.client_id, grantKey(grant.audience), grant.scope);
  }

  private grant(clientId: string, key: string, scopes: string[]): void {
    let byAudience = this.grants.get(clientId);
    if (!byAudience) this.grants.set(clientId, (byAudience = new Map()));
    byAudience.set(key, [...new Set([...(byAudience.get(key) ?? []), ...scopes])]);
  }

  /** Whether an API other than the Management API is known (some client has a grant for it). */
  hasApi(audience: string): boolean {
    return [...this.grants.values()].some((byAudience) => byAudience.has(audience));
  }

  /** Scopes granted to a client for an API, undefined when it has no grant for it. */
  grantedScopes(clientId: string, audience: string, managementAudience: string): string[] | undefined {
    const key = audience === managementAudience ? MANAGEMENT_GRANT : audience;
    // Another tenant's Management API is not this tenant's API.
    if (key !== MANAGEMENT_GRANT && grantKey(audience) === MANAGEMENT_GRANT) return undefined;
    return this.grants.get(clientId)?.get(key);
  }

  addUser(seed: SeedUser, createdAt?: string): void {
    const userId = seed.user_id;
    if (!userId.includes('|')) throw new Error(`user_id "${userId}" must look like "<provider>|<id>"`);
    if (this.users.has(userId)) throw new Error(`user ${userId} already exists`);
    const identities =
      Array.isArray(seed.identities) && seed.identities.length > 0
        ? seed.identities.map((raw) => normalizeIdentity(raw, userId))
        : [deriveIdentity(userId)];
    for (const identity of identities) {
      const owner = this.ownerOfIdentity(identity.provider, identity.user_id);
      if (owner)
        throw new Error(`identity ${identityKey(identity.provider, identity.user_id)} already exists`);
    }
    const profile: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(seed)) if (!NOT_PROFILE_KEYS.has(key)) profile[key] = value;
    const time = createdAt ?? new Date(this.now()).toISOString();
    this.users.set(userId, {
      user_id: userId,
      profile: defaultProfile(profile),
      identities,
      ...(seed.user_metadata ? { user_metadata: { ...seed.user_metadata } } : {}),
      ...(seed.app_metadata ? { app_metadata: { ...seed.app_metadata } } : {}),
      created_at: typeof seed.created_at === 'string' ? seed.created_at : time,
      updated_at: typeof seed.updated_at === 'string' ? seed.updated_at : time,
    });
    if (typeof seed.password === 'string') {
      this.passwords.set(identityKey(identities[0].provider, identities[0].user_id), seed.password);
    }
  }

  client(clientId: string): SeedClient | undefined {
    return this.clients.get(clientId);
  }

  anyClient(predicate: (client: SeedClient) => boolean): boolean {
    return [...this.clients.values()].some(predicate);
  }

  /** A primary (standalone) user; linked-away secondaries are not users any more. */
  user(userId: string): StoredUser | undefined {
    return this.users.get(userId);
  }

  primaries(): StoredUser[] {
    return [...this.users.values()];
  }

  hide(userIds: string[]): void {
    for (const id of userIds) this.hidden.add(id);
  }

  isHidden(userId: string): boolean {
    return this.hidden.has(userId);
  }

  /** The primary user holding this identity, as its main identity or a linked one. */
  ownerOfIdentity(provider: string, userId: string | number): StoredUser | undefined {
    const key = identityKey(provider, userId);
    for (const user of this.users.values()) {
      if (user.identities.some((i) => identityKey(i.provider, i.user_id) === key)) return user;
    }
    return undefined;
  }

  connectionId(connection: string): string {
    return `con_${createHash('sha256').update(connection).digest('hex').slice(0, 16)}`;
  }

  /** Moves the secondary's identities into the primary; the secondary stops existing as a user. */
  link(primary: StoredUser, secondary: StoredUser): void {
    const [main, ...alreadyLinked] = secondary.identities;
    // Auth0 keeps the secondary's root profile on its identity and discards its metadata.
    primary.identities.push({ ...main, profileData: pickProfileData(secondary.profile) }, ...alreadyLinked);
    primary.updated_at = new Date(this.now()).toISOString();
    this.users.delete(secondary.user_id);
    // Auth0 deletes the secondary user, and with it its direct roles and its organization
    // memberships (with their member roles); nothing moves to the primary. Unconfirmed: chose
    // that they are gone for good, so a later unlink recreates the user without them.
    this.userRoles.delete(secondary.user_id);
    for (const members of this.members.values()) members.delete(secondary.user_id);
  }

  /** Detaches identity `index` (never 0) and recreates it as a standalone user without metadata. */
  unlink(primary: StoredUser, index: number): StoredUser {
    const [identity] = primary.identities.splice(index, 1);
    const time = new Date(this.now()).toISOString();
    primary.updated_at = time;
    const { profileData, ...bare } = identity;
    const user: StoredUser = {
      user_id: identityKey(identity.provider, identity.user_id),
      profile: { ...(profileData ?? {}) },
      identities: [bare],
      created_at: time,
      updated_at: time,
    };
    this.users.set(user.user_id, user);
    return user;
  }

  /** Identities with a password whose email (case-insensitive) or full user id equals `username`. */
  loginCandidates(username: string, realm: string | undefined): LoginCandidate[] {
    const wanted = username.toLowerCase();
    const found: LoginCandidate[] = [];
    for (const user of this.users.values()) {
      user.identities.forEach((identity, index) => {
        const password = this.passwords.get(identityKey(identity.provider, identity.user_id));
        if (password === undefined) return;
        if (realm !== undefined && identity.connection !== realm) return;
        const rawEmail = index === 0 ? user.profile.email : identity.profileData?.email;
        const email = typeof rawEmail === 'string' ? rawEmail : undefined;
        const key = identityKey(identity.provider, identity.user_id);
        if (key === username || email?.toLowerCase() === wanted)
          found.push({ user, identity, email, password });
      });
    }
    return found;
  }
}
