// The link and unlink cores with a stubbed tenant and lock: what they send, and in which order, when
// the lock is lost between writes (review M1) or a restore's fresh read shows the link made (L1).
import type { AuditDraft } from '../../../src/accounts/audit.js';
import { linkUnderLock, type LinkRequest } from '../../../src/accounts/link-core.js';
import { unlinkUnderLock } from '../../../src/accounts/unlink-core.js';
import type { AccountWriteContext } from '../../../src/accounts/write-context.js';
import type { WireIdentity, WireUser } from '../../../src/auth0/wire.js';
import { ForbiddenError, GatewayError } from '../../../src/errors.js';
import { NO_ACCOUNT_EVENTS } from '../../../src/events/account-events.js';
import { createMemoryLinkRecords } from '../../../src/shared-state/link-records.js';
import type { HeldWriterLock } from '../../../src/shared-state/shared-state.js';

const PRIMARY = 'auth0|p1';
const SECONDARY = 'github|42';
const identity = (id: string): WireIdentity => {
  const [provider, user_id] = id.split('|');
  return { provider, user_id, connection: provider, isSocial: provider !== 'auth0' };
};

/** A tenant of two users, the calls made to it, and a lock the test can lose. */
function setup(options: { loseLockOn?: 'read' | 'patch' | 'link'; linkFails?: Error } = {}) {
  const calls: string[] = [];
  const lost = new AbortController();
  const users = new Map<string, WireUser>([
    [PRIMARY, { user_id: PRIMARY, identities: [identity(PRIMARY)], user_metadata: { a: 1 } }],
    [SECONDARY, { user_id: SECONDARY, identities: [identity(SECONDARY)], user_metadata: { b: 2 } }],
  ]);
  const lock = Object.assign(async () => undefined, {
    signal: lost.signal,
    confirm: async () => !lost.signal.aborted,
  }) as HeldWriterLock;
  const linkNow = () => {
    users.get(PRIMARY)!.identities!.push(identity(SECONDARY));
    users.delete(SECONDARY);
  };
  const auth0 = {
    async getUser(id: string) {
      calls.push(`get ${id}`);
      if (options.loseLockOn === 'read') lost.abort();
      const user = users.get(id);
      if (!user) throw new GatewayError('NOT_FOUND', 'no such user');
      return structuredClone(user);
    },
    async updateUser(id: string, body: unknown) {
      calls.push(`patch ${id} ${JSON.stringify(body)}`);
      if (options.loseLockOn === 'patch') lost.abort();
      return users.get(id)!;
    },
    async linkIdentity(id: string) {
      calls.push(`link ${id}`);
      if (options.linkFails) {
        // A late POST of an earlier attempt lands while this one is refused.
        linkNow();
        throw options.linkFails;
      }
      if (options.loseLockOn === 'link') lost.abort();
      linkNow();
      return users.get(id)!.identities!;
    },
    async unlinkIdentity(id: string) {
      calls.push(`unlink ${id}`);
      return [identity(PRIMARY)];
    },
  };
  const ctx = {
    auth0,
    config: { auth0: { timeoutMs: 1000, maxWaitMs: 1000 } },
    logger: () => ({ error: () => undefined, warn: () => undefined }),
    events: NO_ACCOUNT_EVENTS,
    primaryLocks: { acquire: async () => lock, releaseAll: async () => undefined },
    audit: () => undefined,
    linkRecords: createMemoryLinkRecords({ ttlMs: 60_000 }),
    reconciliations: { schedule: async () => undefined },
  } as unknown as AccountWriteContext;
  const request: LinkRequest = {
    primaryId: PRIMARY,
    secondaryId: SECONDARY,
    mode: 'admin',
    callerSubject: 'backend@clients',
    verifiedEmailPolicy: false,
    mergeKinds: ['user_metadata'],
    link: () => auth0.linkIdentity(PRIMARY),
  };
  const draft: AuditDraft = { primaryId: PRIMARY, mode: null, secondary: null, callerSubject: null };
  return { ctx, request, draft, calls, lost };
}

const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: GatewayError) => ({ code: error.code, reason: error.reason, message: error.message }),
  );

describe('link core: a lost lock stops before the next write (review M1)', () => {
  it('lost during the reads: no PATCH, no link, PRIMARY_BUSY', async () => {
    const { ctx, request, draft, calls } = setup({ loseLockOn: 'read' });
    const failure = await failureOf(linkUnderLock(ctx, draft, request));
    expect(failure).toMatchObject({ code: 'CONFLICT', reason: 'PRIMARY_BUSY' });
    expect(failure.message).not.toMatch(/merged metadata keys may remain/);
    expect(calls).toEqual([`get ${PRIMARY}`, `get ${SECONDARY}`]);
  });

  it('lost during the merge PATCH: no link call, and the message says the merged keys may remain', async () => {
    const { ctx, request, draft, calls } = setup({ loseLockOn: 'patch' });
    const failure = await failureOf(linkUnderLock(ctx, draft, request));
    expect(failure).toMatchObject({ code: 'CONFLICT', reason: 'PRIMARY_BUSY' });
    expect(failure.message).toMatch(/merged metadata keys may remain/);
    expect(calls).toEqual([
      `get ${PRIMARY}`,
      `get ${SECONDARY}`,
      `patch ${PRIMARY} {"user_metadata":{"b":2}}`,
    ]);
  });

  it('an unlink whose lock is lost sends no DELETE', async () => {
    const { ctx, draft, calls, lost } = setup();
    lost.abort();
    const failure = await failureOf(
      unlinkUnderLock(ctx, draft, {
        primaryId: PRIMARY,
        secondaryId: SECONDARY,
        mode: 'admin',
        callerSubject: null,
        unlink: () => ctx.auth0.unlinkIdentity(PRIMARY, 'github', '42', { kind: 'service' }),
      }),
    );
    expect(failure).toMatchObject({ code: 'CONFLICT', reason: 'PRIMARY_BUSY' });
    expect(calls).toEqual([]);
  });
});

describe('link core: the restore looks at what it reads (review L1)', () => {
  it('a refused link whose fresh read shows the identity on the primary: no restore, success', async () => {
    const { ctx, request, draft, calls } = setup({ linkFails: new ForbiddenError('refused') });
    const change = await linkUnderLock(ctx, draft, request);
    expect(change).toMatchObject({ reconciled: true, mergedMetadata: { userMetadataKeys: ['b'] } });
    expect(change.identities.map((i) => `${i.provider}|${i.user_id}`)).toEqual([PRIMARY, SECONDARY]);
    // The merge PATCH only: the restore's read found the link made and sent nothing.
    expect(calls.filter((call) => call.startsWith('patch'))).toHaveLength(1);
    expect(draft).toMatchObject({ reconciled: true });
  });
});
