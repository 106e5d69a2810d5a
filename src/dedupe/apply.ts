// `apply`: links every pair of a plan through the link core (DESIGN §16), re-checking each pair
// just before its link, recording each outcome in the state file, and resuming from it.
import { setTimeout as sleep } from 'node:timers/promises';
import { performLink } from '../accounts/link-core.js';
import { hasIdentity } from '../accounts/read-back.js';
import type { Auth0ManagementApi } from '../auth0/management-api.js';
import { parseUserId } from '../auth0/user-id.js';
import type { WireUser } from '../auth0/wire.js';
import { GatewayError, NotFoundError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { DedupeJob } from './job-context.js';
import type { DedupePlan } from './plan.js';
import {
  pairKey,
  planDigest,
  readState,
  writeStateAtomically,
  type ApplyState,
  type PairOutcome,
  type PairRecord,
  type StateEntry,
} from './state-file.js';

/**
 * Why a pair is skipped: the re-check's findings, and the link core's refusals that mean the
 * same (a user gone or changed between the re-check and the link).
 */
export const SKIP_REASONS = [
  'PRIMARY_NOT_FOUND',
  'SECONDARY_NOT_FOUND',
  'SECONDARY_NOT_STANDALONE',
  'EMAIL_NOT_VERIFIED',
  'EMAIL_MISMATCH',
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

export interface DedupeReport {
  version: 1;
  /** sha256 of the plan file the report is about. */
  plan: string;
  dryRun: boolean;
  /** Every pair has an outcome (false after SIGINT: the rest are `pending`). */
  complete: boolean;
  totals: { pairs: number; linked: number; skipped: number; failed: number; pending: number };
  /** With each link's `linkId` (its event's webhook-id), except in a dry run: what it would link. */
  linked: (PairRecord & { linkId?: string })[];
  skipped: (PairRecord & { reason: string })[];
  failed: (PairRecord & { code: string; reason: string | null })[];
  pending: PairRecord[];
}

export interface ApplyProgress {
  done: number;
  total: number;
  linked: number;
  skipped: number;
  failed: number;
}

export interface ApplyOptions {
  /** The plan file's bytes (its digest ties the state file to it) and the plan read from them. */
  planText: string;
  plan: DedupePlan;
  mergeMetadata: boolean;
  /** Roles and organization memberships given to the primary before each link (DESIGN §15). */
  carry?: { roles: boolean; organizations: boolean };
  statePath: string;
  /** Re-check every pair and report what would be linked; no link, no write, no state file. */
  dryRun: boolean;
  /** Most pairs started per second by this run, below the tenant budget; null: the budget alone. */
  maxRatePerSecond: number | null;
  /** Pairs in flight at once (each group's pairs go one after another); default 4. */
  concurrency?: number;
  /** Aborted on SIGINT: no pair starts after it; the pairs in flight finish. */
  stop: AbortSignal;
  onProgress?: (progress: ApplyProgress) => void;
  logger: Logger;
}

export class StateMismatchError extends Error {}

interface PlannedPair extends PairRecord {
  email: string;
}

/** What the re-check found: link, already linked into this primary, or skip. */
type Recheck = { kind: 'link' } | { kind: 'already-linked' } | { kind: 'skip'; reason: SkipReason };

async function readOrNull(api: Auth0ManagementApi, userId: string): Promise<WireUser | null> {
  try {
    return await api.getUser(userId);
  } catch (error) {
    if (error instanceof NotFoundError) return null;
    throw error;
  }
}

/**
 * The pair as it is now: both users exist, both carry the plan's email (any case) verified, and the
 * secondary is standalone (no linked identities of its own). A secondary already among the
 * primary's identities was linked by an earlier run that stopped before it saved its state.
 */
async function recheckPair(api: Auth0ManagementApi, pair: PlannedPair): Promise<Recheck> {
  const primary = await readOrNull(api, pair.primary);
  if (primary === null) return { kind: 'skip', reason: 'PRIMARY_NOT_FOUND' };
  if (hasIdentity(primary, pair.secondary)) return { kind: 'already-linked' };
  const secondary = await readOrNull(api, pair.secondary);
  // Deleted, or linked into another user (Auth0 removes a linked secondary's user).
  if (secondary === null) return { kind: 'skip', reason: 'SECONDARY_NOT_FOUND' };
  if ((secondary.identities?.length ?? 1) > 1) return { kind: 'skip', reason: 'SECONDARY_NOT_STANDALONE' };
  for (const user of [primary, secondary]) {
    if (user.email_verified !== true) return { kind: 'skip', reason: 'EMAIL_NOT_VERIFIED' };
    if (typeof user.email !== 'string' || user.email.toLowerCase() !== pair.email) {
      return { kind: 'skip', reason: 'EMAIL_MISMATCH' };
    }
  }
  return { kind: 'link' };
}

function asOutcome(error: unknown, logger: Logger, pair: PairRecord): PairOutcome {
  if (error instanceof GatewayError) {
    if (error.reason && (SKIP_REASONS as readonly string[]).includes(error.reason)) {
      return { outcome: 'skipped', reason: error.reason };
    }
    return { outcome: 'failed', code: error.code, reason: error.reason ?? null };
  }
  logger.error({ err: error, ...pair }, 'dedupe pair failed unexpectedly');
  return { outcome: 'failed', code: 'INTERNAL_SERVER_ERROR', reason: null };
}

type DryOutcome = PairOutcome | { outcome: 'linked'; linkId?: undefined };

async function settlePair(
  job: DedupeJob,
  pair: PlannedPair,
  index: number,
  options: ApplyOptions,
): Promise<DryOutcome> {
  const requestId = `dedupe-${index + 1}`;
  const ctx = job.writeContext(requestId);
  try {
    const found = await recheckPair(ctx.auth0, pair);
    if (found.kind === 'skip') return { outcome: 'skipped', reason: found.reason };
    if (options.dryRun) return { outcome: 'linked' };
    const { provider, id } = parseUserId(pair.secondary, 'secondary');
    const change = await performLink(ctx, {
      primaryId: pair.primary,
      secondaryId: pair.secondary,
      secondaryField: 'secondary',
      mode: 'dedupe',
      callerSubject: null,
      // Already linked: the core's own read finds it so, and answers with the first link's id
      // without a second link call. Otherwise the re-check above was the policy's check.
      verifiedEmailPolicy: found.kind === 'already-linked',
      mergeKinds: options.mergeMetadata ? ['user_metadata', 'app_metadata'] : null,
      ...(options.carry ? { carry: options.carry } : {}),
      link: () => ctx.auth0.linkIdentity(pair.primary, { provider, user_id: id }, { kind: 'service' }),
    });
    return { outcome: 'linked', linkId: change.eventId ?? '' };
  } catch (error) {
    return asOutcome(error, options.logger, pair);
  }
}

/** Starts at most `perSecond` pairs per second; a wait ends early when the run is stopped. */
function pacer(perSecond: number | null, stop: AbortSignal): () => Promise<void> {
  if (perSecond === null) return async () => undefined;
  const intervalMs = 1000 / perSecond;
  let next = 0;
  return async () => {
    const now = Date.now();
    const at = Math.max(now, next);
    next = at + intervalMs;
    if (at > now) await sleep(at - now, undefined, { signal: stop }).catch(() => undefined);
  };
}

/**
 * Runs the plan: pairs recorded as linked or skipped by an earlier run are not touched again
 * (failed ones are retried), every other pair is re-checked and linked, the state file is
 * rewritten after each pair, and the report covers every pair of the plan in its order.
 */
export async function applyPlan(job: DedupeJob, options: ApplyOptions): Promise<DedupeReport> {
  const digest = planDigest(options.planText);
  const earlier = await readState(options.statePath);
  if (earlier && earlier.plan !== digest) {
    throw new StateMismatchError(
      `${options.statePath} belongs to another plan: give this plan its own --state file`,
    );
  }
  const outcomes = new Map<string, DryOutcome>();
  for (const entry of earlier?.pairs ?? []) {
    const { primary, secondary, ...outcome } = entry;
    outcomes.set(pairKey({ primary, secondary }), outcome);
  }

  const groups = options.plan.groups.map((group) =>
    group.secondaries.map((secondary) => ({
      primary: group.primary,
      secondary,
      email: group.email.toLowerCase(),
    })),
  );
  const pairs = groups.flat();
  const indexOf = new Map(pairs.map((pair, i) => [pairKey(pair), i]));
  const isDone = (pair: PairRecord) => {
    const outcome = outcomes.get(pairKey(pair));
    return outcome !== undefined && outcome.outcome !== 'failed';
  };

  let saving = Promise.resolve();
  const save = (): Promise<void> => {
    if (options.dryRun) return Promise.resolve();
    const state: ApplyState = {
      version: 1,
      plan: digest,
      pairs: pairs.flatMap((pair): StateEntry[] => {
        const outcome = outcomes.get(pairKey(pair));
        return outcome
          ? [{ primary: pair.primary, secondary: pair.secondary, ...(outcome as PairOutcome) }]
          : [];
      }),
    };
    saving = saving.then(() => writeStateAtomically(options.statePath, state));
    return saving;
  };

  const progress = (): ApplyProgress => {
    const counts = { done: 0, total: pairs.length, linked: 0, skipped: 0, failed: 0 };
    for (const pair of pairs) {
      const outcome = outcomes.get(pairKey(pair));
      if (!outcome) continue;
      counts.done += 1;
      counts[outcome.outcome] += 1;
    }
    return counts;
  };

  const pace = pacer(options.maxRatePerSecond, options.stop);
  const queue = groups.filter((group) => group.some((pair) => !isDone(pair)));
  const worker = async () => {
    for (let group = queue.shift(); group; group = queue.shift()) {
      for (const pair of group) {
        if (options.stop.aborted) return;
        if (isDone(pair)) continue;
        await pace();
        if (options.stop.aborted) return;
        outcomes.set(pairKey(pair), await settlePair(job, pair, indexOf.get(pairKey(pair))!, options));
        await save();
        options.onProgress?.(progress());
      }
    }
  };
  options.onProgress?.(progress());
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker));
  await saving;

  const report: DedupeReport = {
    version: 1,
    plan: digest,
    dryRun: options.dryRun,
    complete: false,
    totals: { pairs: pairs.length, linked: 0, skipped: 0, failed: 0, pending: 0 },
    linked: [],
    skipped: [],
    failed: [],
    pending: [],
  };
  for (const { primary, secondary } of pairs) {
    const outcome = outcomes.get(pairKey({ primary, secondary }));
    if (!outcome) report.pending.push({ primary, secondary });
    else if (outcome.outcome === 'linked') {
      report.linked.push(
        outcome.linkId === undefined
          ? { primary, secondary }
          : { primary, secondary, linkId: outcome.linkId },
      );
    } else if (outcome.outcome === 'skipped')
      report.skipped.push({ primary, secondary, reason: outcome.reason });
    else report.failed.push({ primary, secondary, code: outcome.code, reason: outcome.reason });
  }
  report.totals.linked = report.linked.length;
  report.totals.skipped = report.skipped.length;
  report.totals.failed = report.failed.length;
  report.totals.pending = report.pending.length;
  report.complete = report.pending.length === 0;
  return report;
}
