// No ambiguous answers (DESIGN §8): a link or unlink whose answer from Auth0 is lost or unclear is
// settled by reading the primary back. The real gateway process against the emulator's
// "apply first, then fail" faults; AUTH0_TIMEOUT_MS is short so that a held answer times out.
import { startAuth0Emulator, type Auth0Emulator, type FaultRule } from '../../src/auth0-emulator/index.js';
import {
  adminLink,
  adminUnlink,
  identitiesInTenant,
  jwtLink,
  type Answer,
} from '../support/account-mutations.js';
import { startGatewayProcess, waitFor, type GatewayProcess } from '../support/gateway-process.js';

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
  let admin: string;

  beforeAll(async () => {
    emulator = await startAuth0Emulator({ port: 0 });
    gateway = await startGatewayProcess(emulator.origin, {
      AUTH0_TIMEOUT_MS: '1000',
      LOG_LEVEL: 'info',
      CALLER_RATE_LIMIT: '1000000/60',
    });
  });
  afterAll(async () => {
    await gateway?.stop();
    await emulator?.close();
  });
  beforeEach(async () => {
    emulator.tenant.reset();
    admin = await emulator.tokens.adminToken({ scope: 'update:users read:users' });
  });

  const auditLines = () =>
    gateway.logLines().filter((line) => line.audit === true && line.primaryId === PRIMARY);
  /** The latest audit line, once the process has written the `count`th one (stdout lags the answer). */
  const lastAudit = async (count = auditsSeen + 1) => {
    await waitFor(async () => auditLines().length >= count, 5000, `audit line ${count}`);
    auditsSeen = auditLines().length;
    return auditLines().at(-1)!;
  };
  let auditsSeen = 0;
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
      expect(await lastAudit(auditsSeen + 2)).toMatchObject({ outcome: 'success', reconciled: true });
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
      expect(await lastAudit(auditsSeen + 2)).toMatchObject({ outcome: 'success', reconciled: true });
    });

    it('a 409 for an identity that is not on this primary stays CONFLICT', async () => {
      seedStandalone(emulator);
      emulator.faults.add({
        route: 'link',
        status: 409,
        body: { statusCode: 409, error: 'Conflict', message: 'Specified identity already exists.' },
      });
      const answer = await adminLink(gateway.url, admin, PRIMARY, SECONDARY);
      expect(answer).toEqual({ ok: false, code: 'CONFLICT', reason: 'ALREADY_LINKED' });
      await lastAudit();
      expect(identitiesInTenant(emulator, SECONDARY)).toEqual([SECONDARY]);
    });
  });
});
