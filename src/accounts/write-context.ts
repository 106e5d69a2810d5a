// What a link or unlink needs from its surroundings. A GraphQL request's context provides it, and
// so can callers that are not GraphQL (linking at login, a bulk dedupe job, undo, the
// reconciliation of DESIGN §8): they build one with the service token and call the cores.
import type { WireIdentity } from '../auth0/wire.js';
import type { GatewayContext } from '../context.js';
import type { CarriedMembership, CarriedRole, CarryWrites } from './carry-over.js';
import type { MergedMetadataKeys } from './merge-metadata.js';
import type { UndoSnapshot } from './undo-link.js';

/** What a link carried over from the secondary (the payload's `carriedOver`, DESIGN §15). */
export interface CarriedOver extends MergedMetadataKeys {
  roles: CarriedRole[];
  organizations: CarriedMembership[];
}

export type AccountWriteContext = Pick<
  GatewayContext,
  | 'auth0'
  | 'config'
  | 'logger'
  | 'events'
  | 'primaryLocks'
  | 'metrics'
  | 'audit'
  | 'linkRecords'
  | 'undoRecords'
  | 'reconciliations'
>;

/** What a link or unlink resolves to before the payload's `user` is read. */
export interface AccountChange {
  primaryId: string;
  /** `<provider>|<user_id>` of the secondary identity (the former user id of a link). */
  secondaryId: string;
  identities: WireIdentity[];
  /** Link only: the keys a metadata merge changed; null when no merge was asked. */
  mergedMetadata?: MergedMetadataKeys | null;
  /** Link only: what it carried over; null when neither a merge nor a carry-over was asked. */
  carriedOver?: CarriedOver | null;
  /** Link only: the role and membership writes this attempt made on the primary (for the undo record). */
  carried?: CarryWrites;
  /**
   * The primary read back after an unclear or refused answer decided this success (DESIGN §8):
   * the identities are from that read. Audit lines and events carry it as `reconciled: true`.
   */
  reconciled: boolean;
  /**
   * The operation was found made, not made by this attempt: a repeated link (the pre-read, Auth0's
   * 409 or 400 read back as applied, or a restore's read). It keeps the first link's id and event.
   */
  alreadyMade?: boolean;
  /** Link only, with LINK_UNDO_WINDOW: what undoLink needs (DESIGN §15); absent for a repeated link. */
  undo?: UndoSnapshot;
  /** The operation's id, its event's webhook-id (a link's `linkId`); set at its success point. */
  eventId?: string;
}

/** What an operation tells its frame while it runs: its event id, and whether its call went out. */
export interface WriteAttempt {
  /** The id this attempt's event gets if it is applied: a pending record's, else a fresh one. */
  readonly eventId: string;
  /** The link or unlink call was sent: from here on its outcome may be unknown. */
  sent: boolean;
}
