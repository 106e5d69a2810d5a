import { journalFingerprint, type SeedUser } from '../../src/auth0-emulator/index.js';
import {
  LinkAccountsMergingMetadataDocument,
  UserMetadataDocument,
  type LinkAccountsMergingMetadataMutationVariables,
} from '../generated/graphql.js';
import { expectSentBodiesMatchContract } from '../support/auth0-contract.js';
import { codesOf, execute, postGraphQL } from '../support/graphql-client.js';
import { startHarness, type Harness } from '../support/harness.js';

// LINK_UNDO_WINDOW=0: this suite pins the exact Auth0 calls of a link; the undo record's extra
// reads (DESIGN §15) are tested in undo-link.test.ts.

// Users of their own, so the demo tenant can change without touching these expectations.
const PRIMARY = 'auth0|65f0000000000000000000a1';
const SECONDARY = 'google-oauth2|200000000000000000001';
const TWIN = 'auth0|65f0000000000000000000a2';
const STRANGER = 'auth0|65f0000000000000000000a3';

// Values carry a marker so the log test can look for every one of them.
const PRIMARY_USER_METADATA = { theme: 'dark-v4lue', prefs: { lang: 'en-v4lue' }, tags: ['p-v4lue'] };
const PRIMARY_APP_METADATA = { plan: 'pro-v4lue', crm: { id: 'crm-1-v4lue' } };
const SECONDARY_USER_METADATA = {
  theme: 'light-v4lue',
  prefs: { lang: 'fr-v4lue', tz: 'CET-v4lue' },
  tags: ['s-v4lue'],
  color: 'blue-v4lue',
};
const SECONDARY_APP_METADATA = {
  plan: 'free-v4lue',
  crm: { id: 'crm-2-v4lue', source: 'hubspot-v4lue' },
  legacyId: 'L-9-v4lue',
};
const MERGED_USER_METADATA = {
  theme: 'dark-v4lue',
  prefs: { lang: 'en-v4lue', tz: 'CET-v4lue' },
  tags: ['p-v4lue'],
  color: 'blue-v4lue',
};
const MERGED_APP_METADATA = {
  plan: 'pro-v4lue',
  crm: { id: 'crm-1-v4lue', source: 'hubspot-v4lue' },
  legacyId: 'L-9-v4lue',
};

const USERS: SeedUser[] = [
  {
    user_id: PRIMARY,
    email: 'dora@example.com',
    email_verified: true,
    user_metadata: PRIMARY_USER_METADATA,
    app_metadata: PRIMARY_APP_METADATA,
  },
  {
    user_id: SECONDARY,
    email: 'dora@example.com',
    email_verified: true,
    user_metadata: SECONDARY_USER_METADATA,
    app_metadata: SECONDARY_APP_METADATA,
    identities: [
      { provider: 'google-oauth2', user_id: '200000000000000000001', connection: 'google-oauth2' },
    ],
  },
  // Nothing of its metadata is missing from the primary: a merge changes nothing.
  {
    user_id: TWIN,
    email: 'dora@example.com',
    email_verified: true,
    user_metadata: { theme: 'other', prefs: { lang: 'de' } },
  },
  { user_id: STRANGER, email: 'stranger@example.com', email_verified: true, user_metadata: { x: 1 } },
];

