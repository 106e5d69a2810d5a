import type { SeedUser } from '../../src/auth0-emulator/index.js';
import {
  LinkAccountsCarryingOverDocument,
  type LinkAccountsCarryingOverMutationVariables,
} from '../generated/graphql.js';
import { expectSentBodiesMatchContract } from '../support/auth0-contract.js';
import { execute } from '../support/graphql-client.js';
import { startHarness, type Harness } from '../support/harness.js';
import { newWebhookSecret, startTestReceiver, type TestReceiver } from '../support/webhook-receiver.js';

// LINK_UNDO_WINDOW=0: this suite pins the exact Auth0 calls of a link; the undo record's extra
// reads (DESIGN §15) are tested in undo-link.test.ts.

// Users, roles and organizations of their own, so the demo tenant can change without touching these.
const PRIMARY = 'auth0|65f0000000000000000000c1';
const SECONDARY = 'github|7700001';
const EDITOR = 'rol_carryEditor00001';
const VIEWER = 'rol_carryViewer00001';
const BILLING = 'rol_carryBilling0001';
const ACME = 'org_carryAcme0000001';
const GLOBEX = 'org_carryGlobex00001';

const USERS: SeedUser[] = [
  { user_id: PRIMARY, email: 'erin@example.com', email_verified: true },
  {
    user_id: SECONDARY,
    email: 'erin@example.com',
    email_verified: true,
    identities: [{ provider: 'github', user_id: 7700001, connection: 'github' }],
  },
];

