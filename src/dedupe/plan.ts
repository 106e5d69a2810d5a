// The dedupe plan (DESIGN §16): which users share a verified email, and which of each group stays
// primary. Pure: the same users and rule give the same plan, byte for byte, whatever order the
// tenant listed them in.
import type { WireUser } from '../auth0/wire.js';

/** What the plan needs of a user; the rest of the profile is dropped as soon as it is read. */
export interface TenantUser {
  userId: string;
  email: string | null;
  emailVerified: boolean;
  createdAt: string | null;
  loginsCount: number | null;
  lastLogin: string | null;
  /** The connection of the user's main identity (`identities[0]`). */
  connection: string | null;
}

/** `--primary`: which user of a group the others are linked into. */
export type PrimaryRule =
  | { kind: 'oldest' }
  | { kind: 'most-logins' }
  | { kind: 'last-login' }
  | { kind: 'connection'; connection: string };

export interface PlanGroup {
  /** The group's email, lowercased. */
  email: string;
  primary: string;
  /** Ascending by user id. */
  secondaries: string[];
  /** Why this user is the primary, in words and figures (`oldest: created_at 2020-01-01T…`). */
  reason: string;
}

export interface DedupePlan {
  version: 1;
  /** The tenant read (`AUTH0_DOMAIN`'s origin): apply refuses a plan of another tenant. */
  tenant: string;
  primaryRule: string;
  /** How the users were read: `users-list` (paged, ≤ 1000 users) or `users-export` (the export job). */
  source: 'users-list' | 'users-export';
  groups: PlanGroup[];
  totals: {
    users: number;
    /** Users left out of grouping because their email is not verified (or absent). */
    unverifiedUsers: number;
    groups: number;
    links: number;
  };
  /**
   * What the apply will cost at the tenant's budget, without `--merge-metadata` or carry-over, for
   * secondaries without organization memberships.
   */
  estimate: {
    auth0Calls: number;
    /** AUTH0_RATE_LIMIT's sustained rate; null when the budget is learned from Auth0's headers. */
    callsPerSecond: number | null;
    seconds: number | null;
  };
}

/**
 * Management API calls one pair costs in `apply`: the re-check reads both users, then the link.
 * `--merge-metadata` adds the core's own reads of both and one PATCH.
 */
export const CALLS_PER_LINK = 3;

/**
 * With the undo window on (LINK_UNDO_WINDOW > 0, the default), the calls the link core adds for
 * the undo record (DESIGN §15): the secondary read again, its roles and its memberships (one page
 * each when it has few; one more per membership, for its roles).
 */
export const UNDO_RECORD_CALLS = 3;

export function parsePrimaryRule(value: string): PrimaryRule | null {
  if (value === 'oldest' || value === 'most-logins' || value === 'last-login') return { kind: value };
  if (value.startsWith('connection:') && value.length > 'connection:'.length) {
    return { kind: 'connection', connection: value.slice('connection:'.length) };
  }
  return null;
}

export function formatPrimaryRule(rule: PrimaryRule): string {
  return rule.kind === 'connection' ? `connection:${rule.connection}` : rule.kind;
}

const asString = (value: unknown): string | null =>
  typeof value === 'string' && value !== '' ? value : null;

/** The plan's view of a user from `GET /api/v2/users` or a line of the export file. */
export function toTenantUser(raw: WireUser | Record<string, unknown>): TenantUser | null {
  const userId = asString(raw.user_id);
  if (userId === null) return null;
  const identities = Array.isArray(raw.identities) ? (raw.identities as unknown[]) : [];
  const main = identities[0] as Record<string, unknown> | undefined;
  return {
    userId,
    email: asString(raw.email),
    emailVerified: raw.email_verified === true,
    createdAt: asString(raw.created_at),
    loginsCount: typeof raw.logins_count === 'number' ? raw.logins_count : null,
    lastLogin: asString(raw.last_login),
    connection: main ? asString(main.connection) : null,
  };
}

// Code-unit order, not the locale's: the plan must not depend on the machine that wrote it.
const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Oldest first (a missing created_at last), then the smaller user id. */
function byAge(a: TenantUser, b: TenantUser): number {
  if (a.createdAt !== b.createdAt) {
    if (a.createdAt === null) return 1;
    if (b.createdAt === null) return -1;
    const order = Date.parse(a.createdAt) - Date.parse(b.createdAt);
    if (order !== 0 && !Number.isNaN(order)) return order;
    const text = byText(a.createdAt, b.createdAt);
    if (text !== 0) return text;
  }
  return byText(a.userId, b.userId);
}

