// Roles, organizations, members and member roles as Auth0's Management API serves them: the
// scopes of each operation's security requirement in Auth0's OpenAPI document, its paging
// (`page`/`per_page`/`include_totals`, and `from`/`take` where the route has it) and its errors.
import type { EmulatorContext } from './context.js';
import { fail, type ParsedBody, type Reply } from './http.js';
import {
  authenticate,
  insufficientScope,
  payloadError,
  primaryOrFail,
  typeName,
  type Caller,
  type ManagementRequest,
} from './management-routes.js';
import type { StoredOrganization, StoredUser } from './state.js';
import type { SeedRole } from './types.js';

const NO_CONTENT: Reply = { status: 204, body: undefined, text: '' };

function requireAny(caller: Caller, scopes: string[]): void {
  if (!scopes.some((s) => caller.scopes.has(s))) insufficientScope(scopes);
}

/** Auth0's "expected all of" refusal (GET /users/{id}/roles). */
function requireAll(caller: Caller, scopes: string[]): void {
  if (!scopes.every((s) => caller.scopes.has(s))) {
    fail(403, `Insufficient scope, expected all of: ${scopes.join(',')}`, 'insufficient_scope');
  }
}

function organizationOrFail(ctx: EmulatorContext, organizationId: string): StoredOrganization {
  const organization = ctx.state.organization(organizationId);
  if (!organization) fail(404, 'No organization found by that id.');
  return organization;
}

// ---- paging ----

function queryError(detail: string, property: string): never {
  fail(400, `Query validation error: '${detail}' on property ${property}.`, 'invalid_query_string');
}

function integerParam(
  query: Record<string, string>,
  name: string,
  min: number,
  max?: number,
): number | undefined {
  const raw = query[name];
  if (raw === undefined) return undefined;
  if (!/^-?\d+$/.test(raw)) queryError('Expected type integer but found type string', name);
  const value = Number(raw);
  if (value < min) queryError(`Value ${value} is less than minimum ${min}`, name);
  if (max !== undefined && value > max) queryError(`Value ${value} is greater than maximum ${max}`, name);
  return value;
}

interface Paging {
  /** The route's highest `page` (1000 where the document says so). */
  maxPageIndex?: number;
  /** The route accepts Auth0's checkpoint paging (`from`, `take`). */
  checkpoint?: boolean;
}

/**
 * One page of `items` as Auth0 answers it: a bare array; with `include_totals=true`
 * `{ start, limit, total, <key> }`; with `from`/`take` (checkpoint routes) `{ <key>, next? }`,
 * where `next` is the `from` of the following page and is absent on the last one, as Auth0
 * documents (the document's oneOf cannot tell such a last page from an offset page). Unconfirmed:
 * chose the id of the next page's first item as `next` (Auth0's is opaque) and `from` as inclusive.
 */
function page<T>(
  query: Record<string, string>,
  key: string,
  items: T[],
  idOf: (item: T) => string,
  paging: Paging = {},
): unknown {
  const { maxPageIndex, checkpoint = false } = paging;
  if (checkpoint && (query.from !== undefined || query.take !== undefined)) {
    const take = integerParam(query, 'take', 1, 100) ?? 50;
    let start = 0;
    if (query.from !== undefined) {
      start = items.findIndex((item) => idOf(item) === query.from);
      if (start < 0) queryError(`No item with id ${query.from}`, 'from');
    }
    const slice = items.slice(start, start + take);
    const next = items[start + take];
    return { [key]: slice, ...(next === undefined ? {} : { next: idOf(next) }) };
  }
  const perPage = integerParam(query, 'per_page', 1, 100) ?? 50;
  const index = integerParam(query, 'page', 0, maxPageIndex) ?? 0;
  const slice = items.slice(index * perPage, (index + 1) * perPage);
  if (query.include_totals === 'true') {
    return { start: index * perPage, limit: perPage, total: items.length, [key]: slice };
  }
  return slice;
}

// ---- bodies ----

/** `{ <key>: [non-empty strings, at least one] }`, as the document's request schemas have it. */
function idListBody(body: ParsedBody, key: string, extraKeysAllowed: boolean): string[] {
  if (body.kind === 'invalid') fail(400, 'Invalid request body', 'invalid_body');
  const value = body.kind === 'none' ? {} : body.value;
  if (typeName(value) !== 'object') payloadError(`Expected type object but found type ${typeName(value)}`);
  const fields = value as Record<string, unknown>;
  const extra = Object.keys(fields).filter((k) => k !== key);
  if (!extraKeysAllowed && extra.length > 0)
    payloadError(`Additional properties not allowed: ${extra.join(',')}`);
  const list = fields[key];
  if (list === undefined) payloadError(`Missing required property: ${key}`);
  if (!Array.isArray(list)) payloadError(`Expected type array but found type ${typeName(list)}`, key);
  if (list.length < 1) payloadError(`Array is too short (0), minimum 1`, key);
  list.forEach((item, i) => {
    if (typeof item !== 'string')
      payloadError(`Expected type string but found type ${typeName(item)}`, `${key}[${i}]`);
    if (item.length < 1) payloadError('String is too short (0 chars), minimum 1', `${key}[${i}]`);
  });
  return [...new Set(list as string[])];
}

