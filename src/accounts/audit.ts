import type { Logger } from 'pino';
import { GatewayError } from '../errors.js';
import type { MergedMetadataKeys } from './merge-metadata.js';

/**
 * One link or unlink attempt, successful or not. Never carries a token. `requestId` and `time`
 * are not in it: the request's child logger writes them on every line, and a second copy would
 * repeat the key in one JSON object (which Elasticsearch and strict parsers refuse).
 */
export interface AuditEvent {
  event: 'account.link' | 'account.unlink';
  /** `success`, or the error code (and reason) it ended with. */
  outcome: string;
  reason: string | null;
  /**
   * `jwt`: the caller's own token linked; `admin`: the service token; `user`: an unlink with the
   * primary's own token; `login`, `dedupe`: links made by the service itself (DESIGN §14, §16).
   */
  mode: 'jwt' | 'admin' | 'user' | 'login' | 'dedupe' | null;
  primaryId: string;
  /** `<provider>|<userId>` of the secondary, when known. */
  secondary: string | null;
  /** `sub` of the caller's token, when one was verified. */
  callerSubject: string | null;
  /** Top-level metadata keys merged into the primary (names, never values); only with `mergeMetadata`. */
  mergedMetadata?: MergedMetadataKeys;
  /** After the link failed behind a merge: whether the primary's metadata was put back. */
  metadataRestore?: 'restored' | 'failed';
  /** Ids of the secondary's roles and organizations the link carried over (DESIGN §15); only when asked. */
  carriedOver?: { roleIds: string[]; organizationIds: string[] };
  /** After the link failed behind a carry-over: whether what it added was removed again. */
  carryRemoval?: 'removed' | 'failed';
  /** The primary was read back after an unclear or refused answer, and that read decided the outcome. */
  reconciled?: true;
  /** An unlink made by undoLink (DESIGN §15): the id of the link it undoes. */
  undoOf?: string;
}

/** What an operation learns about itself while it runs, for its audit line. */
export interface AuditDraft {
  primaryId: string;
  mode: AuditEvent['mode'];
  secondary: string | null;
  callerSubject: string | null;
  mergedMetadata?: AuditEvent['mergedMetadata'];
  metadataRestore?: AuditEvent['metadataRestore'];
  carriedOver?: AuditEvent['carriedOver'];
  carryRemoval?: AuditEvent['carryRemoval'];
  reconciled?: true;
  undoOf?: string;
}

/**
 * Writes audit events as one structured log line each (`audit: true` to filter them) through the
 * request's logger, which carries its `requestId`.
 */
export function createAuditLog(logger: () => Logger): (event: AuditEvent) => void {
  return (event) => logger().info({ audit: true, ...event }, event.event);
}

/** The audit log when audit lines would not be written (LOG_LEVEL above info). */
export function skipAudit(): void {}

/**
 * Runs one link/unlink attempt and records exactly one audit event for it, whatever happens.
 * `run` fills in the draft (mode, secondary, caller) as it learns them.
 */
export async function audited<T>(
  audit: (event: AuditEvent) => void,
  base: { event: AuditEvent['event']; primaryId: string },
  run: (draft: AuditDraft) => Promise<T>,
): Promise<T> {
  const draft: AuditDraft = { primaryId: base.primaryId, mode: null, secondary: null, callerSubject: null };
  const record = (outcome: string, reason: string | null) => {
    if (audit !== skipAudit) audit({ ...base, ...draft, outcome, reason });
  };
  try {
    const result = await run(draft);
    record('success', null);
    return result;
  } catch (error) {
    if (error instanceof GatewayError) record(error.code, error.reason ?? null);
    else record('INTERNAL_SERVER_ERROR', null);
    throw error;
  }
}
