import type { Config } from '../../../src/config.js';
import { GatewayError } from '../../../src/errors.js';
import { Auth0ManagementApi, LIST_PAGE_SIZE } from '../../../src/auth0/management-api.js';
import { createAuth0Services, type Auth0Services } from '../../../src/auth0/auth0-services.js';
import { createLogger } from '../../../src/observability/logger.js';
import { DEMO, startAuth0Emulator, type Auth0Emulator } from '../../../src/auth0-emulator/index.js';
import { expectSentBodiesMatchContract } from '../../support/auth0-contract.js';

const { alice, aliceGithub, bob, carol } = DEMO.users;
const { editor, billingAdmin, viewer } = DEMO.roles;
const { acme, globex } = DEMO.organizations;

// A client granted what carrying roles and memberships over needs, and one with read:users only.
const NARROW = { clientId: 'narrow-client', clientSecret: 'narrow-client-secret-0123456789abcdef' };
const CARRY = { clientId: 'carry-client', clientSecret: 'carry-client-secret-0123456789abcdef' };
const CARRY_SCOPES = [
  'read:users', 'update:users', 'read:roles', 'read:role_members', 'read:organizations',
  'read:organization_members', 'create:organization_members', 'delete:organization_members',
  'read:organization_member_roles', 'create:organization_member_roles', 'delete:organization_member_roles',
]; // prettier-ignore

let emulator: Auth0Emulator;
const opened: Auth0Services[] = [];

