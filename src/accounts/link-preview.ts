// linkPreview (DESIGN §15): what linkAccounts with the same input would do now, without doing it.
// The same checks through the same functions as the link (checkLinkRequest, readLinkPair, the
// verified-email policy, planMetadataMerge), the same reads, and no write of any kind: a refusal
// is returned as data, with the code and reason the link would answer.
import { isDeepStrictEqual } from 'node:util';
import { LIST_PAGE_SIZE } from '../auth0/management-api.js';
import {
  PROFILE_DATA_KEYS,
  type WireIdentity,
  type WireOrganization,
  type WireProfileData,
  type WireRole,
  type WireUser,
} from '../auth0/wire.js';
import type { GatewayContext } from '../context.js';
import { GatewayError, type ErrorCode } from '../errors.js';
import type { AuditDraft } from './audit.js';
import type { CarriedOver, OrganizationMembership, Role } from './carried-over.type.js';
import { checkLinkRequest } from './link-accounts.js';
import type { LinkAccountsInput } from './link-accounts.input.js';
import type { LinkRequest } from './link-core.js';
import { enforceVerifiedEmailPolicy, readLinkPair } from './link-policy.js';
import type { LinkPreview } from './link-preview.type.js';
import {
  hasChanges,
  planMetadataMerge,
  type MetadataKind,
  type MetadataMergePlan,
} from './merge-metadata.js';
import { toIdentity } from './to-identity.js';

type Metadata = Record<string, unknown>;

// The errors a link gets from its checks and pre-reads: the caller, the arguments, the policy and
// the two users. Anything else (Auth0 down, the caller's own rate limit) is the preview's own error.
const REFUSAL_CODES: ReadonlySet<ErrorCode> = new Set([
  'BAD_USER_INPUT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
]);

const nothing = (): CarriedOver => ({
  userMetadataKeys: [],
  appMetadataKeys: [],
  roles: [],
  organizations: [],
});

/** Calls one paged read makes for `count` items (every page, at least one). */
export function pagedReadCalls(count: number): number {
  return Math.max(1, Math.ceil(count / LIST_PAGE_SIZE));
}

/** A user's direct roles and organization memberships (each with its member roles), as read. */
export interface RoleHoldings {
  roles: WireRole[];
  organizations: { organization: WireOrganization; roles: WireRole[] }[];
}

/** What carrying roles and memberships from the secondary to the primary would add, and cost. */
export interface CarryOverPlan {
  roles: Role[];
  organizations: OrganizationMembership[];
  /** Reads of both users' roles and memberships, then the writes that add what the primary lacks. */
  calls: number;
}

const toRole = (role: WireRole): Role => ({ id: role.id, name: role.name ?? role.id });
const toMembership = (organization: WireOrganization, roles: WireRole[]): OrganizationMembership => ({
  organizationId: organization.id,
  organizationName: organization.name ?? null,
  roles: roles.map(toRole),
});

/**
 * The carry-over of DESIGN §15 as a plan: the secondary's roles and memberships the primary lacks
 * (a membership it has already carries only its missing member roles), and the Management API calls
 * that costs: every page of each user's roles and memberships and of each read membership's roles,
 * one role assignment, and per organization one member add and one member-role assignment.
 */
export function planCarryOver(
  primary: RoleHoldings,
  secondary: RoleHoldings,
  carry: { roles: boolean; organizations: boolean },
): CarryOverPlan {
  // What is carried is all of the secondary's (the primary ends holding every one, as the link's
  // `carriedOver` says); what costs calls is only what the primary lacks.
  const plan: CarryOverPlan = { roles: [], organizations: [], calls: 0 };
  if (carry.roles) {
    const held = new Set(primary.roles.map((r) => r.id));
    plan.roles = secondary.roles.map(toRole);
    const missing = secondary.roles.filter((r) => !held.has(r.id));
    plan.calls +=
      pagedReadCalls(secondary.roles.length) +
      pagedReadCalls(primary.roles.length) +
      (missing.length ? 1 : 0);
  }
  if (carry.organizations) {
    const primaryMemberships = new Map(primary.organizations.map((m) => [m.organization.id, m.roles]));
    plan.calls +=
      pagedReadCalls(secondary.organizations.length) + pagedReadCalls(primary.organizations.length);
    for (const { organization, roles } of secondary.organizations) {
      plan.organizations.push(toMembership(organization, roles));
      plan.calls += pagedReadCalls(roles.length);
      const primaryRoles = primaryMemberships.get(organization.id);
      if (primaryRoles === undefined) {
        plan.calls += 1 + (roles.length ? 1 : 0);
        continue;
      }
      plan.calls += pagedReadCalls(primaryRoles.length);
      const held = new Set(primaryRoles.map((r) => r.id));
      if (roles.some((r) => !held.has(r.id))) plan.calls += 1;
    }
  }
  return plan;
}

