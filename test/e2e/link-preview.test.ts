import { DEMO, type SeedUser } from '../../src/auth0-emulator/index.js';
import {
  LinkAccountsIdentitiesOnlyDocument,
  LinkPreviewDocument,
  type LinkAccountsInput,
  type LinkPreviewQuery,
} from '../generated/graphql.js';
import { execute } from '../support/graphql-client.js';
import { startHarness, type Harness } from '../support/harness.js';

// linkPreview (DESIGN §15) against the real gateway and the emulator: for every refusal the link
// can get, the preview names the same code and reason and writes nothing; for every allowed link,
// `auth0Calls` is the number of Management API calls the link then makes.

const PRIMARY = 'auth0|65f0000000000000000000b1';
const SECONDARY = 'google-oauth2|300000000000000000001';
const UNVERIFIED = 'auth0|65f0000000000000000000b2';
const OTHER_EMAIL = 'auth0|65f0000000000000000000b3';
const MISSING = 'auth0|65f0000000000000000000ff';

const USERS: SeedUser[] = [
  {
    user_id: PRIMARY,
    email: 'erin@example.com',
    email_verified: true,
    user_metadata: { theme: 'dark', prefs: { lang: 'en' } },
    app_metadata: { plan: 'pro' },
  },
  {
    user_id: SECONDARY,
    email: 'erin@example.com',
    email_verified: true,
    name: 'Erin G',
    user_metadata: { theme: 'light', prefs: { lang: 'fr', tz: 'CET' }, color: 'blue' },
    app_metadata: { plan: 'free', legacyId: 'L-1' },
    identities: [
      { provider: 'google-oauth2', user_id: '300000000000000000001', connection: 'google-oauth2' },
    ],
  },
  { user_id: UNVERIFIED, email: 'erin@example.com', email_verified: false },
  { user_id: OTHER_EMAIL, email: 'someone@example.com', email_verified: true },
];

const ROLE_READ_SCOPES = [
  'read:roles',
  'read:role_members',
  'read:organizations',
  'read:organization_member_roles',
];

type Preview = LinkPreviewQuery['linkPreview'];

const adminInput = (secondaryId: string, mergeMetadata = false): LinkAccountsInput => ({
  admin: { provider: secondaryId.slice(0, secondaryId.indexOf('|')), userId: secondaryId, mergeMetadata },
});

