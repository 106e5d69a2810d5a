// Reconciliation later (DESIGN §8): a link or unlink whose outcome was unknown when it answered
// (Auth0 did not answer it, and reading the primary back proved nothing yet, or failed) is checked
// again after each of the delays (10 s and 60 s by default). If it turns out applied, its event is
// recorded then (`reconciled: true`, under the id the failed attempt chose, unless a client retry
// recorded it already) and the users are dropped from the read cache; if it is still unchanged at
// the last check, it is dropped. Checks live in the shared state, so any replica runs them.
import type { Logger } from 'pino';
import type { Auth0Services } from '../auth0/auth0-services.js';
import { Auth0ManagementApi } from '../auth0/management-api.js';
import type { WireUser } from '../auth0/wire.js';
import type { Config } from '../config.js';
import type { AccountEvents } from '../events/account-events.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { newCheckId, type PendingCheck } from '../shared-state/pending-checks.js';
import type { LinkRecordStore, PendingCheckStore, WriterLock } from '../shared-state/shared-state.js';
import { hasIdentity } from './read-back.js';
import { recordAccountEvent } from './record-account-event.js';
import type { UserReadCache } from './user-cache.js';

/** What a link or unlink of unknown outcome leaves for the reconciliation. */
export type NewPendingCheck = Omit<PendingCheck, 'id' | 'step' | 'failedReads'>;

export interface ReconciliationScheduler {
  /** Keeps a check for the first delay. Never throws. */
  schedule(check: NewPendingCheck): Promise<void>;
}

export interface ReconciliationOptions {
  /** Delays after the failure at which the primary is read again, ascending; default 10 s, 60 s. */
  delaysMs?: readonly number[];
  /** How often due checks are looked for; default 1 s (a quarter of the first delay if shorter). */
  pollMs?: number;
}

export const DEFAULT_RECONCILE_DELAYS_MS: readonly number[] = [10_000, 60_000];

// A read of the primary that fails is tried again this many times (after the first delay each),
// then the check is given up and logged at error level.
const MAX_FAILED_READS = 3;
// Checks one tick takes on at most.
const CLAIM_BATCH = 10;

export interface ReconciliationDeps {
  store: PendingCheckStore;
  linkRecords: LinkRecordStore;
  primaryLocks: WriterLock;
  events: AccountEvents;
  services: Auth0Services;
  config: Config;
  logger: Logger;
  metrics?: GatewayMetrics;
  userCache?: UserReadCache;
}