describe('linkAccounts carries roles and organization memberships over (admin mode)', () => {
  let h: Harness;
  let receiver: TestReceiver;
  let adminToken: string;

  beforeAll(async () => {
    const secret = newWebhookSecret();
    receiver = await startTestReceiver(secret);
    h = await startHarness({
      env: { LINK_UNDO_WINDOW: '0', WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: secret },
    });
  });
  afterAll(async () => {
    await h.close();
    await receiver.stop();
  });
  beforeEach(async () => {
    const tenant = h.emulator.tenant;
    tenant.reset();
    receiver.clear();
    for (const user of USERS) tenant.addUser(user);
    // The secondary holds two roles directly (the primary already has one of them) and two
    // memberships, one with a role of its own; the primary is a member of neither.
    tenant.addRole({ id: EDITOR, name: 'editor', users: [SECONDARY] });
    tenant.addRole({ id: VIEWER, name: 'viewer', users: [SECONDARY, PRIMARY] });
    tenant.addRole({ id: BILLING, name: 'billing-admin' });
    tenant.addOrganization({
      id: ACME,
      name: 'acme',
      members: [{ user_id: SECONDARY, roles: [{ id: BILLING }] }],
    });
    tenant.addOrganization({ id: GLOBEX, name: 'globex', members: [{ user_id: SECONDARY }] });
    h.emulator.journal.clear();
    h.logLines.length = 0;
    adminToken = await h.emulator.tokens.adminToken({ scope: 'update:users read:users' });
  });
  // Every role and membership body the gateway sent is one Auth0's published schema allows.
  afterEach(() => {
    expectSentBodiesMatchContract(h.emulator.journal);
  });

  const link = (carry: { carryRoles?: boolean; carryOrganizations?: boolean }) => {
    const variables: LinkAccountsCarryingOverMutationVariables = {
      primaryId: PRIMARY,
      input: { admin: { provider: 'github', userId: SECONDARY, ...carry } },
    };
    return execute(h.url, LinkAccountsCarryingOverDocument, variables, { token: adminToken });
  };
  /** The role and membership writes that reached the emulator, as `<route> <path tail> <body>`. */
  const accessWrites = () =>
    h.emulator.journal
      .entries()
      .filter((e) => e.method !== 'GET' && /\/(roles|members)$/.test(e.path))
      .map((e) => ({ route: e.route, path: decodeURIComponent(e.path), body: e.body }));
  const memberships = (userId: string) =>
    h.emulator.tenant
      .userMemberships(userId)
      .sort((a, b) => a.organizationId.localeCompare(b.organizationId));
  const SECONDARY_MEMBERSHIPS = [
    { organizationId: ACME, roleIds: [BILLING] },
    { organizationId: GLOBEX, roleIds: [] },
  ];
  const ADDED = [
    {
      route: 'assign-user-roles',
      path: `/api/v2/users/${PRIMARY}/roles`,
      body: { roles: [EDITOR] },
    },
    {
      route: 'add-organization-members',
      path: `/api/v2/organizations/${ACME}/members`,
      body: { members: [PRIMARY] },
    },
    {
      route: 'add-organization-members',
      path: `/api/v2/organizations/${GLOBEX}/members`,
      body: { members: [PRIMARY] },
    },
    {
      route: 'assign-member-roles',
      path: `/api/v2/organizations/${ACME}/members/${PRIMARY}/roles`,
      body: { roles: [BILLING] },
    },
  ];

  it('gives the primary every role and membership of the secondary exactly once, and lists them', async () => {
    const result = await link({ carryRoles: true, carryOrganizations: true });

    expect(result.body.errors).toBeUndefined();
    expect(result.body.data?.linkAccounts).toEqual({
      identities: [{ id: PRIMARY }, { id: SECONDARY }],
      linkId: expect.stringMatching(/^msg_/),
      formerUserId: SECONDARY,
      carriedOver: {
        userMetadataKeys: [],
        appMetadataKeys: [],
        roles: [
          { id: EDITOR, name: 'editor' },
          { id: VIEWER, name: 'viewer' },
        ],
        organizations: [
          { organizationId: ACME, organizationName: 'acme', roles: [{ id: BILLING, name: 'billing-admin' }] },
          { organizationId: GLOBEX, organizationName: 'globex', roles: [] },
        ],
      },
    });
    // Only what the primary lacked was written (it already held the viewer role), all before the link.
    expect(accessWrites()).toEqual(ADDED);
    const routes = h.emulator.journal.entries().map((e) => e.route);
    expect(routes.lastIndexOf('assign-member-roles')).toBeLessThan(routes.indexOf('link'));
    expect(h.emulator.tenant.userRoleIds(PRIMARY).sort()).toEqual([EDITOR, VIEWER].sort());
    expect(memberships(PRIMARY)).toEqual(SECONDARY_MEMBERSHIPS);

    await receiver.waitForEvents(1);
    expect(receiver.events[0].event.data).toMatchObject({
      linkId: result.body.data?.linkAccounts.linkId,
      carriedOver: { roleIds: [EDITOR, VIEWER], organizationIds: [ACME, GLOBEX] },
    });
  });

  it('without the flags writes no role or membership: Auth0 drops the secondary’s', async () => {
    const result = await link({});

    expect(result.body.errors).toBeUndefined();
    expect(result.body.data?.linkAccounts.carriedOver).toBeNull();
    expect(accessWrites()).toEqual([]);
    expect(h.emulator.journal.entries().filter((e) => /\/(roles|organizations)$/.test(e.path))).toEqual([]);
    expect(h.emulator.tenant.userRoleIds(PRIMARY)).toEqual([VIEWER]);
    expect(memberships(PRIMARY)).toEqual([]);
    expect(h.emulator.tenant.userRoleIds(SECONDARY)).toEqual([]);
    expect(memberships(SECONDARY)).toEqual([]);
    await receiver.waitForEvents(1);
    expect(receiver.events[0].event.data).not.toHaveProperty('carriedOver');
  });

  it('removes exactly what it added when the link is NOT_APPLIED (a 503 that changed nothing)', async () => {
    h.emulator.faults.add({ route: 'link', status: 503 });

    const result = await link({ carryRoles: true, carryOrganizations: true });

    expect(result.body.errors?.[0].extensions).toMatchObject({
      code: 'UPSTREAM_ERROR',
      reason: 'NOT_APPLIED',
    });
    expect(accessWrites()).toEqual([
      ...ADDED,
      // A new membership's roles go with it; the viewer role the primary had before stays.
      {
        route: 'remove-organization-members',
        path: `/api/v2/organizations/${ACME}/members`,
        body: { members: [PRIMARY] },
      },
      {
        route: 'remove-organization-members',
        path: `/api/v2/organizations/${GLOBEX}/members`,
        body: { members: [PRIMARY] },
      },
      {
        route: 'remove-user-roles',
        path: `/api/v2/users/${PRIMARY}/roles`,
        body: { roles: [EDITOR] },
      },
    ]);
    expect(h.emulator.tenant.userRoleIds(PRIMARY)).toEqual([VIEWER]);
    expect(memberships(PRIMARY)).toEqual([]);
    expect(h.emulator.tenant.userRoleIds(SECONDARY).sort()).toEqual([EDITOR, VIEWER].sort());
    expect(memberships(SECONDARY)).toEqual(SECONDARY_MEMBERSHIPS);
    expect(h.auditEvents().find((e) => e.event === 'account.link')).toMatchObject({
      outcome: 'UPSTREAM_ERROR',
      reason: 'NOT_APPLIED',
      carryRemoval: 'removed',
    });
  });

  it('removes nothing when the link was applied and its answer lost (applied, then 503)', async () => {
    h.emulator.faults.add({ route: 'link', applyFirst: true, status: 503 });

    const result = await link({ carryRoles: true, carryOrganizations: true });

    expect(result.body.errors).toBeUndefined();
    expect(result.body.data?.linkAccounts.identities).toEqual([{ id: PRIMARY }, { id: SECONDARY }]);
    expect(accessWrites()).toEqual(ADDED);
    expect(h.emulator.tenant.userRoleIds(PRIMARY).sort()).toEqual([EDITOR, VIEWER].sort());
    expect(memberships(PRIMARY)).toEqual(SECONDARY_MEMBERSHIPS);
    expect(h.auditEvents().find((e) => e.event === 'account.link')).toMatchObject({
      outcome: 'success',
      reconciled: true,
    });
  });
});