/** The text Auth0 uses when an invitation names roles that do not exist (unconfirmed for these routes). */
function rolesOrFail(ctx: EmulatorContext, roleIds: string[]): void {
  const unknown = roleIds.filter((id) => !ctx.state.role(id));
  if (unknown.length > 0) fail(400, `One or more of the specified roles do not exist: ${unknown.join(', ')}`);
}

// ---- wire shapes ----

/** `Role`: its additionalProperties is false, so only these three keys. */
function toWireRole(role: SeedRole): Record<string, unknown> {
  return {
    id: role.id,
    name: role.name,
    ...(role.description === undefined ? {} : { description: role.description }),
  };
}

/** `Organization`: the keys the emulator knows, whatever else a seed carried. */
function toWireOrganization(organization: StoredOrganization): Record<string, unknown> {
  const { id, name, display_name: displayName, branding, metadata } = organization;
  return {
    id,
    name,
    ...(displayName === undefined ? {} : { display_name: displayName }),
    ...(branding === undefined ? {} : { branding: structuredClone(branding) }),
    ...(metadata === undefined ? {} : { metadata: { ...metadata } }),
  };
}

/** `OrganizationMember`; `roles` only when asked for with `fields=roles`. */
function toWireMember(ctx: EmulatorContext, organizationId: string, user: StoredUser, withRoles: boolean) {
  const { email, name, picture } = user.profile;
  return {
    user_id: user.user_id,
    ...(typeof email === 'string' ? { email } : {}),
    ...(typeof picture === 'string' ? { picture } : {}),
    ...(typeof name === 'string' ? { name } : {}),
    ...(withRoles
      ? {
          roles: ctx.state.memberRoles(organizationId, user.user_id).map((r) => ({ id: r.id, name: r.name })),
        }
      : {}),
  };
}

// ---- /api/v2/roles ----

export async function handleListRoles(ctx: EmulatorContext, request: ManagementRequest): Promise<Reply> {
  const caller = await authenticate(ctx, request.authorization);
  requireAny(caller, ['read:roles']);
  const filter = request.query.name_filter?.toLowerCase();
  const roles = ctx.state
    .roles()
    .filter((r) => filter === undefined || r.name.toLowerCase().includes(filter));
  return { status: 200, body: page(request.query, 'roles', roles.map(toWireRole), (r) => String(r.id)) };
}

// ---- /api/v2/organizations ----

export async function handleListOrganizations(
  ctx: EmulatorContext,
  request: ManagementRequest,
): Promise<Reply> {
  const caller = await authenticate(ctx, request.authorization);
  requireAny(caller, ['read:organizations', 'read:organizations_summary']);
  const organizations = ctx.state.organizations().map(toWireOrganization);
  return {
    status: 200,
    body: page(request.query, 'organizations', organizations, (o) => String(o.id), {
      maxPageIndex: 1000,
      checkpoint: true,
    }),
  };
}

// ---- /api/v2/users/{id}/roles ----

export async function handleGetUserRoles(ctx: EmulatorContext, request: ManagementRequest): Promise<Reply> {
  const caller = await authenticate(ctx, request.authorization);
  // The document's 403 for this route reads "expected all of: read:users, read:roles, read:role_members".
  requireAll(caller, ['read:users', 'read:roles', 'read:role_members']);
  const user = primaryOrFail(ctx, request.segments[1]);
  const roles = ctx.state.rolesOfUser(user.user_id).map(toWireRole);
  return { status: 200, body: page(request.query, 'roles', roles, (r) => String(r.id)) };
}

export async function handleAssignUserRoles(
  ctx: EmulatorContext,
  request: ManagementRequest,
): Promise<Reply> {
  const caller = await authenticate(ctx, request.authorization);
  requireAny(caller, ['update:users', 'create:role_members']);
  const roleIds = idListBody(request.body, 'roles', false);
  // The document lists no 404 here; an unknown user answers as on the other user routes (unconfirmed).
  const user = primaryOrFail(ctx, request.segments[1]);
  rolesOrFail(ctx, roleIds);
  ctx.state.assignUserRoles(user.user_id, roleIds);
  return NO_CONTENT;
}

export async function handleRemoveUserRoles(
  ctx: EmulatorContext,
  request: ManagementRequest,
): Promise<Reply> {
  const caller = await authenticate(ctx, request.authorization);
  requireAny(caller, ['update:users', 'delete:role_members']);
  const roleIds = idListBody(request.body, 'roles', false);
  const user = primaryOrFail(ctx, request.segments[1]);
  // Removing a role the user does not have is a no-op (unconfirmed: chose 204, not an error).
  ctx.state.removeUserRoles(user.user_id, roleIds);
  return NO_CONTENT;
}

// ---- /api/v2/users/{id}/organizations ----

