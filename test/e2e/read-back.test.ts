// No ambiguous answers (DESIGN §8): a link or unlink whose answer from Auth0 is lost or unclear is
// settled by reading the primary back. The real gateway process against the emulator's
// "apply first, then fail" faults; AUTH0_TIMEOUT_MS is short so that a held answer times out.
import { startAuth0Emulator, type Auth0Emulator, type FaultRule } from '../../src/auth0-emulator/index.js';
import {
  adminLink as sendAdminLink,
  adminUnlink as sendAdminUnlink,
  identitiesInTenant,
  jwtLink as sendJwtLink,
  type Answer,
} from '../support/account-mutations.js';
import { startGatewayProcess, waitFor, type GatewayProcess } from '../support/gateway-process.js';
import { postGraphQL } from '../support/graphql-client.js';
import {
  metricsOf,
  newWebhookSecret,
  sampleOf,
  startTestReceiver,
  type TestReceiver,
} from '../support/webhook-receiver.js';

// LINK_UNDO_WINDOW=0: this suite pins the exact Auth0 calls of a link; the undo record's extra
// reads (DESIGN §15) are tested in undo-link.test.ts.

// Every mutation writes exactly one audit line: counting what the tests sent tells how many lines
// the process owes, whatever an earlier test left half done (test audit: `auditsSeen`).
let mutationsSent = 0;
const counted =
  <A extends unknown[]>(send: (...args: A) => Promise<Answer>) =>
  (...args: A) => {
    mutationsSent += 1;
    return send(...args);
  };
const adminLink = counted(sendAdminLink);
const adminUnlink = counted(sendAdminUnlink);
const jwtLink = counted(sendJwtLink);

// Checks of unknown outcomes run 0.5 s and 1.5 s after the failure (DESIGN §8 says 10 s and 60 s).
const RECONCILE_DELAYS_MS = [500, 1500];

const PRIMARY = 'auth0|65f00000000000000000rb01';
const SECONDARY = 'github|7001001';
const EMAIL = 'rita@example.com';
const PRIMARY_USER_METADATA = { theme: 'dark', prefs: { lang: 'en' } };
const PRIMARY_APP_METADATA = { plan: 'pro' };
const SECONDARY_USER_METADATA = { color: 'blue', prefs: { tz: 'CET' } };
const SECONDARY_APP_METADATA = { legacyId: 'L-1' };
const MERGED_USER_METADATA = { theme: 'dark', prefs: { lang: 'en', tz: 'CET' }, color: 'blue' };
const MERGED_APP_METADATA = { plan: 'pro', legacyId: 'L-1' };

const primaryIdentity = { provider: 'auth0', user_id: PRIMARY.split('|')[1], connection: 'Username-Password-Authentication' }; // prettier-ignore
const secondaryIdentity = { provider: 'github', user_id: '7001001', connection: 'github' };

/** The primary as a user of the tenant, with `identities`. */
function addPrimary(emulator: Auth0Emulator, identities: (typeof primaryIdentity)[]) {
  emulator.tenant.addUser({
    user_id: PRIMARY,
    email: EMAIL,
    email_verified: true,
    user_metadata: PRIMARY_USER_METADATA,
    app_metadata: PRIMARY_APP_METADATA,
    identities,
  });
}

/** The primary and the secondary as two users (before a link). */
function seedStandalone(emulator: Auth0Emulator) {
  addPrimary(emulator, [primaryIdentity]);
  emulator.tenant.addUser({
    user_id: SECONDARY,
    email: EMAIL,
    email_verified: true,
    user_metadata: SECONDARY_USER_METADATA,
    app_metadata: SECONDARY_APP_METADATA,
    identities: [secondaryIdentity],
  });
}

/** The primary with the secondary already linked (before an unlink). */
function seedLinked(emulator: Auth0Emulator) {
  addPrimary(emulator, [primaryIdentity, secondaryIdentity]);
}

