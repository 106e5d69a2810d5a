// Messages between the benchmark (parent) and the emulator host (child process, IPC channel).
import type { RateLimit } from '../src/auth0-emulator/index.js';

/** Seeded bench users: secondaries are linked into primaries `i % primaries`, sharing its email. */
export interface BenchTenantShape {
  primaries: number;
  secondaries: number;
}

export type HostCommand =
  | { op: 'reset' }
  | { op: 'set-rate-limit'; limit: RateLimit | false }
  | { op: 'clear-journal' }
  | { op: 'link-statuses' }
  | { op: 'route-counts' }
  | { op: 'mint-user-tokens'; subs: string[] }
  | { op: 'mint-id-tokens'; subs: string[] }
  | { op: 'mint-admin-token'; scope: string };

/** Statuses the emulator answered on POST /api/v2/users/{id}/identities since the journal was cleared. */
export interface LinkStatuses {
  total: number;
  byStatus: Record<string, number>;
}

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