export async function handleGetUserOrganizations(
  ctx: EmulatorContext,
  request: ManagementRequest,
): Promise<Reply> {
  const caller = await authenticate(ctx, request.authorization);
  // The operation's security names read:organizations (its 403 text adds read:users; unconfirmed).
  requireAny(caller, ['read:organizations']);
  const user = primaryOrFail(ctx, request.segments[1]);
  const organizations = ctx.state.organizationsOfUser(user.user_id).map(toWireOrganization);
  return {
    status: 200,
    body: page(request.query, 'organizations', organizations, (o) => String(o.id), { maxPageIndex: 1000 }),
  };
}

// ---- /api/v2/organizations/{id}/members ----

export async function handleGetOrganizationMembers(
  ctx: EmulatorContext,
  request: ManagementRequest,
): Promise<Reply> {
  const caller = await authenticate(ctx, request.authorization);
  requireAny(caller, ['read:organization_members']);
  const fields = (request.query.fields ?? '').split(',').map((f) => f.trim());
  const withRoles = fields.includes('roles') && request.query.include_fields !== 'false';
  if (withRoles) requireAny(caller, ['read:organization_member_roles']);
  // The document lists no 404 for the member routes; Auth0's text for an unknown organization
  // elsewhere is "No organization found by that id." (unconfirmed here).
  const organization = organizationOrFail(ctx, request.segments[1]);
  const members = ctx.state
    .memberIds(organization.id)
    .map((id) => toWireMember(ctx, organization.id, ctx.state.user(id)!, withRoles));
  return {
    status: 200,
    body: page(request.query, 'members', members, (m) => m.user_id, { maxPageIndex: 1000, checkpoint: true }),
  };
}

function existingUsersOrFail(ctx: EmulatorContext, userIds: string[]): void {
  const unknown = userIds.filter((id) => !ctx.state.user(id));
  // Unconfirmed: chose a 400 naming the users, as for unknown roles.
  if (unknown.length > 0) fail(400, `One or more of the specified users do not exist: ${unknown.join(', ')}`);
}

export async function handleAddOrganizationMembers(
  ctx: EmulatorContext,
  request: ManagementRequest,
): Promise<Reply> {
  const caller = await authenticate(ctx, request.authorization);
  requireAny(caller, ['create:organization_members']);
  const userIds = idListBody(request.body, 'members', true);
  const organization = organizationOrFail(ctx, request.segments[1]);
  existingUsersOrFail(ctx, userIds);
  ctx.state.addMembers(organization.id, userIds);
  return NO_CONTENT;
}

export async function handleRemoveOrganizationMembers(
  ctx: EmulatorContext,
  request: ManagementRequest,
): Promise<Reply> {
  const caller = await authenticate(ctx, request.authorization);
  requireAny(caller, ['delete:organization_members']);
  const userIds = idListBody(request.body, 'members', true);
  const organization = organizationOrFail(ctx, request.segments[1]);
  ctx.state.removeMembers(organization.id, userIds);
  return NO_CONTENT;
}

// ---- /api/v2/organizations/{id}/members/{user_id}/roles ----

function membershipOrFail(ctx: EmulatorContext, request: ManagementRequest): { org: string; user: string } {
  const organization = organizationOrFail(ctx, request.segments[1]);
  const user = primaryOrFail(ctx, request.segments[3]);
  // Unconfirmed: chose 404 for a user who is not a member of the organization.
  if (!ctx.state.isMember(organization.id, user.user_id))
    fail(404, 'The user is not a member of the organization.');
  return { org: organization.id, user: user.user_id };
}

export async function handleGetMemberRoles(ctx: EmulatorContext, request: ManagementRequest): Promise<Reply> {
  const caller = await authenticate(ctx, request.authorization);
  requireAny(caller, ['read:organization_member_roles']);
  const { org, user } = membershipOrFail(ctx, request);
  const roles = ctx.state.memberRoles(org, user).map(toWireRole);
  return {
    status: 200,
    body: page(request.query, 'roles', roles, (r) => String(r.id), { maxPageIndex: 1000 }),
  };
}

export async function handleAssignMemberRoles(
  ctx: EmulatorContext,
  request: ManagementRequest,
): Promise<Reply> {
  const caller = await authenticate(ctx, request.authorization);
  requireAny(caller, ['create:organization_member_roles']);
  const roleIds = idListBody(request.body, 'roles', false);
  const { org, user } = membershipOrFail(ctx, request);
  rolesOrFail(ctx, roleIds);
  ctx.state.assignMemberRoles(org, user, roleIds);
  return NO_CONTENT;
}

export async function handleRemoveMemberRoles(
  ctx: EmulatorContext,
  request: ManagementRequest,
): Promise<Reply> {
  const caller = await authenticate(ctx, request.authorization);
  requireAny(caller, ['delete:organization_member_roles']);
  const roleIds = idListBody(request.body, 'roles', false);
  const { org, user } = membershipOrFail(ctx, request);
  ctx.state.removeMemberRoles(org, user, roleIds);
  return NO_CONTENT;
}
