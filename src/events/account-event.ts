// What a link or unlink event says (DESIGN §12): names and ids only, never a token or a metadata value.

/** The two event types the gateway sends. */
export type AccountEventType = 'account.linked' | 'account.unlinked';

/**
 * `jwt`: the caller's own bearer was forwarded to Auth0; `admin`: the service token was used;
 * `login`, `dedupe`: the service linked by itself, at a login or in a duplicate clean-up.
 */
export type AccountEventMode = 'jwt' | 'admin' | 'login' | 'dedupe';

export interface AccountLinkedData {
  primaryId: string;
  /** The secondary identity's provider (`github`). */
  provider: string;
  /** The secondary identity's id at that provider (`123`). */
  userId: string;
  /** The secondary's user id before the link (`github|123`): Auth0 has deleted that user. */
  formerUserId: string;
  mode: AccountEventMode;
  /** `sub` of the caller's token (a user id, or `<client id>@clients` for a backend). */
  callerSub: string | null;
  /** Top-level metadata keys the link merged into the primary; `null` when no merge was asked. */
  mergedMetadata: { userMetadataKeys: string[]; appMetadataKeys: string[] } | null;
  /**
   * Ids of the secondary's roles and organizations the link carried over to the primary (DESIGN
   * §15); present only when `carryRoles` or `carryOrganizations` was asked.
   */
  carriedOver?: { roleIds: string[]; organizationIds: string[] };
  /**
   * Id of this link: the event's webhook-id, and the `linkId` of linkAccounts' answer. A repeated
   * link answers the same id and records no second event (DESIGN §12).
   */
  linkId: string;
  /** The link's answer was lost or refused, and a read of the primary showed it applied. */
  reconciled: boolean;
}

export interface AccountUnlinkedData {
  primaryId: string;
  provider: string;
  userId: string;
  /** The user id Auth0 gives the detached identity, now a standalone user (`github|123`). */
  detachedUserId: string;
  mode: AccountEventMode;
  callerSub: string | null;
  reconciled: boolean;
  /** The unlink undid this link (`undoLink`, DESIGN §15): its `linkId`. Absent for any other unlink. */
  undoOf?: string;
}

/** The body of one webhook message. */
export type AccountEvent =
  | { type: 'account.linked'; timestamp: string; data: AccountLinkedData }
  | { type: 'account.unlinked'; timestamp: string; data: AccountUnlinkedData };

/** What an applied link or unlink knows about itself when it answers. */
export interface AppliedChange {
  primaryId: string;
  /** `<provider>|<id>` of the secondary identity. */
  secondary: string;
  /** The audit line's mode: an unlink with the user's own token is `user`, sent as `jwt`. */
  mode: 'jwt' | 'admin' | 'user' | 'login' | 'dedupe';
  callerSubject: string | null;
  mergedMetadata?: { userMetadataKeys: readonly string[]; appMetadataKeys: readonly string[] } | null;
  /** Ids of the roles and organizations a link carried over; only when a carry-over was asked. */
  carriedOver?: { roleIds: readonly string[]; organizationIds: readonly string[] } | null;
  /** The link's id (its event's webhook-id); links only. */
  linkId?: string;
  /** Unlinks made by undoLink: the id of the link undone. */
  undoOf?: string;
  reconciled: boolean;
}

/** The event for an applied change; `now` is the event's `timestamp`. */
export function toAccountEvent(
  type: AccountEventType,
  change: AppliedChange,
  now = new Date(),
): AccountEvent {
  // Split at the first `|` only: the provider never holds one, the id may ("auth0|Conn|123").
  const bar = change.secondary.indexOf('|');
  const provider = bar < 0 ? change.secondary : change.secondary.slice(0, bar);
  const userId = bar < 0 ? '' : change.secondary.slice(bar + 1);
  const common = {
    primaryId: change.primaryId,
    provider,
    userId,
    mode: change.mode === 'user' ? ('jwt' as const) : change.mode,
    callerSub: change.callerSubject,
  };
  const timestamp = now.toISOString();
  if (type === 'account.unlinked') {
    return {
      type,
      timestamp,
      data: {
        ...common,
        detachedUserId: change.secondary,
        reconciled: change.reconciled,
        ...(change.undoOf ? { undoOf: change.undoOf } : {}),
      },
    };
  }
  const merged = change.mergedMetadata;
  return {
    type,
    timestamp,
    data: {
      ...common,
      formerUserId: change.secondary,
      // Copies of the key lists: nothing else of the merge plan (its values) can reach the body.
      mergedMetadata: merged
        ? { userMetadataKeys: [...merged.userMetadataKeys], appMetadataKeys: [...merged.appMetadataKeys] }
        : null,
      ...(change.carriedOver
        ? {
            carriedOver: {
              roleIds: [...change.carriedOver.roleIds],
              organizationIds: [...change.carriedOver.organizationIds],
            },
          }
        : {}),
      linkId: change.linkId ?? '',
      reconciled: change.reconciled,
    },
  };
}