describe('metadata: merged on link, readable on User', () => {
  let h: Harness;
  let adminToken: string;
  let primaryToken: string;

  beforeAll(async () => {
    h = await startHarness({ env: { LINK_UNDO_WINDOW: '0', LOG_LEVEL: 'trace' } });
  });
  afterAll(() => h.close());
  beforeEach(async () => {
    h.emulator.tenant.reset();
    for (const user of USERS) h.emulator.tenant.addUser(user);
    h.logLines.length = 0;
    adminToken = await h.emulator.tokens.adminToken({ scope: 'update:users read:users' });
    primaryToken = await h.emulator.tokens.userAccessToken({ sub: PRIMARY });
  });
  // Every link and PATCH body the gateway sent is one Auth0's published schema allows.
  afterEach(() => {
    expectSentBodiesMatchContract(h.emulator.journal);
  });

  const link = (variables: LinkAccountsMergingMetadataMutationVariables, token: string) =>
    execute(h.url, LinkAccountsMergingMetadataDocument, variables, { token });
  const adminLink = (mergeMetadata: boolean | undefined, userId = SECONDARY) =>
    link(
      { primaryId: PRIMARY, input: { admin: { provider: userId.split('|')[0], userId, mergeMetadata } } },
      adminToken,
    );
  const jwtLink = async (mergeMetadata: boolean | undefined, sub = SECONDARY) =>
    link(
      {
        primaryId: PRIMARY,
        input: { jwt: { linkWith: await h.emulator.tokens.idToken({ sub }), mergeMetadata } },
      },
      primaryToken,
    );
  /** Management API calls in arrival order, as `<route> <status>`. */
  const calls = () =>
    h.emulator.journal
      .entries()
      .filter((e) => e.path.startsWith('/api/v2/'))
      .map((e) => `${e.route} ${e.status}`);
  const patches = () => h.emulator.journal.entries({ route: 'update-user' });
  const primaryNow = () => h.emulator.tenant.getUser(PRIMARY)!;
  const linkAudit = () => h.auditEvents().find((e) => e.event === 'account.link')!;

  describe('admin mode', () => {
    it('deep-merges both kinds into the primary with one PATCH before the link, primary values winning', async () => {
      const result = await adminLink(true);

      expect(result.body.errors).toBeUndefined();
      expect(result.body.data?.linkAccounts).toEqual({
        identities: [{ id: PRIMARY }, { id: SECONDARY }],
        user: { id: PRIMARY, userMetadata: MERGED_USER_METADATA },
        mergedMetadata: { userMetadataKeys: ['prefs', 'color'], appMetadataKeys: ['crm', 'legacyId'] },
      });
      expect(calls()).toEqual([
        'get-user 200',
        'get-user 200',
        'update-user 200',
        'link 201',
        'get-user 200',
      ]);
      // Whole nested objects, only for the keys that change: Auth0 merges the top level only.
      expect(patches()[0].body).toEqual({
        user_metadata: { prefs: MERGED_USER_METADATA.prefs, color: 'blue-v4lue' },
        app_metadata: { crm: MERGED_APP_METADATA.crm, legacyId: 'L-9-v4lue' },
      });
      expect(patches()[0].headers.authorization).not.toBe(`Bearer ${journalFingerprint(adminToken)}`);
      expect(primaryNow().user_metadata).toEqual(MERGED_USER_METADATA);
      expect(primaryNow().app_metadata).toEqual(MERGED_APP_METADATA);
      expect(linkAudit()).toMatchObject({
        outcome: 'success',
        mergedMetadata: { userMetadataKeys: ['prefs', 'color'], appMetadataKeys: ['crm', 'legacyId'] },
      });
      expect(linkAudit().metadataRestore).toBeUndefined();
    });

    it('reads both users for the merge under ADMIN_LINK_POLICY=trust too', async () => {
      const trust = await startHarness({ env: { LINK_UNDO_WINDOW: '0', ADMIN_LINK_POLICY: 'trust' } });
      try {
        for (const user of USERS) trust.emulator.tenant.addUser(user);
        const token = await trust.emulator.tokens.adminToken({ scope: 'update:users' });
        const result = await execute(
          trust.url,
          LinkAccountsMergingMetadataDocument,
          { primaryId: PRIMARY, input: { admin: { provider: 'auth0', userId: TWIN, mergeMetadata: true } } },
          { token },
        );
        expect(result.body.data?.linkAccounts.mergedMetadata).toEqual({
          userMetadataKeys: [],
          appMetadataKeys: [],
        });
        expect(trust.emulator.journal.count('get-user')).toBe(3);
        expect(trust.emulator.journal.count('update-user')).toBe(0);
      } finally {
        await trust.close();
      }
    });
  });

  describe('JWT mode', () => {
    it('merges user_metadata only and leaves app_metadata alone', async () => {
      const result = await jwtLink(true);

      expect(result.body.errors).toBeUndefined();
      expect(result.body.data?.linkAccounts.mergedMetadata).toEqual({
        userMetadataKeys: ['prefs', 'color'],
        appMetadataKeys: [],
      });
      expect(result.body.data?.linkAccounts.user.userMetadata).toEqual(MERGED_USER_METADATA);
      expect(calls()).toEqual([
        'get-user 200',
        'get-user 200',
        'update-user 200',
        'link 201',
        'get-user 200',
      ]);
      expect(patches()[0].body).toEqual({
        user_metadata: { prefs: MERGED_USER_METADATA.prefs, color: 'blue-v4lue' },
      });
      expect(primaryNow().app_metadata).toEqual(PRIMARY_APP_METADATA);
      // The caller's token goes only to the link: the reads and the PATCH use the service token.
      const linkCall = h.emulator.journal.entries({ route: 'link' })[0];
      expect(linkCall.headers.authorization).toBe(`Bearer ${journalFingerprint(primaryToken)}`);
      expect(patches()[0].headers.authorization).not.toBe(`Bearer ${journalFingerprint(primaryToken)}`);
    });

    it('answers SECONDARY_NOT_FOUND before any PATCH or link when the ID token names no standalone user', async () => {
      const result = await jwtLink(true, 'auth0|65f0000000000000000000ff');
      expect(codesOf(result)).toEqual(['BAD_USER_INPUT']);
      expect(result.body.errors?.[0].extensions?.reason).toBe('SECONDARY_NOT_FOUND');
      expect(h.emulator.journal.count('update-user')).toBe(0);
      expect(h.emulator.journal.count('link')).toBe(0);
    });
  });

  describe('no PATCH when there is nothing to merge', () => {
    it.each([
      ['admin mode without mergeMetadata', () => adminLink(undefined)],
      ['admin mode with mergeMetadata: false', () => adminLink(false)],
      ['JWT mode without mergeMetadata', () => jwtLink(undefined)],
    ])('%s: no PATCH and mergedMetadata null', async (_title, run) => {
      const result = await run();
      expect(result.body.errors).toBeUndefined();
      expect(result.body.data?.linkAccounts.mergedMetadata).toBeNull();
      expect(h.emulator.journal.count('update-user')).toBe(0);
      expect(h.emulator.journal.count('link')).toBe(1);
      expect(primaryNow().user_metadata).toEqual(PRIMARY_USER_METADATA);
      expect(linkAudit().mergedMetadata).toBeUndefined();
    });

    it('a merge that changes no key sends no PATCH and reports empty key lists', async () => {
      const result = await adminLink(true, TWIN);
      expect(result.body.data?.linkAccounts.mergedMetadata).toEqual({
        userMetadataKeys: [],
        appMetadataKeys: [],
      });
      expect(calls()).toEqual(['get-user 200', 'get-user 200', 'link 201', 'get-user 200']);
    });
  });

  describe('when the link fails after the merge', () => {
    it('restores the primary exactly as it was (a second PATCH) and answers the link error', async () => {
      h.emulator.faults.add({
        route: 'link',
        status: 409,
        body: { statusCode: 409, error: 'Conflict', message: 'Specified identity already exists.' },
      });
      const result = await adminLink(true);

      expect(codesOf(result)).toEqual(['CONFLICT']);
      expect(result.body.errors?.[0].extensions?.reason).toBe('ALREADY_LINKED');
      // The 409 could be a repeated link: the primary read back shows it is not, so the merge goes.
      expect(calls()).toEqual([
        'get-user 200',
        'get-user 200',
        'update-user 200',
        'link 409',
        'get-user 200',
        'update-user 200',
      ]);
      // Changed keys back to their old values, added keys null; never an empty object.
      expect(patches()[1].body).toEqual({
        user_metadata: { prefs: PRIMARY_USER_METADATA.prefs, color: null },
        app_metadata: { crm: PRIMARY_APP_METADATA.crm, legacyId: null },
      });
      expect(primaryNow().user_metadata).toEqual(PRIMARY_USER_METADATA);
      expect(primaryNow().app_metadata).toEqual(PRIMARY_APP_METADATA);
      expect(linkAudit()).toMatchObject({ outcome: 'CONFLICT', metadataRestore: 'restored' });
    });

    it('logs a failed restore at error level and in the audit line, and still answers the link error', async () => {
      h.emulator.faults.add({ route: 'link', status: 500 });
      // The first PATCH (the merge) passes; every attempt of the restore fails.
      h.emulator.faults.add({ route: 'update-user', latencyMs: 1 });
      h.emulator.faults.add({ route: 'update-user', status: 503, times: 3 });
      const result = await adminLink(true);

      expect(codesOf(result)).toEqual(['UPSTREAM_ERROR']);
      expect(result.body.errors?.[0].extensions?.auth0).toEqual({ statusCode: 500, errorCode: null });
      // The read-back decides: the link did not happen, so the merge is to be undone.
      expect(result.body.errors?.[0].extensions?.reason).toBe('NOT_APPLIED');
      expect(calls()).toEqual([
        'get-user 200',
        'get-user 200',
        'update-user 200',
        'link 500',
        'get-user 200',
        'update-user 503',
        'update-user 503',
        'update-user 503',
      ]);
      expect(linkAudit()).toMatchObject({
        outcome: 'UPSTREAM_ERROR',
        reason: 'NOT_APPLIED',
        reconciled: true,
        metadataRestore: 'failed',
      });
      const errors = h.logLines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => l.level === 50);
      expect(errors).toEqual([
        expect.objectContaining({
          primaryId: PRIMARY,
          userMetadataKeys: ['prefs', 'color'],
          appMetadataKeys: ['crm', 'legacyId'],
          msg: expect.stringContaining('could not restore'),
        }),
      ]);
      expect(primaryNow().user_metadata).toEqual(MERGED_USER_METADATA);
    });
  });

  describe('when the PATCH fails', () => {
    it('stops the link on a 403 with its code, no link call and no restore (Auth0 refused it)', async () => {
      const body = { statusCode: 403, error: 'Forbidden', message: 'Insufficient scope, expected any of: update:users', errorCode: 'insufficient_scope' }; // prettier-ignore
      h.emulator.faults.add({ route: 'update-user', status: 403, times: 1, body });
      const result = await adminLink(true);
      expect(codesOf(result)).toEqual(['FORBIDDEN']);
      expect(result.body.errors?.[0].extensions?.auth0?.statusCode).toBe(403);
      expect(h.emulator.journal.count('update-user')).toBe(1);
      expect(h.emulator.journal.count('link')).toBe(0);
      expect(primaryNow().user_metadata).toEqual(PRIMARY_USER_METADATA);
      expect(linkAudit()).toMatchObject({ outcome: 'FORBIDDEN' });
      expect(linkAudit().mergedMetadata).toBeUndefined();
      expect(linkAudit().metadataRestore).toBeUndefined();
    });

    it('on a 5xx every attempt (outcome unknown) stops the link, reads the primary and restores nothing it did not write', async () => {
      // Retried like a read: the same metadata PATCH twice is harmless. After the third 5xx
      // Auth0 may have applied it: the primary read fresh shows it did not, so nothing is sent.
      h.emulator.faults.add({ route: 'update-user', status: 503, times: 3 });
      const result = await adminLink(true);
      expect(codesOf(result)).toEqual(['UPSTREAM_ERROR']);
      expect(result.body.errors?.[0].extensions).toMatchObject({
        auth0: { statusCode: 503 },
        reason: 'NOT_APPLIED',
      });
      expect(calls()).toEqual([
        'get-user 200',
        'get-user 200',
        'update-user 503',
        'update-user 503',
        'update-user 503',
        'get-user 200',
      ]);
      expect(primaryNow().user_metadata).toEqual(PRIMARY_USER_METADATA);
      expect(linkAudit()).toMatchObject({ outcome: 'UPSTREAM_ERROR', metadataRestore: 'restored' });
      expect(linkAudit().mergedMetadata).toBeUndefined();
    });

    it('after a PATCH that timed out (Auth0 may still apply it): OUTCOME_UNKNOWN saying the link was not made, no restore, no link', async () => {
      const quick = await startHarness({ env: { LINK_UNDO_WINDOW: '0', AUTH0_TIMEOUT_MS: '300' } });
      try {
        for (const user of USERS) quick.emulator.tenant.addUser(user);
        const token = await quick.emulator.tokens.adminToken({ scope: 'update:users read:users' });
        // Every attempt takes effect, and no answer comes in time.
        quick.emulator.faults.add({ route: 'update-user', applyFirst: true, latencyMs: 1000, times: 3 });
        const result = await execute(
          quick.url,
          LinkAccountsMergingMetadataDocument,
          { primaryId: PRIMARY, input: { admin: { provider: 'google-oauth2', userId: SECONDARY, mergeMetadata: true } } }, // prettier-ignore
          { token },
        );
        expect(codesOf(result)).toEqual(['UPSTREAM_TIMEOUT']);
        const error = result.body.errors![0];
        expect(error.extensions?.reason).toBe('OUTCOME_UNKNOWN');
        expect(error.message).toMatch(/link was not made/);
        expect(error.message).toMatch(/merged metadata keys may remain/);
        // The three attempts of the PATCH (a PATCH is repeatable), and no restore after them: a
        // late PATCH would land after it anyway (review M8).
        const patches = quick.emulator.journal.entries({ route: 'update-user' });
        expect(patches.map((p) => p.appliedStatus ?? p.status)).toEqual([200, 200, 200]);
        expect(quick.emulator.journal.count('link')).toBe(0);
        const primary = quick.emulator.tenant.getUser(PRIMARY)!;
        expect(primary.user_metadata).toEqual(MERGED_USER_METADATA);
        expect(quick.emulator.tenant.getUser(SECONDARY)).toBeDefined();
      } finally {
        await quick.close();
      }
    });

    it('after a 5xx PATCH whose restore fails: OUTCOME_UNKNOWN saying the merged keys may remain, not NOT_APPLIED', async () => {
      h.emulator.faults.add({ route: 'update-user', applyFirst: true, status: 503, times: 3 });
      // The two reads before the merge pass; the restore's read fails every attempt.
      h.emulator.faults.add({ route: 'get-user', latencyMs: 1, times: 2 });
      h.emulator.faults.add({ route: 'get-user', status: 503, times: 20 });
      const result = await adminLink(true);
      expect(codesOf(result)).toEqual(['UPSTREAM_ERROR']);
      const error = result.body.errors![0];
      expect(error.extensions).toMatchObject({ auth0: { statusCode: 503 }, reason: 'OUTCOME_UNKNOWN' });
      expect(error.message).toMatch(/link was not made/);
      expect(error.message).toMatch(/merged metadata keys may remain/);
      expect(h.emulator.journal.count('update-user')).toBe(3);
      expect(h.emulator.journal.count('link')).toBe(0);
      expect(primaryNow().user_metadata).toEqual(MERGED_USER_METADATA);
      expect(linkAudit()).toMatchObject({
        outcome: 'UPSTREAM_ERROR',
        reason: 'OUTCOME_UNKNOWN',
        metadataRestore: 'failed',
      });
    });

    it('a link 5xx after Auth0 applied it: the read-back answers success and the merged keys stay', async () => {
      h.emulator.faults.add({ route: 'link', applyFirst: true, status: 503 });
      const result = await adminLink(true);
      expect(result.body.errors).toBeUndefined();
      expect(result.body.data?.linkAccounts).toMatchObject({
        identities: [{ id: PRIMARY }, { id: SECONDARY }],
        mergedMetadata: { userMetadataKeys: ['prefs', 'color'], appMetadataKeys: ['crm', 'legacyId'] },
      });
      expect(calls()).toEqual([
        'get-user 200',
        'get-user 200',
        'update-user 200',
        'link 503',
        'get-user 200',
        'get-user 200',
      ]);
      expect(primaryNow().user_metadata).toEqual(MERGED_USER_METADATA);
      expect(primaryNow().app_metadata).toEqual(MERGED_APP_METADATA);
      expect(linkAudit()).toMatchObject({ outcome: 'success', reconciled: true });
      expect(linkAudit().metadataRestore).toBeUndefined();
    });
  });

  describe('refusals happen before any call, merge or not', () => {
    it('an invalid linkWith reaches no Auth0 endpoint at all', async () => {
      const linkWith = await h.emulator.tokens.idToken({ sub: SECONDARY, aud: 'another-client' });
      const result = await link(
        { primaryId: PRIMARY, input: { jwt: { linkWith, mergeMetadata: true } } },
        primaryToken,
      );
      expect(result.body.errors?.[0].extensions?.reason).toBe('INVALID_LINK_TOKEN');
      expect(calls()).toEqual([]);
    });

    it('the verified-email policy refuses after its reads, with no PATCH and no link', async () => {
      const result = await adminLink(true, STRANGER);
      expect(result.body.errors?.[0].extensions?.reason).toBe('EMAIL_MISMATCH');
      expect(calls()).toEqual(['get-user 200', 'get-user 200']);
    });
  });

  describe('User.userMetadata and User.appMetadata', () => {
    const read = (id: string, token: string) => execute(h.url, UserMetadataDocument, { id }, { token });

    it('gives an admin both', async () => {
      const result = await read(PRIMARY, adminToken);
      expect(result.body).toEqual({
        data: {
          user: {
            id: PRIMARY,
            email: 'dora@example.com',
            userMetadata: PRIMARY_USER_METADATA,
            appMetadata: PRIMARY_APP_METADATA,
          },
        },
      });
    });

    it('gives a plain user their userMetadata, and appMetadata null with FORBIDDEN, the rest intact', async () => {
      const result = await read(PRIMARY, primaryToken);
      expect(result.body.data).toEqual({
        user: {
          id: PRIMARY,
          email: 'dora@example.com',
          userMetadata: PRIMARY_USER_METADATA,
          appMetadata: null,
        },
      });
      expect(result.body.errors).toEqual([
        expect.objectContaining({
          path: ['user', 'appMetadata'],
          extensions: { code: 'FORBIDDEN', reason: 'INSUFFICIENT_SCOPE' },
        }),
      ]);
    });

    it("does not hand a user another user's userMetadata through linkCandidates", async () => {
      const result = await postGraphQL<{ linkCandidates: { id: string; userMetadata: unknown }[] }>(
        h.url,
        { query: `{ linkCandidates(primaryId: "${PRIMARY}") { id userMetadata } }` },
        { token: primaryToken },
      );
      const candidates = result.body.data?.linkCandidates ?? [];
      expect(candidates.map((c) => c.id).sort()).toEqual([SECONDARY, TWIN].sort());
      expect(candidates.map((c) => c.userMetadata)).toEqual([null, null]);
      expect(result.body.errors?.map((e) => [e.path?.[2], e.extensions?.reason])).toEqual([
        ['userMetadata', 'SUBJECT_MISMATCH'],
        ['userMetadata', 'SUBJECT_MISMATCH'],
      ]);
    });

    it('applies the same rules to User entities', async () => {
      const query = `query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { id userMetadata appMetadata } } }`;
      const variables = { r: [{ __typename: 'User', id: PRIMARY }] };
      const asUser = await postGraphQL(h.url, { query, variables }, { token: primaryToken });
      expect(asUser.body.data).toEqual({
        _entities: [{ id: PRIMARY, userMetadata: PRIMARY_USER_METADATA, appMetadata: null }],
      });
      expect(asUser.body.errors?.map((e) => [e.path, e.extensions?.code])).toEqual([
        [['_entities', 0, 'appMetadata'], 'FORBIDDEN'],
      ]);
      const asAdmin = await postGraphQL(h.url, { query, variables }, { token: adminToken });
      expect(asAdmin.body).toEqual({
        data: {
          _entities: [
            { id: PRIMARY, userMetadata: PRIMARY_USER_METADATA, appMetadata: PRIMARY_APP_METADATA },
          ],
        },
      });
    });
  });

  it('never writes a metadata value to the logs (LOG_LEVEL=trace), merged, restored or failed', async () => {
    await adminLink(true);
    h.emulator.tenant.reset();
    for (const user of USERS) h.emulator.tenant.addUser(user);
    h.emulator.faults.add({ route: 'link', status: 409 });
    await adminLink(true);
    h.emulator.tenant.reset();
    for (const user of USERS) h.emulator.tenant.addUser(user);
    h.emulator.faults.add({ route: 'link', status: 500 });
    h.emulator.faults.add({ route: 'update-user', latencyMs: 1 });
    h.emulator.faults.add({ route: 'update-user', status: 503, times: 3 });
    await adminLink(true);
    await read(PRIMARY);

    const logs = h.logLines.join('\n');
    expect(logs).toContain('"userMetadataKeys":["prefs","color"]');
    expect(h.logLines.length).toBeGreaterThan(10);
    expect(logs).not.toContain('v4lue');

    async function read(id: string) {
      await execute(h.url, UserMetadataDocument, { id }, { token: adminToken });
    }
  });
});