describe('linkPreview: the link, shown before it is made (gateway + emulator over HTTP)', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());
  beforeEach(() => {
    h.emulator.tenant.reset();
    for (const user of USERS) h.emulator.tenant.addUser(user);
    // The preview reads the secondary's roles and memberships (what the link would discard).
    h.emulator.tenant.addClientGrant({
      client_id: DEMO.serviceClientId,
      audience: h.emulator.managementAudience,
      scope: ROLE_READ_SCOPES,
    });
  });

  /** Management API calls in the journal (not the token endpoint or JWKS). */
  const managementCalls = () => h.emulator.journal.entries().filter((e) => e.path.startsWith('/api/v2/'));
  const writes = () => managementCalls().filter((e) => e.method !== 'GET');

  async function preview(primaryId: string, input: LinkAccountsInput, token?: string): Promise<Preview> {
    const result = await execute(h.url, LinkPreviewDocument, { primaryId, input }, token ? { token } : {});
    expect(result.body.errors).toBeUndefined();
    return result.body.data!.linkPreview;
  }

  /** The link itself, with the journal cleared first: its answer and the calls it made. */
  async function link(primaryId: string, input: LinkAccountsInput, token?: string) {
    h.emulator.journal.clear();
    const result = await execute(
      h.url,
      LinkAccountsIdentitiesOnlyDocument,
      { primaryId, input },
      token ? { token } : {},
    );
    const error = result.body.errors?.[0];
    return {
      code: error?.extensions?.code ?? null,
      reason: error?.extensions?.reason ?? null,
      identities: result.body.data?.linkAccounts.identities.map((i) => i.id) ?? null,
      calls: managementCalls().length,
      userReads: managementCalls()
        .filter((e) => e.route === 'get-user')
        .map((e) => e.path),
    };
  }

  const admin = () => h.emulator.tokens.adminToken({ scope: 'update:users read:users' });
  const userToken = (sub: string, scope?: string) =>
    h.emulator.tokens.userAccessToken({ sub, ...(scope ? { scope } : {}) });
  const idToken = (sub: string) => h.emulator.tokens.idToken({ sub });

  describe('refusals: the same code and reason as linkAccounts, as data, with no write', () => {
    const cases: [string, string, string | null, () => Promise<[string, LinkAccountsInput, string | undefined]>][] =
      [
        ['the secondary is the primary', 'BAD_USER_INPUT', 'SAME_ACCOUNT', async () => [PRIMARY, adminInput(PRIMARY), await admin()]],
        ['the ID token is the primary’s own', 'BAD_USER_INPUT', 'SAME_ACCOUNT', async () => [PRIMARY, { jwt: { linkWith: await idToken(PRIMARY) } }, await userToken(PRIMARY)]],
        ['linkWith is not an ID token of the tenant', 'BAD_USER_INPUT', 'INVALID_LINK_TOKEN', async () => [PRIMARY, { jwt: { linkWith: 'not.a-token.at-all' } }, await userToken(PRIMARY)]],
        ['the secondary’s email is not verified', 'FORBIDDEN', 'EMAIL_NOT_VERIFIED', async () => [PRIMARY, adminInput(UNVERIFIED), await admin()]],
        ['the emails differ', 'FORBIDDEN', 'EMAIL_MISMATCH', async () => [PRIMARY, adminInput(OTHER_EMAIL), await admin()]],
        ['the bearer token is another user’s', 'FORBIDDEN', 'SUBJECT_MISMATCH', async () => [PRIMARY, { jwt: { linkWith: await idToken(SECONDARY) } }, await userToken(OTHER_EMAIL)]],
        ['the user token lacks update:current_user_identities', 'FORBIDDEN', 'INSUFFICIENT_SCOPE', async () => [PRIMARY, { jwt: { linkWith: await idToken(SECONDARY) } }, await userToken(PRIMARY, 'openid read:current_user')]],
        ['the admin token lacks the admin permission', 'FORBIDDEN', 'INSUFFICIENT_SCOPE', async () => [PRIMARY, adminInput(SECONDARY), await h.emulator.tokens.adminToken({ scope: 'read:users' })]],
        ['there is no bearer token', 'UNAUTHENTICATED', null, async () => [PRIMARY, adminInput(SECONDARY), undefined]],
        ['the primary does not exist (admin, read first)', 'NOT_FOUND', 'PRIMARY_NOT_FOUND', async () => [MISSING, adminInput(SECONDARY), await admin()]],
        ['the secondary does not exist (admin, read first)', 'BAD_USER_INPUT', 'SECONDARY_NOT_FOUND', async () => [PRIMARY, adminInput(MISSING), await admin()]],
        // JWT mode without a merge reads nothing first: Auth0's answers to the link refuse it.
        ['the primary does not exist (jwt, no read first)', 'NOT_FOUND', 'PRIMARY_NOT_FOUND', async () => [MISSING, { jwt: { linkWith: await idToken(SECONDARY) } }, await userToken(MISSING)]],
        ['the secondary does not exist (jwt, no read first)', 'BAD_USER_INPUT', 'SECONDARY_NOT_FOUND', async () => [PRIMARY, { jwt: { linkWith: await idToken(MISSING) } }, await userToken(PRIMARY)]],
      ]; // prettier-ignore

    it.each(cases)('%s: %s %s', async (_title, code, reason, build) => {
      const [primaryId, input, token] = await build();

      const seen = await preview(primaryId, input, token);
      expect(seen).toMatchObject({
        allowed: false,
        refusal: { code, reason },
        identitiesAfter: [],
        carriedOver: null,
      });
      expect(seen.refusal!.message).not.toBe('');
      expect(writes()).toEqual([]);

      const made = await link(primaryId, input, token);
      expect({ code: made.code, reason: made.reason }).toEqual({ code, reason });
      // What the refused link spent before its refusal (pre-reads, or the link call and its read-back).
      expect(made.calls).toBe(seen.auth0Calls);
    });
  });

  describe('auth0Calls: exactly the Management API calls the link then makes', () => {
    const cases: [string, () => Promise<[LinkAccountsInput, string]>][] = [
      ['a plain admin link', async () => [adminInput(SECONDARY), await admin()]],
      ['an admin link with mergeMetadata', async () => [adminInput(SECONDARY, true), await admin()]],
      [
        'a plain jwt link',
        async () => [{ jwt: { linkWith: await idToken(SECONDARY) } }, await userToken(PRIMARY)],
      ],
      [
        'a jwt link with mergeMetadata',
        async () => [
          { jwt: { linkWith: await idToken(SECONDARY), mergeMetadata: true } },
          await userToken(PRIMARY),
        ],
      ],
    ];

    it.each(cases)('%s', async (_title, build) => {
      const [input, token] = await build();

      const seen = await preview(PRIMARY, input, token);
      expect(seen.allowed).toBe(true);
      expect(seen.refusal).toBeNull();
      expect(writes()).toEqual([]);

      const made = await link(PRIMARY, input, token);
      expect(made.code).toBeNull();
      expect(made.identities).toEqual(seen.identitiesAfter.map((i) => i.id));
      expect(made.calls).toBe(seen.auth0Calls);
      // A plain jwt link reads for its undo record alone: the secondary, never the primary.
      if (_title === 'a plain jwt link') {
        expect(made.userReads).toEqual([`/api/v2/users/${encodeURIComponent(SECONDARY)}`]);
      }
    });

    it('a repeated link: allowed, the identities as they are, and the calls of the repeated link', async () => {
      const token = await admin();
      expect((await link(PRIMARY, adminInput(SECONDARY), token)).code).toBeNull();
      h.emulator.journal.clear();

      const seen = await preview(PRIMARY, adminInput(SECONDARY), token);
      expect(seen).toMatchObject({
        allowed: true,
        identitiesAfter: [{ id: PRIMARY }, { id: SECONDARY }],
        discarded: { userMetadataKeys: [], appMetadataKeys: [], roles: [], organizations: [] },
      });
      expect(writes()).toEqual([]);
      const made = await link(PRIMARY, adminInput(SECONDARY), token);
      expect(made.code).toBeNull();
      expect(made.calls).toBe(seen.auth0Calls);
    });
  });

  it('with carryRoles and carryOrganizations: carriedOver names them, nothing is discarded, and auth0Calls is what the link then made', async () => {
    h.emulator.tenant.addClientGrant({
      client_id: DEMO.serviceClientId,
      audience: h.emulator.managementAudience,
      scope: [
        ...ROLE_READ_SCOPES,
        'update:users',
        'read:users',
        'read:organization_members',
        'create:organization_members',
        'delete:organization_members',
        'create:organization_member_roles',
        'delete:organization_member_roles',
      ],
    });
    h.emulator.tenant.addRole({ id: 'rol_editor0000000001', name: 'editor', users: [SECONDARY] });
    h.emulator.tenant.addRole({ id: 'rol_billing000000001', name: 'billing', users: [SECONDARY, PRIMARY] });
    h.emulator.tenant.addOrganization({
      id: 'org_acme000000000001',
      name: 'acme',
      members: [{ user_id: SECONDARY, roles: [{ id: 'rol_billing000000001' }] }],
    });
    const token = await admin();
    const input: LinkAccountsInput = {
      admin: {
        provider: SECONDARY.slice(0, SECONDARY.indexOf('|')),
        userId: SECONDARY,
        carryRoles: true,
        carryOrganizations: true,
      },
    };

    const seen = await preview(PRIMARY, input, token);
    expect(writes()).toEqual([]);
    expect(seen.discarded.roles).toEqual([]);
    expect(seen.discarded.organizations).toEqual([]);
    expect(seen.carriedOver?.organizations.map((o) => o.organizationId)).toEqual(['org_acme000000000001']);
    // All of the secondary's, as the link's own carriedOver lists them (the primary's role included).
    expect(seen.carriedOver?.roles.map((r) => r.id).sort()).toEqual([
      'rol_billing000000001',
      'rol_editor0000000001',
    ]);

    const made = await link(PRIMARY, input, token);
    expect(made.code).toBeNull();
    expect(made.calls).toBe(seen.auth0Calls);
    expect(h.emulator.tenant.userRoleIds(PRIMARY).sort()).toEqual([
      'rol_billing000000001',
      'rol_editor0000000001',
    ]);
  });

  describe('what the link would keep and discard', () => {
    it('admin with mergeMetadata: the merged metadata after, merged keys carried, the primary’s winners discarded', async () => {
      const seen = await preview(PRIMARY, adminInput(SECONDARY, true), await admin());

      expect(seen.identitiesAfter.map((i) => i.id)).toEqual([PRIMARY, SECONDARY]);
      expect(seen.userMetadataAfter).toEqual({
        theme: 'dark',
        prefs: { lang: 'en', tz: 'CET' },
        color: 'blue',
      });
      expect(seen.appMetadataAfter).toEqual({ plan: 'pro', legacyId: 'L-1' });
      expect(seen.carriedOver).toEqual({
        userMetadataKeys: ['prefs', 'color'],
        appMetadataKeys: ['legacyId'],
        roles: [],
        organizations: [],
      });
      // The primary's value wins on these keys: the secondary's values are gone after the link.
      expect(seen.discarded).toEqual({
        userMetadataKeys: ['theme'],
        appMetadataKeys: ['plan'],
        roles: [],
        organizations: [],
      });
      // The preview answers what the link then does.
      await link(PRIMARY, adminInput(SECONDARY, true), await admin());
      expect(h.emulator.tenant.getUser(PRIMARY)!.user_metadata).toEqual(seen.userMetadataAfter);
      expect(h.emulator.tenant.getUser(PRIMARY)!.app_metadata).toEqual(seen.appMetadataAfter);
    });

    it('jwt with mergeMetadata: user_metadata merged, app_metadata after null and all of the secondary’s discarded', async () => {
      const seen = await preview(
        PRIMARY,
        { jwt: { linkWith: await idToken(SECONDARY), mergeMetadata: true } },
        await userToken(PRIMARY),
      );
      expect(seen.userMetadataAfter).toEqual({
        theme: 'dark',
        prefs: { lang: 'en', tz: 'CET' },
        color: 'blue',
      });
      expect(seen.appMetadataAfter).toBeNull();
      expect(seen.carriedOver?.appMetadataKeys).toEqual([]);
      expect(seen.discarded.appMetadataKeys).toEqual(['plan', 'legacyId']);
    });

    it('without mergeMetadata: no metadata after, nothing carried, every differing key of the secondary discarded', async () => {
      const seen = await preview(PRIMARY, adminInput(SECONDARY), await admin());
      expect(seen).toMatchObject({ userMetadataAfter: null, appMetadataAfter: null, carriedOver: null });
      expect(seen.discarded.userMetadataKeys).toEqual(['theme', 'prefs', 'color']);
      expect(seen.discarded.appMetadataKeys).toEqual(['plan', 'legacyId']);
    });

    it('names the secondary’s roles and memberships as discarded when not carried, and the link then drops them', async () => {
      h.emulator.tenant.addRole({ id: 'rol_editor0000000001', name: 'editor', users: [SECONDARY] });
      h.emulator.tenant.addRole({ id: 'rol_billing000000001', name: 'billing', users: [SECONDARY] });
      h.emulator.tenant.addOrganization({
        id: 'org_acme000000000001',
        name: 'acme',
        members: [{ user_id: SECONDARY, roles: [{ id: 'rol_billing000000001' }] }],
      });
      h.emulator.tenant.addOrganization({
        id: 'org_globex0000000001',
        name: 'globex',
        members: [{ user_id: SECONDARY }],
      });
      const token = await admin();

      const seen = await preview(PRIMARY, adminInput(SECONDARY), token);
      expect(writes()).toEqual([]);
      expect(seen.discarded.roles).toEqual(
        expect.arrayContaining([
          { id: 'rol_editor0000000001', name: 'editor' },
          { id: 'rol_billing000000001', name: 'billing' },
        ]),
      );
      expect(seen.discarded.roles).toHaveLength(2);
      expect(seen.discarded.organizations).toEqual(
        expect.arrayContaining([
          {
            organizationId: 'org_acme000000000001',
            organizationName: 'acme',
            roles: [{ id: 'rol_billing000000001', name: 'billing' }],
          },
          { organizationId: 'org_globex0000000001', organizationName: 'globex', roles: [] },
        ]),
      );
      expect(seen.discarded.organizations).toHaveLength(2);

      // The roles and memberships cost the link no call: it does not carry them.
      const made = await link(PRIMARY, adminInput(SECONDARY), token);
      expect(made.calls).toBe(seen.auth0Calls);
      expect(h.emulator.tenant.userRoleIds(SECONDARY)).toEqual([]);
      expect(h.emulator.tenant.userMemberships(SECONDARY)).toEqual([]);
      expect(h.emulator.tenant.userRoleIds(PRIMARY)).toEqual([]);
    });
  });
});