// A held answer outlasts AUTH0_TIMEOUT_MS (1 s) by far, so the gateway times out.
const HELD_MS = 3000;
/**
 * `unchanged`: what the gateway answers when its read-back finds the primary unchanged. Only after
 * an answer from Auth0 (the 503) does that prove nothing happened; after a timeout or a reset Auth0
 * may still be working on the request (DESIGN §8, review H1).
 */
const FAULTS: Record<
  string,
  {
    applied: Partial<FaultRule>;
    notApplied: Partial<FaultRule>;
    code: string;
    unchanged: 'NOT_APPLIED' | 'OUTCOME_UNKNOWN';
  }
> = {
  '503': {
    applied: { applyFirst: true, status: 503 },
    notApplied: { status: 503 },
    code: 'UPSTREAM_ERROR',
    unchanged: 'NOT_APPLIED',
  },
  timeout: {
    applied: { applyFirst: true, latencyMs: HELD_MS },
    // The delay, then a 503 instead of the request: it never takes effect.
    notApplied: { latencyMs: HELD_MS, status: 503 },
    code: 'UPSTREAM_TIMEOUT',
    unchanged: 'OUTCOME_UNKNOWN',
  },
  reset: {
    applied: { applyFirst: true, destroy: 'before-headers' },
    notApplied: { destroy: 'before-headers' },
    code: 'UPSTREAM_ERROR',
    unchanged: 'OUTCOME_UNKNOWN',
  },
};

type Operation = 'link' | 'link with merge' | 'unlink';
const ROWS: [Operation, 'applied' | 'not applied', string][] = [];
for (const operation of ['link', 'link with merge', 'unlink'] as const) {
  for (const applied of ['applied', 'not applied'] as const) {
    for (const fault of Object.keys(FAULTS)) ROWS.push([operation, applied, fault]);
  }
}