function pickPrimary(users: TenantUser[], rule: PrimaryRule): { primary: TenantUser; reason: string } {
  const oldest = [...users].sort(byAge);
  const tieNote = (winner: TenantUser, key: (u: TenantUser) => unknown) =>
    users.filter((u) => u !== winner && key(u) === key(winner)).length > 0
      ? '; tie: the older, then the smaller user_id'
      : '';
  switch (rule.kind) {
    case 'oldest': {
      const primary = oldest[0];
      return {
        primary,
        reason: `oldest: created_at ${primary.createdAt ?? 'unknown'}${tieNote(primary, (u) => u.createdAt)}`,
      };
    }
    case 'most-logins': {
      const primary = [...oldest].sort((a, b) => (b.loginsCount ?? 0) - (a.loginsCount ?? 0))[0];
      return {
        primary,
        reason: `most-logins: ${primary.loginsCount ?? 0} logins${tieNote(primary, (u) => u.loginsCount ?? 0)}`,
      };
    }
    case 'last-login': {
      // Users who never logged in come last; the sort is stable over the age order.
      const primary = [...oldest].sort((a, b) => byText(b.lastLogin ?? '', a.lastLogin ?? ''))[0];
      return {
        primary,
        reason: `last-login: ${primary.lastLogin ?? 'never'}${tieNote(primary, (u) => u.lastLogin)}`,
      };
    }
    case 'connection': {
      const on = oldest.filter((u) => u.connection === rule.connection);
      if (on.length === 0) {
        const primary = oldest[0];
        return {
          primary,
          reason: `connection:${rule.connection}: no user of the group on it; oldest: created_at ${primary.createdAt ?? 'unknown'}`,
        };
      }
      return {
        primary: on[0],
        reason: `connection:${rule.connection}${on.length > 1 ? `: ${on.length} on it; the oldest` : ''}`,
      };
    }
  }
}

export interface BuildPlanOptions {
  tenant: string;
  rule: PrimaryRule;
  source: DedupePlan['source'];
  /** AUTH0_RATE_LIMIT's sustained calls per second, for the estimate; null when learned. */
  callsPerSecond: number | null;
  /** Whether each link keeps an undo record (LINK_UNDO_WINDOW > 0): its reads are in the estimate. */
  undoRecords?: boolean;
}

/**
 * Groups users by lowercased email where `email_verified` is true (an unverified email proves
 * nothing about who owns the account, so it is never grouped), and picks each group's primary.
 * A user id seen twice (a page read while the tenant changed) counts once.
 */
export function buildPlan(users: Iterable<TenantUser>, options: BuildPlanOptions): DedupePlan {
  const byId = new Map<string, TenantUser>();
  for (const user of users) byId.set(user.userId, user);
  const byEmail = new Map<string, TenantUser[]>();
  let unverifiedUsers = 0;
  for (const user of byId.values()) {
    if (!user.emailVerified || user.email === null) {
      unverifiedUsers += 1;
      continue;
    }
    const email = user.email.toLowerCase();
    const group = byEmail.get(email);
    if (group) group.push(user);
    else byEmail.set(email, [user]);
  }
  const groups: PlanGroup[] = [];
  for (const email of [...byEmail.keys()].sort(byText)) {
    const members = byEmail.get(email)!;
    if (members.length < 2) continue;
    const { primary, reason } = pickPrimary(members, options.rule);
    const secondaries = members
      .filter((u) => u !== primary)
      .map((u) => u.userId)
      .sort(byText);
    groups.push({ email, primary: primary.userId, secondaries, reason });
  }
  const links = groups.reduce((sum, g) => sum + g.secondaries.length, 0);
  const auth0Calls = links * (CALLS_PER_LINK + (options.undoRecords ? UNDO_RECORD_CALLS : 0));
  return {
    version: 1,
    tenant: options.tenant,
    primaryRule: formatPrimaryRule(options.rule),
    source: options.source,
    groups,
    totals: { users: byId.size, unverifiedUsers, groups: groups.length, links },
    estimate: {
      auth0Calls,
      callsPerSecond: options.callsPerSecond,
      seconds: options.callsPerSecond ? Math.ceil(auth0Calls / options.callsPerSecond) : null,
    },
  };
}

/** The plan file's bytes: two-space JSON and a final newline, so equal plans are equal files. */
export function serializePlan(plan: DedupePlan): string {
  return `${JSON.stringify(plan, null, 2)}\n`;
}

/** Reads a plan file's JSON, checking the parts `apply` relies on; throws a message naming what is wrong. */
export function parsePlan(text: string): DedupePlan {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error('the plan is not JSON');
  }
  const plan = value as Partial<DedupePlan> | null;
  if (!plan || typeof plan !== 'object' || plan.version !== 1)
    throw new Error('the plan has no "version": 1');
  if (typeof plan.tenant !== 'string') throw new Error('the plan has no "tenant"');
  if (!Array.isArray(plan.groups)) throw new Error('the plan has no "groups"');
  plan.groups.forEach((group: Partial<PlanGroup>, i) => {
    if (
      !group ||
      typeof group.email !== 'string' ||
      typeof group.primary !== 'string' ||
      !Array.isArray(group.secondaries) ||
      !group.secondaries.every((s) => typeof s === 'string' && s !== group.primary)
    ) {
      throw new Error(
        `groups[${i}] needs "email", "primary" and "secondaries" (user ids other than the primary)`,
      );
    }
  });
  return plan as DedupePlan;
}