beforeAll(async () => {
  emulator = await startAuth0Emulator({ port: 0 });
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(() => {
  emulator.tenant.reset();
  emulator.tenant.addClient({
    client_id: CARRY.clientId,
    client_secret: CARRY.clientSecret,
    app_type: 'non_interactive',
    grant_types: ['client_credentials'],
    scopes: CARRY_SCOPES,
  });
  emulator.tenant.addClient({
    client_id: NARROW.clientId,
    client_secret: NARROW.clientSecret,
    app_type: 'non_interactive',
    grant_types: ['client_credentials'],
    scopes: ['read:users'],
  });
});
afterEach(async () => {
  // Every body the client sent is one Auth0's document allows.
  expectSentBodiesMatchContract(emulator.journal);
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

function api(
  client: { clientId: string; clientSecret: string } = CARRY,
  overrides: Partial<Config['auth0']> = {},
) {
  const services = createAuth0Services({
    config: {
      origin: emulator.origin,
      issuer: emulator.issuer,
      clientId: client.clientId,
      clientSecret: client.clientSecret,
      audience: emulator.managementAudience,
      timeoutMs: 2000,
      rateLimit: null,
      maxWaitMs: 10_000,
      ...overrides,
    },
    logger: createLogger({ level: 'silent' }),
    delay: async () => undefined,
  });
  opened.push(services);
  return new Auth0ManagementApi(services, { requestId: 'req-roles' });
}

async function refusal(promise: Promise<unknown>): Promise<GatewayError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(GatewayError);
    return error as GatewayError;
  }
  throw new Error('expected a GatewayError');
}

const calls = (route: Parameters<Auth0Emulator['journal']['entries']>[0]) => emulator.journal.entries(route);

describe('Auth0ManagementApi: roles and organization memberships against the emulator', () => {
  describe('reads', () => {
    it("getUserRoles answers the user's direct roles", async () => {
      expect(await api().getUserRoles(aliceGithub)).toEqual([
        { id: editor, name: 'editor', description: 'Edits content' },
      ]);
      const [entry] = calls({ route: 'get-user-roles' });
      expect(entry.path).toBe('/api/v2/users/github%7C4031337/roles');
      expect(entry.query).toEqual({ page: '0', per_page: String(LIST_PAGE_SIZE), include_totals: 'true' });
    });

    it('getUserRoles follows every page until Auth0’s total', async () => {
      const many = Array.from(
        { length: LIST_PAGE_SIZE + 5 },
        (_, i) => `rol_bulk${String(i).padStart(4, '0')}`,
      );
      for (const id of many) emulator.tenant.addRole({ id, name: id, users: [carol] });
      const roles = await api().getUserRoles(carol);
      expect(roles.map((r) => r.id)).toEqual(many);
      expect(calls({ route: 'get-user-roles' }).map((e) => e.query.page)).toEqual(['0', '1']);
    });

    it('getUserOrganizations answers every membership, over pages', async () => {
      for (let i = 0; i < LIST_PAGE_SIZE; i += 1) {
        emulator.tenant.addOrganization({
          id: `org_bulk${i}`,
          name: `bulk-${i}`,
          members: [{ user_id: aliceGithub }],
        });
      }
      const organizations = await api().getUserOrganizations(aliceGithub);
      expect(organizations).toHaveLength(LIST_PAGE_SIZE + 2);
      expect(organizations.slice(0, 2)).toEqual([
        { id: acme, name: 'acme', display_name: 'Acme Corp' },
        { id: globex, name: 'globex', display_name: 'Globex' },
      ]);
      expect(calls({ route: 'get-user-organizations' })).toHaveLength(2);
    });

    it('getMemberRoles answers the roles of one membership', async () => {
      expect(await api().getMemberRoles(acme, aliceGithub)).toEqual([
        { id: billingAdmin, name: 'billing-admin', description: 'Manages invoices' },
      ]);
      expect(await api().getMemberRoles(globex, aliceGithub)).toEqual([]);
      expect(calls({ route: 'get-member-roles' })[0].path).toBe(
        `/api/v2/organizations/${acme}/members/github%7C4031337/roles`,
      );
    });

    it('keeps extra keys Auth0 may add to a role or an organization', async () => {
      emulator.faults.add({
        route: 'get-user-organizations',
        status: 200,
        body: {
          start: 0,
          limit: 100,
          total: 1,
          organizations: [{ id: 'org_x', name: 'x', token_quota: {} }],
        },
      });
      expect(await api().getUserOrganizations(alice)).toEqual([{ id: 'org_x', name: 'x', token_quota: {} }]);
    });

    it('rejects a page without ids as UPSTREAM_ERROR', async () => {
      emulator.faults.add({ route: 'get-user-roles', status: 200, body: [{ name: 'editor' }] });
      expect((await refusal(api().getUserRoles(alice))).extensions.code).toBe('UPSTREAM_ERROR');
    });

    it('retries a read after a 503', async () => {
      emulator.faults.add({
        route: 'get-member-roles',
        status: 503,
        body: { statusCode: 503, error: 'x', message: 'x' },
      });
      expect(await api().getMemberRoles(acme, alice)).toEqual([
        { id: viewer, name: 'viewer', description: 'Reads content' },
      ]);
      expect(calls({ route: 'get-member-roles' }).map((e) => e.status)).toEqual([503, 200]);
    });
  });

  describe('writes', () => {
    it('assignUserRoles and removeUserRoles send { roles } and change the user', async () => {
      await api().assignUserRoles(carol, [editor, viewer, editor]);
      expect(emulator.tenant.userRoleIds(carol)).toEqual([editor, viewer]);
      await api().removeUserRoles(carol, [editor]);
      expect(emulator.tenant.userRoleIds(carol)).toEqual([viewer]);
      expect(calls({ route: 'assign-user-roles' })[0].body).toEqual({ roles: [editor, viewer] });
      expect(calls({ route: 'remove-user-roles' })[0]).toMatchObject({
        method: 'DELETE',
        status: 204,
        body: { roles: [editor] },
      });
    });

    it('addOrganizationMembers, assignMemberRoles, removeMemberRoles and removeOrganizationMembers', async () => {
      const client = api();
      await client.addOrganizationMembers(globex, [carol]);
      await client.assignMemberRoles(globex, carol, [billingAdmin, viewer]);
      await client.removeMemberRoles(globex, carol, [viewer]);
      expect(emulator.tenant.userMemberships(carol)).toEqual([
        { organizationId: globex, roleIds: [billingAdmin] },
      ]);
      await client.removeOrganizationMembers(globex, [carol]);
      expect(emulator.tenant.userMemberships(carol)).toEqual([]);
      expect(calls({ route: 'add-organization-members' })[0].body).toEqual({ members: [carol] });
      expect(calls({ route: 'assign-member-roles' })[0].path).toBe(
        `/api/v2/organizations/${globex}/members/auth0%7C6650a1b2c3d4e5f600000003/roles`,
      );
      expect(calls({ route: 'remove-organization-members' })[0].body).toEqual({ members: [carol] });
    });

    it('does not send a write again after a 503 (Auth0 may have acted)', async () => {
      emulator.faults.add({
        route: 'assign-user-roles',
        status: 503,
        body: { statusCode: 503, error: 'x', message: 'x' },
        applyFirst: true,
      });
      const error = await refusal(api().assignUserRoles(carol, [editor]));
      expect(error.extensions.code).toBe('UPSTREAM_ERROR');
      expect(calls({ route: 'assign-user-roles' })).toHaveLength(1);
      expect(emulator.tenant.userRoleIds(carol)).toEqual([editor]);
    });

    it('refuses an empty id list or a bad id before any call', async () => {
      await expect(api().assignUserRoles(carol, [])).rejects.toThrow(RangeError);
      expect((await refusal(api().addOrganizationMembers(acme, ['no-bar']))).extensions.code).toBe(
        'BAD_USER_INPUT',
      );
      expect((await refusal(api().assignMemberRoles('..', carol, [editor]))).extensions.code).toBe(
        'BAD_USER_INPUT',
      );
      expect(emulator.journal.entries().filter((e) => e.route !== 'token')).toEqual([]);
    });
  });

  describe('Auth0 errors', () => {
    it.each<[string, (a: Auth0ManagementApi) => Promise<unknown>, string]>([
      ['getUserRoles', (a) => a.getUserRoles('auth0|nobody'), 'get-user-roles'],
      ['assignUserRoles', (a) => a.assignUserRoles('auth0|nobody', [editor]), 'assign-user-roles'],
      ['removeUserRoles', (a) => a.removeUserRoles('auth0|nobody', [editor]), 'remove-user-roles'],
      ['getUserOrganizations', (a) => a.getUserOrganizations('auth0|nobody'), 'get-user-organizations'],
      ['getMemberRoles', (a) => a.getMemberRoles('org_nothere', alice), 'get-member-roles'],
      ['addOrganizationMembers', (a) => a.addOrganizationMembers('org_nothere', [bob]), 'add-organization-members'],
      ['removeOrganizationMembers', (a) => a.removeOrganizationMembers('org_nothere', [bob]), 'remove-organization-members'],
      ['assignMemberRoles', (a) => a.assignMemberRoles('org_nothere', bob, [viewer]), 'assign-member-roles'],
      ['removeMemberRoles', (a) => a.removeMemberRoles('org_nothere', bob, [viewer]), 'remove-member-roles'],
    ])('%s: an unknown user or organization is NOT_FOUND, asked once', async (_name, act, route) => {
      const error = await refusal(act(api()));
      expect(error.extensions.code).toBe('NOT_FOUND');
      expect(calls({ route: route as never }).map((e) => e.status)).toEqual([404]);
    }); // prettier-ignore

    it.each<[string, (a: Auth0ManagementApi) => Promise<unknown>, string]>([
      ['getUserRoles', (a) => a.getUserRoles(alice), 'get-user-roles'],
      ['assignUserRoles', (a) => a.assignUserRoles(alice, [editor]), 'assign-user-roles'],
      ['removeUserRoles', (a) => a.removeUserRoles(alice, [viewer]), 'remove-user-roles'],
      ['getUserOrganizations', (a) => a.getUserOrganizations(alice), 'get-user-organizations'],
      ['getMemberRoles', (a) => a.getMemberRoles(acme, alice), 'get-member-roles'],
      ['addOrganizationMembers', (a) => a.addOrganizationMembers(acme, [bob]), 'add-organization-members'],
      ['removeOrganizationMembers', (a) => a.removeOrganizationMembers(acme, [alice]), 'remove-organization-members'],
      ['assignMemberRoles', (a) => a.assignMemberRoles(acme, alice, [editor]), 'assign-member-roles'],
      ['removeMemberRoles', (a) => a.removeMemberRoles(acme, alice, [viewer]), 'remove-member-roles'],
    ])('%s without the scope: FORBIDDEN with reason INSUFFICIENT_SCOPE, nothing changed', async (_name, act, route) => {
      const error = await refusal(act(api(NARROW)));
      expect(error.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'INSUFFICIENT_SCOPE' });
      expect(calls({ route: route as never }).map((e) => e.status)).toEqual([403]);
      expect(emulator.tenant.userRoleIds(alice)).toEqual([viewer]);
      expect(emulator.tenant.userMemberships(alice)).toEqual([{ organizationId: acme, roleIds: [viewer] }]);
    }); // prettier-ignore
  });
});