describe('read-back after an unclear link or unlink (real process, emulator faults)', () => {
  let emulator: Auth0Emulator;
  let gateway: GatewayProcess;
  let receiver: TestReceiver;
  let admin: string;

  beforeAll(async () => {
    const secret = newWebhookSecret();
    receiver = await startTestReceiver(secret);
    emulator = await startAuth0Emulator({ port: 0 });
    gateway = await startGatewayProcess(
      emulator.origin,
      {
        AUTH0_TIMEOUT_MS: '1000',
        LINK_UNDO_WINDOW: '0',
        LOG_LEVEL: 'info',
        CALLER_RATE_LIMIT: '1000000/60',
        WEBHOOK_URL: receiver.url,
        WEBHOOK_SECRET: secret,
        WEBHOOK_RETRY_DELAYS: '100,200,400',
      },
      { reconciliation: { delaysMs: RECONCILE_DELAYS_MS, pollMs: 50 } },
    );
  });
  afterAll(async () => {
    await gateway?.stop();
    await emulator?.close();
    await receiver?.stop();
  });
  beforeEach(async () => {
    // What earlier tests sent is written out, and their checks settled, before this one starts.
    await waitFor(async () => auditLines().length >= mutationsSent, 5000, 'earlier audit lines');
    await waitFor(
      async () => reconciliationsSettled() >= reconciliationsOwed,
      5000,
      'earlier reconciliations',
    );
    // And their events delivered: a late one would land in this test's receiver.
    await waitFor(
      async () => sampleOf(await metricsOf(gateway.origin), 'webhook_events_pending') === 0,
      5000,
      'earlier events delivered',
    );
    emulator.tenant.reset();
    receiver.clear();
    admin = await emulator.tokens.adminToken({ scope: 'update:users read:users' });
  });

  const auditLines = () =>
    gateway.logLines().filter((line) => line.audit === true && line.primaryId === PRIMARY);
  /** The latest audit line, once the process has written one for every mutation sent. */
  const lastAudit = async () => {
    await waitFor(async () => auditLines().length >= mutationsSent, 5000, `audit line ${mutationsSent}`);
    return auditLines().at(-1)!;
  };
  // Every OUTCOME_UNKNOWN leaves one check, which ends in one `reconciliation` log line.
  let reconciliationsOwed = 0;
  const reconciliationLines = () =>
    gateway.logLines().filter((line) => typeof line.reconciliation === 'string');
  const reconciliationsSettled = () => reconciliationLines().length;
  /** The reconciliation's last word on the check an OUTCOME_UNKNOWN answer just left. */
  const reconciled = async () => {
    reconciliationsOwed += 1;
    await waitFor(async () => reconciliationsSettled() >= reconciliationsOwed, 8000, 'reconciliation');
    return reconciliationLines()[reconciliationsOwed - 1];
  };
  const metadata = () => {
    const user = emulator.tenant.getUser(PRIMARY)!;
    return { user: user.user_metadata, app: user.app_metadata };
  };

  /** `account_read_backs_total` for one operation and outcome, as the process's /metrics says. */
  async function readBacks(operation: 'link' | 'unlink', outcome: string): Promise<number> {
    const text = await (await fetch(`${gateway.origin}/metrics`)).text();
    const line = text
      .split('\n')
      .find((l) => l.startsWith(`account_read_backs_total{operation="${operation}",outcome="${outcome}"}`));
    return line ? Number(line.split(' ').at(-1)) : 0;
  }

  async function run(operation: Operation): Promise<Answer> {
    if (operation === 'unlink') return adminUnlink(gateway.url, admin, PRIMARY, SECONDARY);
    if (operation === 'link with merge') return adminLink(gateway.url, admin, PRIMARY, SECONDARY, true);
    const accessToken = await emulator.tokens.userAccessToken({ sub: PRIMARY });
    return jwtLink(gateway.url, accessToken, PRIMARY, await emulator.tokens.idToken({ sub: SECONDARY }));
  }

  it.each(ROWS)(
    '%s, %s, %s: the answer, the tenant and the metadata agree',
    async (operation, applied, fault) => {
      const linking = operation !== 'unlink';
      if (linking) seedStandalone(emulator);
      else seedLinked(emulator);
      const { code, unchanged } = FAULTS[fault];
      emulator.faults.add({
        route: linking ? 'link' : 'unlink',
        ...(applied === 'applied' ? FAULTS[fault].applied : FAULTS[fault].notApplied),
      });

      const metric = operation === 'unlink' ? 'unlink' : 'link';
      const outcome = applied === 'applied' ? 'applied' : 'not_applied';
      const readBacksBefore = await readBacks(metric, outcome);

      const answer = await run(operation);

      // Counted where operators see it: one read-back, with what it found.
      expect(await readBacks(metric, outcome)).toBe(readBacksBefore + 1);
      const linkedNow = identitiesInTenant(emulator, PRIMARY)!.includes(SECONDARY);
      if (applied === 'applied') {
        expect(answer).toMatchObject({ ok: true });
        expect(answer.identities!.includes(SECONDARY)).toBe(linking);
        expect(linkedNow).toBe(linking);
        expect(await lastAudit()).toMatchObject({ outcome: 'success', reconciled: true });
      } else if (unchanged === 'NOT_APPLIED') {
        expect(answer).toEqual({ ok: false, code, reason: 'NOT_APPLIED' });
        expect(linkedNow).toBe(!linking);
        expect(await lastAudit()).toMatchObject({ outcome: code, reason: 'NOT_APPLIED', reconciled: true });
      } else {
        expect(answer).toEqual({ ok: false, code, reason: 'OUTCOME_UNKNOWN' });
        expect(linkedNow).toBe(!linking);
        const audit = await lastAudit();
        expect(audit).toMatchObject({ outcome: code, reason: 'OUTCOME_UNKNOWN' });
        expect(audit.reconciled).toBeUndefined();
        // Checked again later; Auth0 never applied it, so the check ends unchanged with no event.
        expect(await reconciled()).toMatchObject({ reconciliation: 'not_applied', operation: metric });
        expect(receiver.events).toEqual([]);
      }
      // A secondary exists as its own user exactly when it is not linked.
      expect(identitiesInTenant(emulator, SECONDARY) !== null).toBe(!linkedNow);

      if (operation === 'link with merge' && (applied === 'applied' || unchanged === 'OUTCOME_UNKNOWN')) {
        // Auth0 deleted (or may yet delete) the secondary: the merged copy is the only one left, and
        // it stays. One PATCH: no restore of any kind.
        expect(metadata()).toEqual({ user: MERGED_USER_METADATA, app: MERGED_APP_METADATA });
        if (applied === 'applied') {
          expect(answer.mergedMetadata).toEqual({
            userMetadataKeys: ['color', 'prefs'],
            appMetadataKeys: ['legacyId'],
          });
        }
        expect(emulator.journal.count('update-user')).toBe(1);
      } else if (operation === 'link with merge') {
        // Merged, then put back after a link that did not happen: the merge PATCH and the restore.
        expect(emulator.journal.count('update-user')).toBe(2);
        expect(metadata()).toEqual({ user: PRIMARY_USER_METADATA, app: PRIMARY_APP_METADATA });
      } else {
        // Nothing merged.
        expect(emulator.journal.count('update-user')).toBe(0);
        expect(metadata()).toEqual({ user: PRIMARY_USER_METADATA, app: PRIMARY_APP_METADATA });
      }
      // Never retried: one call, whatever its answer.
      expect(emulator.journal.count(linking ? 'link' : 'unlink')).toBe(1);
    },
  );

  it('answers OUTCOME_UNKNOWN when the read-back fails too, and keeps the merged keys', async () => {
    seedStandalone(emulator);
    emulator.faults.add({ route: 'link', applyFirst: true, status: 503 });
    // The two reads before the merge pass; every read after the link fails.
    emulator.faults.add({ route: 'get-user', latencyMs: 1, times: 2 });
    emulator.faults.add({ route: 'get-user', status: 503, times: 20 });

    const unknownBefore = await readBacks('link', 'unknown');

    const answer = await adminLink(gateway.url, admin, PRIMARY, SECONDARY, true);

    expect(answer).toEqual({ ok: false, code: 'UPSTREAM_ERROR', reason: 'OUTCOME_UNKNOWN' });
    expect(await readBacks('link', 'unknown')).toBe(unknownBefore + 1);
    expect(identitiesInTenant(emulator, PRIMARY)).toContain(SECONDARY);
    // Whether the link happened was unknown: nothing was restored, so nothing is lost.
    expect(metadata()).toEqual({ user: MERGED_USER_METADATA, app: MERGED_APP_METADATA });
    expect(emulator.journal.count('update-user')).toBe(1);
    const audit = await lastAudit();
    expect(audit).toMatchObject({ outcome: 'UPSTREAM_ERROR', reason: 'OUTCOME_UNKNOWN' });
    expect(audit.metadataRestore).toBeUndefined();

    // Once reads pass again, the reconciliation finds the link made and records its one event.
    emulator.faults.clear();
    expect(await reconciled()).toMatchObject({ reconciliation: 'applied', eventRecorded: true });
    await receiver.waitForEvents(1);
    expect(receiver.events[0].event.data).toMatchObject({
      primaryId: PRIMARY,
      formerUserId: SECONDARY,
      mergedMetadata: { userMetadataKeys: ['color', 'prefs'], appMetadataKeys: ['legacyId'] },
      reconciled: true,
      linkId: receiver.events[0].webhookId,
    });
  });

  describe('a repeated link answers success', () => {
    it('the same admin link twice (verified-email policy, merging): both succeed, one link call, one merge', async () => {
      seedStandalone(emulator);
      const first = await adminLink(gateway.url, admin, PRIMARY, SECONDARY, true);
      const second = await adminLink(gateway.url, admin, PRIMARY, SECONDARY, true);

      expect(first).toMatchObject({ ok: true, identities: [PRIMARY, SECONDARY] });
      // The secondary is already this primary's identity: nothing is merged again.
      expect(second).toEqual({
        ok: true,
        identities: [PRIMARY, SECONDARY],
        mergedMetadata: { userMetadataKeys: [], appMetadataKeys: [] },
      });
      expect(emulator.journal.count('link')).toBe(1);
      expect(emulator.journal.count('update-user')).toBe(1);
      expect(metadata()).toEqual({ user: MERGED_USER_METADATA, app: MERGED_APP_METADATA });
      expect(await lastAudit()).toMatchObject({ outcome: 'success', reconciled: true });
    });

    it('a client that retries after an unknown outcome gets success, not 409 (JWT mode)', async () => {
      seedStandalone(emulator);
      // The link takes effect and its answer is lost.
      emulator.faults.add({ route: 'link', applyFirst: true, destroy: 'before-headers' });
      emulator.faults.add({ route: 'get-user', status: 503, times: 20 });
      const accessToken = await emulator.tokens.userAccessToken({ sub: PRIMARY });
      const idToken = await emulator.tokens.idToken({ sub: SECONDARY });
      const first = await jwtLink(gateway.url, accessToken, PRIMARY, idToken);
      expect(first).toEqual({ ok: false, code: 'UPSTREAM_ERROR', reason: 'OUTCOME_UNKNOWN' });

      emulator.faults.clear();
      const retry = await jwtLink(gateway.url, accessToken, PRIMARY, idToken);
      expect(retry).toEqual({ ok: true, identities: [PRIMARY, SECONDARY], mergedMetadata: null });
      // Auth0 answered 409 to the retry; the read-back found the identity on this primary.
      expect(emulator.journal.entries({ route: 'link' }).map((e) => e.status)).toEqual([0, 409]);
      expect(await lastAudit()).toMatchObject({ outcome: 'success', reconciled: true });
      // The first attempt's check finds the link made and the retry's event recorded: no second one.
      expect(await reconciled()).toMatchObject({ reconciliation: 'settled' });
      await receiver.waitForEvents(1);
      expect(receiver.events.map((e) => e.event.data)).toMatchObject([{ reconciled: true }]);
    });

    it('a 409 for an identity that is not on this primary stays CONFLICT', async () => {
      seedStandalone(emulator);
      emulator.faults.add({
        route: 'link',
        status: 409,
        body: { statusCode: 409, error: 'Conflict', message: 'Specified identity already exists.' },
      });
      const notAppliedBefore = await readBacks('link', 'not_applied');
      const answer = await adminLink(gateway.url, admin, PRIMARY, SECONDARY);
      expect(answer).toEqual({ ok: false, code: 'CONFLICT', reason: 'ALREADY_LINKED' });
      // Read back after the 409, counted where operators see it.
      expect(await readBacks('link', 'not_applied')).toBe(notAppliedBefore + 1);
      await lastAudit();
      expect(identitiesInTenant(emulator, SECONDARY)).toEqual([SECONDARY]);
    });
  });

  describe('an outcome Auth0 settles after the read-back (review H1, M3)', () => {
    it('a link with merge whose POST times out and lands later: OUTCOME_UNKNOWN, merged keys kept, one reconciled event, and a retry answers the same linkId with no second event', async () => {
      seedStandalone(emulator);
      // Held past AUTH0_TIMEOUT_MS, then applied: after the gateway's read-back (review §6, test 1).
      emulator.faults.add({ route: 'link', latencyMs: 1000 + 500 });

      const answer = await adminLink(gateway.url, admin, PRIMARY, SECONDARY, true);

      expect(answer).toEqual({ ok: false, code: 'UPSTREAM_TIMEOUT', reason: 'OUTCOME_UNKNOWN' });
      // No restore of any kind: the merge PATCH only, and the merged copy stays.
      expect(emulator.journal.count('update-user')).toBe(1);
      expect(metadata()).toEqual({ user: MERGED_USER_METADATA, app: MERGED_APP_METADATA });
      expect((await lastAudit()).reason).toBe('OUTCOME_UNKNOWN');

      expect(await reconciled()).toMatchObject({
        reconciliation: 'applied',
        operation: 'link',
        eventRecorded: true,
      });
      expect(identitiesInTenant(emulator, PRIMARY)).toContain(SECONDARY);
      expect(metadata()).toEqual({ user: MERGED_USER_METADATA, app: MERGED_APP_METADATA });
      await receiver.waitForEvents(1);
      const [linked] = receiver.events;
      expect(linked.event).toMatchObject({
        type: 'account.linked',
        data: {
          primaryId: PRIMARY,
          formerUserId: SECONDARY,
          mode: 'admin',
          mergedMetadata: { userMetadataKeys: ['color', 'prefs'], appMetadataKeys: ['legacyId'] },
          linkId: linked.webhookId,
          reconciled: true,
        },
      });

      // The client retries: success with the first link's id, and no second event. An unlink after
      // it is the marker: events of one primary arrive in order, so a second link event would come first.
      const retry = await linkWithId(PRIMARY, SECONDARY);
      expect(retry).toEqual({ linkId: linked.webhookId, formerUserId: SECONDARY });
      expect(emulator.journal.count('link')).toBe(1);
      expect(await adminUnlink(gateway.url, admin, PRIMARY, SECONDARY)).toMatchObject({ ok: true });
      await receiver.waitForEvents(2);
      expect(receiver.events.map((e) => e.event.type)).toEqual(['account.linked', 'account.unlinked']);
    });

    it('an unlink whose DELETE times out and lands later: OUTCOME_UNKNOWN, then one reconciled event', async () => {
      seedLinked(emulator);
      emulator.faults.add({ route: 'unlink', latencyMs: 1000 + 500 });

      const answer = await adminUnlink(gateway.url, admin, PRIMARY, SECONDARY);

      expect(answer).toEqual({ ok: false, code: 'UPSTREAM_TIMEOUT', reason: 'OUTCOME_UNKNOWN' });
      expect(await reconciled()).toMatchObject({
        reconciliation: 'applied',
        operation: 'unlink',
        eventRecorded: true,
      });
      expect(identitiesInTenant(emulator, PRIMARY)).toEqual([PRIMARY]);
      await receiver.waitForEvents(1);
      expect(receiver.events).toHaveLength(1);
      expect(receiver.events[0].event).toMatchObject({
        type: 'account.unlinked',
        data: { primaryId: PRIMARY, detachedUserId: SECONDARY, reconciled: true },
      });
    });
    it('a link of unknown outcome that landed, then unlinked before its check: its event first (reconciled), then the unlink, and the check finds it settled', async () => {
      seedStandalone(emulator);
      // Lands between the check at 500 ms (not applied yet) and the last one at 1500 ms after the
      // answer; the unlink comes in between. Whichever comes first, the events are the same.
      emulator.faults.add({ route: 'link', latencyMs: 1000 + 1200 });

      const answer = await adminLink(gateway.url, admin, PRIMARY, SECONDARY, false);
      expect(answer).toEqual({ ok: false, code: 'UPSTREAM_TIMEOUT', reason: 'OUTCOME_UNKNOWN' });
      await lastAudit();
      // Auth0 applies the held link; the caller, reading the user, unlinks it at once.
      await waitFor(
        async () => identitiesInTenant(emulator, PRIMARY)!.includes(SECONDARY),
        5000,
        'link landed',
      );
      expect(await adminUnlink(gateway.url, admin, PRIMARY, SECONDARY)).toMatchObject({ ok: true });
      await lastAudit();

      const check = await reconciled();
      expect(check).toMatchObject({ operation: 'link' });
      expect(['settled', 'applied', 'not_applied']).toContain(check.reconciliation);
      await receiver.waitForEvents(2);
      expect(receiver.events.map((e) => [e.event.type, e.event.data.reconciled])).toEqual([
        ['account.linked', true],
        ['account.unlinked', false],
      ]);
    });
  });

  describe('one event and one linkId per applied link (review M3)', () => {
    it('a retry after a lost success (JWT mode: Auth0 answers 409) answers the first linkId and records no second event', async () => {
      seedStandalone(emulator);
      const accessToken = await emulator.tokens.userAccessToken({ sub: PRIMARY });
      const idToken = await emulator.tokens.idToken({ sub: SECONDARY });
      // The first link succeeds; its answer is what the client lost.
      const first = await jwtLinkWithId(accessToken, idToken);
      const appliedBefore = await readBacks('link', 'applied');

      const retry = await jwtLinkWithId(accessToken, idToken);

      expect(retry).toEqual(first);
      expect(emulator.journal.entries({ route: 'link' }).map((e) => e.status)).toEqual([201, 409]);
      // The 409 was read back, and counted.
      expect(await readBacks('link', 'applied')).toBe(appliedBefore + 1);
      expect(await adminUnlink(gateway.url, admin, PRIMARY, SECONDARY)).toMatchObject({ ok: true });
      await receiver.waitForEvents(2);
      expect(receiver.events.map((e) => [e.event.type, e.webhookId])).toEqual([
        ['account.linked', first.linkId],
        ['account.unlinked', expect.stringMatching(/^msg_/)],
      ]);
    });

    it("Auth0's 400 for a secondary that no longer exists, on a link already made, answers success with the first linkId", async () => {
      seedStandalone(emulator);
      const accessToken = await emulator.tokens.userAccessToken({ sub: PRIMARY });
      const idToken = await emulator.tokens.idToken({ sub: SECONDARY });
      const first = await jwtLinkWithId(accessToken, idToken);
      emulator.faults.add({
        route: 'link',
        status: 400,
        body: { statusCode: 400, error: 'Bad Request', message: 'Provided secondary account not found.' },
      });
      const appliedBefore = await readBacks('link', 'applied');

      const retry = await jwtLinkWithId(accessToken, idToken);

      expect(retry).toEqual(first);
      expect(await readBacks('link', 'applied')).toBe(appliedBefore + 1);
      expect(await lastAudit()).toMatchObject({ outcome: 'success', reconciled: true });
      await receiver.waitForEvents(1);
      expect(receiver.events.map((e) => e.webhookId)).toEqual([first.linkId]);
    });

    it('an applied link whose 201 body is unreadable answers success after the read-back, with one event', async () => {
      seedStandalone(emulator);
      emulator.faults.add({ route: 'link', applyFirst: true, malformedJson: true });
      const appliedBefore = await readBacks('link', 'applied');

      const answer = await linkWithId(PRIMARY, SECONDARY);

      expect(answer).toEqual({ linkId: expect.stringMatching(/^msg_/), formerUserId: SECONDARY });
      expect(await readBacks('link', 'applied')).toBe(appliedBefore + 1);
      expect(emulator.journal.count('link')).toBe(1);
      expect(await lastAudit()).toMatchObject({ outcome: 'success', reconciled: true });
      await receiver.waitForEvents(1);
      expect(receiver.events[0]).toMatchObject({
        webhookId: answer.linkId,
        event: { data: { linkId: answer.linkId, reconciled: true } },
      });
    });
  });

  /** An admin link that asks for the DESIGN §15 fields; fails the test on an error. */
  async function linkWithId(primaryId: string, secondaryId: string) {
    const [provider, userId] = [
      secondaryId.slice(0, secondaryId.indexOf('|')),
      secondaryId.slice(secondaryId.indexOf('|') + 1),
    ];
    return linkIds(admin, { admin: { provider, userId } }, primaryId);
  }

  function jwtLinkWithId(accessToken: string, idToken: string) {
    return linkIds(accessToken, { jwt: { linkWith: idToken } }, PRIMARY);
  }

  async function linkIds(token: string, input: unknown, primaryId: string) {
    mutationsSent += 1;
    const result = await postGraphQL<{ linkAccounts: { linkId: string; formerUserId: string } }>(
      gateway.url,
      {
        query: `mutation ($primaryId: ID!, $input: LinkAccountsInput!) {
          linkAccounts(primaryId: $primaryId, input: $input) { linkId formerUserId }
        }`,
        variables: { primaryId, input },
      },
      { token },
    );
    expect(result.body.errors).toBeUndefined();
    return result.body.data!.linkAccounts;
  }
});
