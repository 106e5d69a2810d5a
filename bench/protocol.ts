// Messages between the benchmark (parent) and the emulator host (child process, IPC channel).
import type { RateLimit, RatePlan } from '../src/auth0-emulator/index.js';

/** Seeded bench users: secondaries are linked into primaries `i % primaries`, sharing its email. */
export interface BenchTenantShape {
  primaries: number;
  secondaries: number;
  /** Instead of the linking tenant above: a tenant holding duplicates, for the `dedupe` scenario. */
  dedupe?: DedupeTenantShape;
  /** The emulator's Management API limit from the start (Auth0's published plan limits). */
  plan?: RatePlan;
}

/**
 * `users` users of which `groups` pairs share a verified email (an `auth0|` user and a later
 * `google-oauth2|` one, every fifth in another case); a third of `groups` more users carry a
 * group's email unverified (never grouped); the rest have an email of their own.
 */
export interface DedupeTenantShape {
  users: number;
  groups: number;
}

export type HostCommand =
  | { op: 'reset' }
  | { op: 'set-rate-limit'; limit: RateLimit | false }
  | { op: 'clear-journal' }
  | { op: 'link-statuses' }
  | { op: 'route-counts' }
  /**
   * Statuses of every Management API answer (/api/v2/*) since the last `reset: true`; the host
   * tallies and clears its journal every second meanwhile, so a run longer than the journal's
   * 10,000 entries is counted whole.
   */
  | { op: 'management-tally'; reset: boolean }
  | { op: 'mint-user-tokens'; subs: string[] }
  | { op: 'mint-id-tokens'; subs: string[] }
  | { op: 'mint-admin-token'; scope: string };

/** Statuses the emulator answered on POST /api/v2/users/{id}/identities since the journal was cleared. */
export interface LinkStatuses {
  total: number;
  byStatus: Record<string, number>;
}

/** Statuses the emulator answered on /api/v2/* (every Management API route). */
export type ManagementStatuses = LinkStatuses;

/** Requests the emulator received per route (token, jwks, link, get-user, ...) since the journal was cleared. */
export type RouteCounts = Record<string, number>;

export type HostReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

export type HostRequest = { id: number } & HostCommand;

export interface HostReady {
  ready: true;
  origin: string;
}

const pad = (n: number) => String(n).padStart(6, '0');

/** `auth0|bench-s-000042`: ids shaped like Auth0 user ids, ordered as they are seeded. */
export const secondaryId = (i: number) => `auth0|bench-s-${pad(i)}`;
export const primaryId = (k: number) => `auth0|bench-p-${pad(k)}`;
export const primaryEmail = (k: number) => `bench-${pad(k)}@example.com`;

/** The dedupe tenant's users: group g's two users, and the users of no group. */
export const dedupeIds = {
  primary: (g: number) => `auth0|dedupe-a-${pad(g)}`,
  secondary: (g: number) => `google-oauth2|dedupe-b-${pad(g)}`,
  single: (i: number) => `auth0|dedupe-u-${pad(i)}`,
  groupEmail: (g: number) => `dup-${pad(g)}@example.com`,
  singleEmail: (i: number) => `single-${pad(i)}@example.com`,
};