/** Schedules checks and runs the due ones, on this replica and for every replica sharing Redis. */
export class Reconciliation implements ReconciliationScheduler {
  private readonly delaysMs: readonly number[];
  private readonly pollMs: number;
  private readonly logger: Logger;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly deps: ReconciliationDeps,
    options: ReconciliationOptions = {},
  ) {
    this.delaysMs = options.delaysMs?.length ? options.delaysMs : DEFAULT_RECONCILE_DELAYS_MS;
    this.pollMs = options.pollMs ?? Math.max(10, Math.min(1000, Math.floor(this.delaysMs[0] / 4)));
    this.logger = deps.logger.child({ component: 'reconciliation' });
  }

  async schedule(check: NewPendingCheck): Promise<void> {
    await this.deps.store.schedule({ ...check, id: newCheckId(), step: 0, failedReads: 0 }, this.delaysMs[0]);
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.pollMs);
    this.timer.unref();
  }

  /** Stops looking for checks and waits for the ones being run (drain). Checks left stay stored. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.ticking;
  }

  private tick(): Promise<void> {
    if (this.ticking || this.stopped) return this.ticking ?? Promise.resolve();
    this.ticking = (async () => {
      try {
        // Long enough for the lock wait and a read with its retries; a replica that dies
        // meanwhile leaves the check to another after this.
        const { maxWaitMs, timeoutMs } = this.deps.config.auth0;
        const claimMs = maxWaitMs + 2 * timeoutMs + 5000;
        const checks = await this.deps.store.claim(CLAIM_BATCH, claimMs);
        for (const check of checks) {
          if (this.stopped) break;
          await this.run(check).catch((error: unknown) =>
            this.logger.error({ err: error, primaryId: check.primaryId }, 'reconciliation check failed'),
          );
        }
      } finally {
        this.ticking = undefined;
      }
    })();
    return this.ticking;
  }

  /** One check, under the primary's lock (a link or unlink of it waits, and is not overtaken). */
  private async run(check: PendingCheck): Promise<void> {
    const { deps } = this;
    const lock = await deps.primaryLocks.acquire(check.primaryId, deps.config.auth0.maxWaitMs);
    if (!lock) {
      // The primary is busy: its holder may be a retry that settles it; look again shortly.
      await deps.store.schedule(check, this.pollMs);
      return;
    }
    try {
      // A later operation of the pair settled it under the lock: a client's retry found it made (its
      // record now says recorded), or the opposite operation succeeded, which it could only do if
      // this one was applied (it recorded this one's event first, then dropped the record).
      const record = await deps.linkRecords.get(check.operation, check.primaryId, check.secondaryId);
      if (record === null || record.id !== check.eventId || record.eventRecorded) {
        return await this.settledMeanwhile(check);
      }
      const primary = await this.readPrimary(check);
      if (primary === null) return await this.readFailed(check);
      const applied = hasIdentity(primary, check.secondaryId) === (check.operation === 'link');
      if (applied) return await this.applied(check);
      const next = check.step + 1;
      if (next < this.delaysMs.length) {
        await deps.store.schedule({ ...check, step: next }, this.delaysMs[next] - this.delaysMs[check.step]);
        return;
      }
      deps.metrics?.reconciliations.inc({ operation: check.operation, outcome: 'not_applied' });
      this.logger.info(
        {
          reconciliation: 'not_applied',
          primaryId: check.primaryId,
          secondary: check.secondaryId,
          operation: check.operation,
        },
        'reconciliation: not applied at the last check; dropped',
      );
      await deps.store.remove(check);
    } finally {
      await lock();
    }
  }

  private async settledMeanwhile(check: PendingCheck): Promise<void> {
    this.deps.metrics?.reconciliations.inc({ operation: check.operation, outcome: 'applied' });
    this.logger.info(
      {
        reconciliation: 'settled',
        operation: check.operation,
        primaryId: check.primaryId,
        secondary: check.secondaryId,
      },
      'reconciliation: settled by a later operation of the pair, which recorded its event',
    );
    await this.deps.store.remove(check);
  }

  /** A fresh GET with the service token (never the cache); `null` when it fails. */
  private async readPrimary(check: PendingCheck): Promise<WireUser | null> {
    const api = new Auth0ManagementApi(this.deps.services, {
      requestId: `reconcile-${check.id}`,
      logger: this.deps.logger,
    });
    try {
      return await api.getUser(
        check.primaryId,
        { kind: 'service' },
        { withinMs: this.deps.config.auth0.timeoutMs },
      );
    } catch (error) {
      this.logger.warn(
        { err: error, primaryId: check.primaryId },
        'reconciliation: could not read the primary',
      );
      return null;
    }
  }

  private async readFailed(check: PendingCheck): Promise<void> {
    const { deps } = this;
    const failedReads = check.failedReads + 1;
    if (failedReads <= MAX_FAILED_READS) {
      await deps.store.schedule({ ...check, failedReads }, this.delaysMs[0]);
      return;
    }
    deps.metrics?.reconciliations.inc({ operation: check.operation, outcome: 'unknown' });
    this.logger.error(
      {
        reconciliation: 'unknown',
        primaryId: check.primaryId,
        secondary: check.secondaryId,
        operation: check.operation,
        failedReads,
      },
      'reconciliation gave up: the primary could not be read; whether the operation was applied is unknown and no event was recorded',
    );
    await deps.store.remove(check);
  }

  private async applied(check: PendingCheck): Promise<void> {
    const { deps } = this;
    const type = check.operation === 'link' ? 'account.linked' : 'account.unlinked';
    const record = await deps.linkRecords.get(check.operation, check.primaryId, check.secondaryId);
    // A client retry that found it applied recorded the event already, under the same id.
    const recorded = record?.eventRecorded === true;
    if (!recorded) {
      await recordAccountEvent(
        deps,
        type,
        {
          primaryId: check.primaryId,
          secondary: check.secondaryId,
          mode: check.mode,
          callerSubject: check.callerSubject,
          mergedMetadata: check.mergedMetadata,
          reconciled: true,
        },
        check.eventId,
      );
      await deps.linkRecords.put(check.operation, check.primaryId, check.secondaryId, {
        id: check.eventId,
        eventRecorded: true,
      });
      await deps.linkRecords.delete(
        check.operation === 'link' ? 'unlink' : 'link',
        check.primaryId,
        check.secondaryId,
      );
    }
    await deps.userCache?.invalidateUsers([check.primaryId, check.secondaryId]);
    deps.metrics?.reconciliations.inc({ operation: check.operation, outcome: 'applied' });
    this.logger.info(
      {
        reconciliation: 'applied',
        operation: check.operation,
        primaryId: check.primaryId,
        secondary: check.secondaryId,
        mode: check.mode,
        callerSubject: check.callerSubject,
        eventRecorded: !recorded,
      },
      'reconciliation: applied',
    );
    await deps.store.remove(check);
  }
}
