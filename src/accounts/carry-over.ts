// Carry-over (DESIGN §15): Auth0 drops the secondary's directly assigned roles and its organization
// memberships when it links it. Before the link, under the primary's lock, the secondary's are read
// and the primary is given those it lacks; when the link is known not to have happened, exactly
// what this request added is removed again.
import { unclearWriteKind } from '../auth0/call-pipeline.js';
import type { WireRole } from '../auth0/wire.js';
import { ConflictError } from '../errors.js';
import type { HeldWriterLock } from '../shared-state/shared-state.js';
import type { AccountWriteContext } from './write-context.js';

/** What a link is asked to carry (admin mode's `carryRoles`, `carryOrganizations`). */
export interface CarryKinds {
  roles: boolean;
  organizations: boolean;
}

export interface CarriedRole {
  id: string;
  name: string;
}

export interface CarriedMembership {
  organizationId: string;
  organizationName: string | null;
  roles: CarriedRole[];
}

/** Role and membership writes, as ids: what a carry-over adds to the primary, or has added. */
export interface CarryWrites {
  /** Roles assigned to the primary directly. */
  roleIds: string[];
  /** Organizations the primary was made a member of (removing the membership drops its roles). */
  organizationIds: string[];
  /** Roles given to a membership of the primary, per organization (new memberships included). */
  memberRoles: { organizationId: string; roleIds: string[] }[];
}

/** One carry-over, read and ready to send. */
export interface CarryOverPlan {
  /** The secondary's roles and memberships the link carries (what the payload lists). */
  roles: CarriedRole[];
  organizations: CarriedMembership[];
  /** The part of them the primary lacks: the writes to make. */
  writes: CarryWrites;
}

const toRole = (role: WireRole): CarriedRole => ({ id: role.id, name: role.name ?? role.id });

/** Whether a carry-over writes nothing (the primary already holds all of it). */
export function isEmptyCarry(writes: CarryWrites): boolean {
  return (
    writes.roleIds.length === 0 && writes.organizationIds.length === 0 && writes.memberRoles.length === 0
  );
}

/**
 * Reads what the secondary holds of the kinds asked (every page) and what the primary already holds
 * of it, and plans the writes that give the primary the rest. Reads only; errors are the reads'.
 */
export async function planCarryOver(
  ctx: Pick<AccountWriteContext, 'auth0'>,
  primaryId: string,
  secondaryId: string,
  kinds: CarryKinds,
): Promise<CarryOverPlan> {
  const plan: CarryOverPlan = {
    roles: [],
    organizations: [],
    writes: { roleIds: [], organizationIds: [], memberRoles: [] },
  };
  if (kinds.roles) {
    const [theirs, mine] = await Promise.all([
      ctx.auth0.getUserRoles(secondaryId),
      ctx.auth0.getUserRoles(primaryId),
    ]);
    const held = new Set(mine.map((role) => role.id));
    plan.roles = theirs.map(toRole);
    plan.writes.roleIds = plan.roles.map((role) => role.id).filter((id) => !held.has(id));
  }
  if (kinds.organizations) {
    const [theirs, mine] = await Promise.all([
      ctx.auth0.getUserOrganizations(secondaryId),
      ctx.auth0.getUserOrganizations(primaryId),
    ]);
    const member = new Set(mine.map((organization) => organization.id));
    for (const organization of theirs) {
      const roles = (await ctx.auth0.getMemberRoles(organization.id, secondaryId)).map(toRole);
      plan.organizations.push({
        organizationId: organization.id,
        organizationName: organization.name ?? null,
        roles,
      });
      let missing = roles.map((role) => role.id);
      if (member.has(organization.id)) {
        // Only an existing membership's roles are worth reading: a new one has none.
        if (missing.length > 0) {
          const held = new Set(
            (await ctx.auth0.getMemberRoles(organization.id, primaryId)).map((role) => role.id),
          );
          missing = missing.filter((id) => !held.has(id));
        }
      } else {
        plan.writes.organizationIds.push(organization.id);
      }
      if (missing.length > 0)
        plan.writes.memberRoles.push({ organizationId: organization.id, roleIds: missing });
    }
  }
  return plan;
}

/** The writes `applyCarryOver` sent (or may have sent), so that they can be removed again. */
export interface CarryProgress {
  added: CarryWrites;
  /** A write went unanswered: Auth0 may still apply it after any removal. */
  unanswered: boolean;
}

const emptyWrites = (): CarryWrites => ({ roleIds: [], organizationIds: [], memberRoles: [] });

/** The error of a carry-over write stopped by a lost lock; nothing more is written. */
function lockLost(write: string): ConflictError {
  return new ConflictError(
    `The gateway lost its lock on this primary before the ${write} and stopped there: roles, memberships or merged metadata keys it added may remain on the primary. Read the user, then retry.`,
    { reason: 'PRIMARY_BUSY' },
  );
}