async function readRoleHoldings(
  ctx: GatewayContext,
  userId: string,
  what: { roles: boolean; organizations: boolean },
): Promise<RoleHoldings> {
  const roles = what.roles ? await ctx.auth0.getUserRoles(userId) : [];
  const organizations = what.organizations ? await ctx.auth0.getUserOrganizations(userId) : [];
  return {
    roles,
    organizations: await Promise.all(
      organizations.map(async (organization) => ({
        organization,
        roles: await ctx.auth0.getMemberRoles(organization.id, userId),
      })),
    ),
  };
}

/** The primary's identities once Auth0 has moved the secondary's in (its main one with its profile). */
function identitiesAfterLink(primary: WireUser, secondary: WireUser): WireIdentity[] {
  const [main, ...alreadyLinked] = secondary.identities ?? [];
  const profileData: WireProfileData = Object.fromEntries(
    PROFILE_DATA_KEYS.filter((key) => secondary[key] !== undefined).map((key) => [key, secondary[key]]),
  );
  return [...(primary.identities ?? []), ...(main ? [{ ...main, profileData }] : []), ...alreadyLinked];
}

const metadataOf = (user: WireUser, kind: MetadataKind): Metadata => {
  const value = user[kind];
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {};
};

/** The primary's metadata of `kind` after the merge's PATCH (Auth0 merges the top level; `null` deletes). */
function metadataAfter(primary: WireUser, plan: MetadataMergePlan, kind: MetadataKind): Metadata {
  const after: Metadata = { ...metadataOf(primary, kind) };
  for (const [key, value] of Object.entries(plan.update[kind] ?? {})) {
    if (value === null) delete after[key];
    else after[key] = value;
  }
  return after;
}

/** The secondary's top-level keys of `kind` whose values the primary will not hold after the link. */
function discardedKeys(secondary: Metadata, after: Metadata, merged: readonly string[]): string[] {
  return Object.entries(secondary)
    .filter(([key, value]) => !merged.includes(key) && !isDeepStrictEqual(after[key], value))
    .map(([key]) => key);
}

function refused(error: unknown, auth0Calls: number): LinkPreview {
  if (!(error instanceof GatewayError) || !REFUSAL_CODES.has(error.code)) throw error;
  return {
    allowed: false,
    refusal: { code: error.code, reason: error.reason ?? null, message: error.message },
    identitiesAfter: [],
    userMetadataAfter: null,
    appMetadataAfter: null,
    carriedOver: null,
    discarded: nothing(),
    auth0Calls,
  };
}

/**
 * Calls the link makes before the pair read refuses it. Without a pre-read (jwt mode, or
 * ADMIN_LINK_POLICY=trust, without a merge) Auth0's own answers refuse it: a missing primary is
 * the link call's 404; a missing secondary its 400, which the link reads the primary back after.
 */
function callsBeforePairRefusal(linkReads: boolean, error: unknown): number {
  if (linkReads) return 2;
  return error instanceof GatewayError && error.reason === 'PRIMARY_NOT_FOUND' ? 1 : 2;
}