/**
 * Gives the primary what the plan says it lacks: its roles, then its memberships, then the
 * memberships' roles. Each write checks the lock first. `progress.added` holds every write that was
 * made or may have been made (a 5xx may have applied), so a failure can remove exactly those: the
 * plan holds only what the primary lacked, so removing one never takes away what it had.
 */
export async function applyCarryOver(
  ctx: Pick<AccountWriteContext, 'auth0'>,
  lock: HeldWriterLock,
  primaryId: string,
  writes: CarryWrites,
  progress: CarryProgress,
): Promise<void> {
  const send = async (write: string, record: () => void, forget: () => void, call: () => Promise<void>) => {
    if (lock.signal.aborted) throw lockLost(write);
    record();
    try {
      await call();
    } catch (error) {
      const unclear = unclearWriteKind(error);
      // Refused: Auth0 changed nothing. Not answered: it may apply it after any removal.
      if (unclear !== 'answered') forget();
      if (unclear === 'unanswered') progress.unanswered = true;
      throw error;
    }
  };
  const { added } = progress;
  if (writes.roleIds.length > 0) {
    await send(
      'role carry-over',
      () => added.roleIds.push(...writes.roleIds),
      () => (added.roleIds = []),
      () => ctx.auth0.assignUserRoles(primaryId, writes.roleIds),
    );
  }
  for (const organizationId of writes.organizationIds) {
    await send(
      'membership carry-over',
      () => added.organizationIds.push(organizationId),
      () => added.organizationIds.pop(),
      () => ctx.auth0.addOrganizationMembers(organizationId, [primaryId]),
    );
  }
  for (const { organizationId, roleIds } of writes.memberRoles) {
    await send(
      'membership role carry-over',
      () => added.memberRoles.push({ organizationId, roleIds }),
      () => added.memberRoles.pop(),
      () => ctx.auth0.assignMemberRoles(organizationId, primaryId, roleIds),
    );
  }
}

/** A fresh progress record for `applyCarryOver`. */
export function newCarryProgress(): CarryProgress {
  return { added: emptyWrites(), unanswered: false };
}

/**
 * Removes what a carry-over added, when the link is known not to have happened or is undone: the roles of
 * memberships the primary already had, the memberships it was given (their roles go with them),
 * and its directly assigned roles. Never once the lock may be lost. Best effort: `false` when a
 * removal failed or was not tried (logged with the ids, at error level).
 */
export async function removeCarried(
  ctx: Pick<AccountWriteContext, 'auth0' | 'logger'>,
  lock: HeldWriterLock,
  primaryId: string,
  added: CarryWrites,
): Promise<boolean> {
  const newMembership = new Set(added.organizationIds);
  try {
    for (const { organizationId, roleIds } of added.memberRoles) {
      if (newMembership.has(organizationId)) continue;
      if (lock.signal.aborted) throw lockLost('carry-over removal');
      await ctx.auth0.removeMemberRoles(organizationId, primaryId, roleIds);
    }
    for (const organizationId of added.organizationIds) {
      if (lock.signal.aborted) throw lockLost('carry-over removal');
      await ctx.auth0.removeOrganizationMembers(organizationId, [primaryId]);
    }
    if (added.roleIds.length > 0) {
      if (lock.signal.aborted) throw lockLost('carry-over removal');
      await ctx.auth0.removeUserRoles(primaryId, added.roleIds);
    }
    return true;
  } catch (error) {
    ctx
      .logger()
      .error(
        { err: error, primaryId, roleIds: added.roleIds, organizationIds: added.organizationIds },
        'could not remove the roles and memberships carried over (a link that did not happen, or undoLink): they may stay',
      );
    return false;
  }
}

/**
 * The secondary's own roles and memberships (with each membership's roles), every page, of the
 * kinds asked: what undoLink gives back to it (DESIGN §15). Reads only.
 */
export async function readHoldings(
  ctx: Pick<AccountWriteContext, 'auth0'>,
  userId: string,
  kinds: CarryKinds,
): Promise<{ roles: CarriedRole[]; organizations: CarriedMembership[] }> {
  const roles = kinds.roles ? (await ctx.auth0.getUserRoles(userId)).map(toRole) : [];
  const organizations: CarriedMembership[] = [];
  if (kinds.organizations) {
    for (const organization of await ctx.auth0.getUserOrganizations(userId)) {
      organizations.push({
        organizationId: organization.id,
        organizationName: organization.name ?? null,
        roles: (await ctx.auth0.getMemberRoles(organization.id, userId)).map(toRole),
      });
    }
  }
  return { roles, organizations };
}