/** linkPreview: every check and read of linkAccounts with `input`, no write; refusals as data. */
export async function previewLink(
  ctx: GatewayContext,
  primaryId: string,
  input: LinkAccountsInput,
): Promise<LinkPreview> {
  // The audit fields checkLinkRequest fills; a preview writes nothing, so no audit line is written.
  const draft: AuditDraft = { primaryId, mode: null, secondary: null, callerSubject: null };
  let request: LinkRequest;
  try {
    request = await checkLinkRequest(ctx, draft, primaryId, input);
  } catch (error) {
    return refused(error, 0);
  }
  const { secondaryId, mergeKinds } = request;
  // The link reads both users for its policy, its merge, or its undo record (DESIGN §15); the
  // preview always does.
  const undoOn = ctx.undoRecords !== undefined && ctx.config.linkUndoWindowMs > 0;
  const linkReads = request.verifiedEmailPolicy || mergeKinds !== null || undoOn;
  const asked = mergeKinds !== null;
  // Carry-over is an admin-mode input (DESIGN §15); read defensively until the flags are in the schema.
  const flags = (input.admin ?? {}) as { carryRoles?: boolean | null; carryOrganizations?: boolean | null };
  const carry = { roles: flags.carryRoles === true, organizations: flags.carryOrganizations === true };
  const carryAsked = carry.roles || carry.organizations;

  // Read only for the undo record, the link reads the secondary alone (the primary too when the
  // secondary is missing), and a missing user is left to the link call (link-core.ts).
  const undoOnly = undoOn && !request.verifiedEmailPolicy && mergeKinds === null && !carryAsked;
  let read: Awaited<ReturnType<typeof readLinkPair>>;
  try {
    read = await readLinkPair(ctx, primaryId, secondaryId, request.secondaryField ?? 'secondaryId');
  } catch (error) {
    if (!undoOnly) return refused(error, callsBeforePairRefusal(linkReads, error));
    if (error instanceof GatewayError && error.reason === 'PRIMARY_NOT_FOUND') {
      // The secondary there: its read and its undo reads, then the link call's 404. Both missing:
      // the two reads and the link call.
      const holdings = await readRoleHoldings(ctx, secondaryId, { roles: true, organizations: true }).catch(
        () => null,
      );
      return refused(error, holdings ? 1 + undoReadCalls(holdings, carry) + 1 : 3);
    }
    // The secondary is missing: it and the primary are read, then the link call and its read-back.
    return refused(error, 2 + callsBeforePairRefusal(false, error));
  }
  if ('linked' in read) {
    // A repeated link: it answers success with nothing merged or carried again. Without a
    // pre-read, Auth0 refuses the link call and the primary read back shows it made.
    return {
      allowed: true,
      refusal: null,
      identitiesAfter: (read.linked.identities ?? []).map(toIdentity),
      userMetadataAfter: mergeKinds?.includes('user_metadata')
        ? metadataOf(read.linked, 'user_metadata')
        : null,
      appMetadataAfter: mergeKinds?.includes('app_metadata') ? metadataOf(read.linked, 'app_metadata') : null,
      carriedOver: asked || carryAsked ? nothing() : null,
      discarded: nothing(),
      auth0Calls: 2,
    };
  }
  const [primary, secondary] = read.pair;
  if (request.verifiedEmailPolicy) {
    try {
      enforceVerifiedEmailPolicy(primary, secondary);
    } catch (error) {
      return refused(error, 2);
    }
  }

  const plan = planMetadataMerge(primary, secondary, mergeKinds ?? []);
  const userAfter = metadataAfter(primary, plan, 'user_metadata');
  const appAfter = metadataAfter(primary, plan, 'app_metadata');

  const secondaryHoldings = await readRoleHoldings(ctx, secondaryId, { roles: true, organizations: true });
  const primaryHoldings = carryAsked
    ? await readRoleHoldings(ctx, primaryId, carry)
    : { roles: [], organizations: [] };
  const carried = planCarryOver(primaryHoldings, secondaryHoldings, carry);

  return {
    allowed: true,
    refusal: null,
    identitiesAfter: identitiesAfterLink(primary, secondary).map(toIdentity),
    userMetadataAfter: mergeKinds?.includes('user_metadata') ? userAfter : null,
    appMetadataAfter: mergeKinds?.includes('app_metadata') ? appAfter : null,
    carriedOver:
      asked || carryAsked
        ? {
            userMetadataKeys: plan.keys.userMetadataKeys,
            appMetadataKeys: plan.keys.appMetadataKeys,
            roles: carried.roles,
            organizations: carried.organizations,
          }
        : null,
    discarded: {
      userMetadataKeys: discardedKeys(
        metadataOf(secondary, 'user_metadata'),
        userAfter,
        plan.keys.userMetadataKeys,
      ),
      appMetadataKeys: discardedKeys(
        metadataOf(secondary, 'app_metadata'),
        appAfter,
        plan.keys.appMetadataKeys,
      ),
      roles: carry.roles ? [] : secondaryHoldings.roles.map(toRole),
      organizations: carry.organizations
        ? []
        : secondaryHoldings.organizations.map((m) => toMembership(m.organization, m.roles)),
    },
    auth0Calls:
      (undoOnly ? 1 : linkReads ? 2 : 0) +
      (hasChanges(plan) ? 1 : 0) +
      carried.calls +
      (undoOn ? undoReadCalls(secondaryHoldings, carry) : 0) +
      1,
  };
}

/**
 * The reads the link adds for its undo record (DESIGN §15): the secondary's roles and memberships
 * (each membership's roles) that its carry-over does not already read.
 */
function undoReadCalls(secondary: RoleHoldings, carry: { roles: boolean; organizations: boolean }): number {
  let calls = 0;
  if (!carry.roles) calls += pagedReadCalls(secondary.roles.length);
  if (!carry.organizations) {
    calls += pagedReadCalls(secondary.organizations.length);
    for (const { roles } of secondary.organizations) calls += pagedReadCalls(roles.length);
  }
  return calls;
}
