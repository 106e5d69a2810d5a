import { DEMO, parseSeed, type Auth0Emulator } from '../../../src/auth0-emulator/index.js';
import { contractValidator } from '../../support/auth0-contract.js';
import { call, useEmulator, userPath } from '../../support/emulator-fixture.js';

const { alice, aliceGithub, bob, carol } = DEMO.users;
const { editor, billingAdmin, viewer } = DEMO.roles;
const { acme, globex } = DEMO.organizations;

const ALL = [
  'read:users', 'update:users', 'read:roles', 'read:role_members', 'read:organizations',
  'read:organization_members', 'create:organization_members', 'delete:organization_members',
  'read:organization_member_roles', 'create:organization_member_roles', 'delete:organization_member_roles',
].join(' '); // prettier-ignore

const membersPath = (org: string, suffix = '') =>
  `/api/v2/organizations/${encodeURIComponent(org)}/members${suffix}`;
const memberRolesPath = (org: string, user: string) => membersPath(org, `/${encodeURIComponent(user)}/roles`);

describe('Roles, organizations and memberships', () => {
  const emulator = useEmulator();
  const token = (e: Auth0Emulator, scope = ALL) => e.tokens.adminToken({ scope });

  describe('seeded as Auth0 returns them', () => {
    it('lists roles as Auth0 Role objects, by page and with totals', async () => {
      const e = emulator();
      const all = await call(e, 'GET', '/api/v2/roles', { token: await token(e) });
      expect(all.body).toEqual([
        { id: editor, name: 'editor', description: 'Edits content' },
        { id: billingAdmin, name: 'billing-admin', description: 'Manages invoices' },
        { id: viewer, name: 'viewer', description: 'Reads content' },
      ]);
      const paged = await call(e, 'GET', '/api/v2/roles?page=1&per_page=2&include_totals=true', {
        token: await token(e),
      });
      expect(paged.body).toEqual({
        start: 2,
        limit: 2,
        total: 3,
        roles: [{ id: viewer, name: 'viewer', description: 'Reads content' }],
      });
      const filtered = await call(e, 'GET', '/api/v2/roles?name_filter=BILL', { token: await token(e) });
      expect((filtered.body as { id: string }[]).map((r) => r.id)).toEqual([billingAdmin]);
    });

    it('lists organizations by offset and by checkpoint (from/take with next)', async () => {
      const e = emulator();
      const all = await call(e, 'GET', '/api/v2/organizations', { token: await token(e) });
      expect(all.body).toEqual([
        { id: acme, name: 'acme', display_name: 'Acme Corp' },
        { id: globex, name: 'globex', display_name: 'Globex' },
      ]);
      const first = await call(e, 'GET', '/api/v2/organizations?take=1', { token: await token(e) });
      expect(first.body).toEqual({
        organizations: [{ id: acme, name: 'acme', display_name: 'Acme Corp' }],
        next: globex,
      });
      // The last checkpoint page has no `next` (Auth0's documented end), which the document's
      // oneOf cannot tell from an offset page: it is checked against the checkpoint schema alone.
      const lastPath = `/api/v2/organizations?take=1&from=${globex}`;
      const last = await call(e, 'GET', lastPath, { token: await token(e), contract: false });
      expect(last.body).toEqual({ organizations: [{ id: globex, name: 'globex', display_name: 'Globex' }] });
      expect(
        contractValidator().checkSchema('ListOrganizationsPaginatedResponseContent', last.body).errors,
      ).toEqual([]);
    });

    it("answers a user's direct roles and organizations", async () => {
      const e = emulator();
      const roles = await call(e, 'GET', userPath(aliceGithub, '/roles'), { token: await token(e) });
      expect(roles.body).toEqual([{ id: editor, name: 'editor', description: 'Edits content' }]);
      const orgs = await call(e, 'GET', userPath(aliceGithub, '/organizations?include_totals=true'), {
        token: await token(e),
      });
      expect(orgs.body).toEqual({
        start: 0,
        limit: 50,
        total: 2,
        organizations: [
          { id: acme, name: 'acme', display_name: 'Acme Corp' },
          { id: globex, name: 'globex', display_name: 'Globex' },
        ],
      });
    });

    it('lists members without roles, and with them for fields=roles', async () => {
      const e = emulator();
      const plain = await call(e, 'GET', membersPath(acme), { token: await token(e) });
      expect(plain.body).toEqual([
        { user_id: alice, email: 'alice@example.com', picture: expect.any(String), name: 'Alice Liddell' },
        {
          user_id: aliceGithub,
          email: 'alice@example.com',
          picture: expect.any(String),
          name: 'Alice Liddell',
        },
      ]);
      const withRoles = await call(e, 'GET', membersPath(acme, '?fields=roles&take=1'), {
        token: await token(e),
      });
      expect(withRoles.body).toEqual({
        members: [expect.objectContaining({ user_id: alice, roles: [{ id: viewer, name: 'viewer' }] })],
        next: aliceGithub,
      });
      const roles = await call(e, 'GET', memberRolesPath(acme, aliceGithub), { token: await token(e) });
      expect(roles.body).toEqual([
        { id: billingAdmin, name: 'billing-admin', description: 'Manages invoices' },
      ]);
    });
  });

  describe('writes', () => {
    it('assigns and removes direct roles (204, no body), idempotently', async () => {
      const e = emulator();
      const t = await token(e);
      const assign = await call(e, 'POST', userPath(carol, '/roles'), {
        token: t,
        json: { roles: [editor, viewer] },
      });
      expect(assign.status).toBe(204);
      expect(assign.text).toBe('');
      await call(e, 'POST', userPath(carol, '/roles'), { token: t, json: { roles: [editor] } });
      expect(e.tenant.userRoleIds(carol)).toEqual([editor, viewer]);
      const remove = await call(e, 'DELETE', userPath(carol, '/roles'), {
        token: t,
        json: { roles: [editor] },
      });
      expect(remove.status).toBe(204);
      expect(e.tenant.userRoleIds(carol)).toEqual([viewer]);
      expect(e.journal.entries().map((x) => x.route)).toEqual([
        'assign-user-roles',
        'assign-user-roles',
        'remove-user-roles',
      ]);
    });

    it('adds members, gives and takes member roles, and removes a membership with its roles', async () => {
      const e = emulator();
      const t = await token(e);
      expect(
        (await call(e, 'POST', membersPath(acme), { token: t, json: { members: [carol] } })).status,
      ).toBe(204);
      const assign = await call(e, 'POST', memberRolesPath(acme, carol), {
        token: t,
        json: { roles: [billingAdmin, viewer] },
      });
      expect(assign.status).toBe(204);
      await call(e, 'DELETE', memberRolesPath(acme, carol), { token: t, json: { roles: [viewer] } });
      expect(e.tenant.userMemberships(carol)).toEqual([{ organizationId: acme, roleIds: [billingAdmin] }]);
      expect(
        (await call(e, 'DELETE', membersPath(acme), { token: t, json: { members: [carol] } })).status,
      ).toBe(204);
      expect(e.tenant.userMemberships(carol)).toEqual([]);
      // Joining again starts without the roles the earlier membership had.
      await call(e, 'POST', membersPath(acme), { token: t, json: { members: [carol] } });
      expect(e.tenant.userMemberships(carol)).toEqual([{ organizationId: acme, roleIds: [] }]);
      expect(e.journal.entries().map((x) => x.route)).toEqual([
        'add-organization-members', 'assign-member-roles', 'remove-member-roles',
        'remove-organization-members', 'add-organization-members',
      ]); // prettier-ignore
    });
  });

  describe('errors', () => {
    it.each<[string, string, string, unknown, string]>([
      ['GET', userPath(alice, '/roles'), 'read:users read:roles', undefined,
        'Insufficient scope, expected all of: read:users,read:roles,read:role_members'],
      ['POST', userPath(alice, '/roles'), 'read:users', { roles: [editor] },
        'Insufficient scope, expected any of: update:users,create:role_members'],
      ['DELETE', userPath(alice, '/roles'), 'read:users', { roles: [editor] },
        'Insufficient scope, expected any of: update:users,delete:role_members'],
      ['GET', userPath(alice, '/organizations'), 'read:users', undefined,
        'Insufficient scope, expected any of: read:organizations'],
      ['GET', membersPath(acme), 'read:organizations', undefined,
        'Insufficient scope, expected any of: read:organization_members'],
      ['GET', membersPath(acme, '?fields=roles'), 'read:organization_members', undefined,
        'Insufficient scope, expected any of: read:organization_member_roles'],
      ['POST', membersPath(acme), 'read:organization_members', { members: [bob] },
        'Insufficient scope, expected any of: create:organization_members'],
      ['DELETE', membersPath(acme), 'create:organization_members', { members: [bob] },
        'Insufficient scope, expected any of: delete:organization_members'],
      ['GET', memberRolesPath(acme, alice), 'read:organization_members', undefined,
        'Insufficient scope, expected any of: read:organization_member_roles'],
      ['POST', memberRolesPath(acme, alice), 'read:organization_member_roles', { roles: [editor] },
        'Insufficient scope, expected any of: create:organization_member_roles'],
      ['DELETE', memberRolesPath(acme, alice), 'create:organization_member_roles', { roles: [viewer] },
        'Insufficient scope, expected any of: delete:organization_member_roles'],
      ['GET', '/api/v2/roles', 'read:users', undefined, 'Insufficient scope, expected any of: read:roles'],
      ['GET', '/api/v2/organizations', 'read:users', undefined,
        'Insufficient scope, expected any of: read:organizations,read:organizations_summary'],
    ])('%s %s with only %s: 403 insufficient_scope, nothing changed', async (method, path, scope, json, message) => {
      const e = emulator();
      const res = await call(e, method, path, { token: await token(e, scope), ...(json ? { json } : {}) });
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ message, errorCode: 'insufficient_scope' });
      expect(e.tenant.userRoleIds(alice)).toEqual([viewer]);
      expect(e.tenant.userMemberships(alice)).toEqual([{ organizationId: acme, roleIds: [viewer] }]);
    }); // prettier-ignore

    it.each<[string, string, unknown, string]>([
      ['GET', userPath('auth0|nobody', '/roles'), undefined, 'The user does not exist.'],
      ['POST', userPath('auth0|nobody', '/roles'), { roles: [editor] }, 'The user does not exist.'],
      ['GET', userPath('auth0|nobody', '/organizations'), undefined, 'The user does not exist.'],
      ['GET', membersPath('org_nothere'), undefined, 'No organization found by that id.'],
      ['POST', membersPath('org_nothere'), { members: [bob] }, 'No organization found by that id.'],
      ['DELETE', membersPath('org_nothere'), { members: [bob] }, 'No organization found by that id.'],
      ['GET', memberRolesPath('org_nothere', alice), undefined, 'No organization found by that id.'],
      ['POST', memberRolesPath(globex, carol), { roles: [viewer] }, 'The user is not a member of the organization.'],
      ['DELETE', memberRolesPath(acme, 'auth0|nobody'), { roles: [viewer] }, 'The user does not exist.'],
    ])('%s %s: 404', async (method, path, json, message) => {
      const e = emulator();
      const res = await call(e, method, path, { token: await token(e), ...(json ? { json } : {}) });
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ statusCode: 404, message });
    }); // prettier-ignore

    it.each<[string, string, unknown, string]>([
      ['POST', userPath(alice, '/roles'), { roles: [] }, "Payload validation error: 'Array is too short (0), minimum 1' on property roles."],
      ['POST', userPath(alice, '/roles'), { roles: [editor], extra: 1 }, "Payload validation error: 'Additional properties not allowed: extra'."],
      ['DELETE', userPath(alice, '/roles'), {}, "Payload validation error: 'Missing required property: roles'."],
      ['POST', membersPath(acme), { members: [7] }, "Payload validation error: 'Expected type string but found type integer' on property members[0]."],
      ['POST', memberRolesPath(acme, alice), { roles: 'rol_x' }, "Payload validation error: 'Expected type array but found type string' on property roles."],
    ])('%s %s with a body the schema refuses: 400 invalid_body', async (method, path, json, message) => {
      const e = emulator();
      const res = await call(e, method, path, { token: await token(e), json });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ message, errorCode: 'invalid_body' });
    }); // prettier-ignore

    it('refuses roles and users that do not exist with 400, changing nothing', async () => {
      const e = emulator();
      const t = await token(e);
      const roles = await call(e, 'POST', userPath(carol, '/roles'), {
        token: t,
        json: { roles: [editor, 'rol_missing'] },
      });
      expect(roles.status).toBe(400);
      expect(roles.body).toMatchObject({
        message: 'One or more of the specified roles do not exist: rol_missing',
      });
      const members = await call(e, 'POST', membersPath(acme), {
        token: t,
        json: { members: [carol, 'auth0|nobody'] },
      });
      expect(members.status).toBe(400);
      expect(e.tenant.userRoleIds(carol)).toEqual([]);
      expect(e.tenant.userMemberships(carol)).toEqual([]);
    });

    it('checks paging parameters as Auth0 does', async () => {
      const e = emulator();
      const res = await call(e, 'GET', '/api/v2/organizations?page=1001', { token: await token(e) });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ errorCode: 'invalid_query_string' });
      const perPage = await call(e, 'GET', userPath(alice, '/roles?per_page=101'), { token: await token(e) });
      expect(perPage.status).toBe(400);
    });
  });

  describe('linking', () => {
    it("drops the secondary's direct roles and memberships with their roles; the primary keeps its own", async () => {
      const e = emulator();
      const t = await e.tokens.adminToken({ scope: `${ALL} update:users` });
      const link = await call(e, 'POST', userPath(alice, '/identities'), {
        token: t,
        json: { provider: 'github', user_id: '4031337' },
      });
      expect(link.status).toBe(201);
      expect(e.tenant.userRoleIds(aliceGithub)).toEqual([]);
      expect(e.tenant.userMemberships(aliceGithub)).toEqual([]);
      expect(e.tenant.userRoleIds(alice)).toEqual([viewer]);
      expect(e.tenant.userMemberships(alice)).toEqual([{ organizationId: acme, roleIds: [viewer] }]);
      const members = await call(e, 'GET', membersPath(globex), { token: t });
      expect((members.body as { user_id: string }[]).map((m) => m.user_id)).toEqual([bob]);
      // Unlinked again, the user comes back without them.
      await call(e, 'DELETE', userPath(alice, '/identities/github/4031337'), { token: t });
      expect((await call(e, 'GET', userPath(aliceGithub, '/roles'), { token: t })).body).toEqual([]);
      expect((await call(e, 'GET', userPath(aliceGithub, '/organizations'), { token: t })).body).toEqual([]);
    });
  });

  describe("Auth0's published schemas", () => {
    it('validate every success answer above (the fixture checks them) and fail a body that breaks them', () => {
      const v = contractValidator();
      const roles = v.route('GET', `/api/v2/users/${encodeURIComponent(alice)}/roles`)!;
      const extraKey = v.checkResponse(roles, 200, [{ id: editor, name: 'editor', permissions: [] }]);
      expect(extraKey.valid).toBe(false);
      expect(extraKey.errors).toEqual(expect.arrayContaining(['/0 must NOT have additional properties (permissions)']));
      const members = v.route('GET', `/api/v2/organizations/${acme}/members`)!;
      expect(v.checkResponse(members, 200, [{ user_id: alice, roles: [{ id: viewer, name: 'viewer', description: 'x' }] }]).valid).toBe(false);
      const assign = v.route('POST', `/api/v2/users/${encodeURIComponent(alice)}/roles`)!;
      expect(v.checkRequest(assign, { roles: [editor] }).valid).toBe(true);
      expect(v.checkRequest(assign, { roles: [] }).errors).toEqual(['/roles must NOT have fewer than 1 items']);
      expect(v.checkResponse(assign, 204, '').valid).toBe(true);
      expect(v.checkResponse(assign, 204, { roles: [] }).valid).toBe(false);
    }); // prettier-ignore

    it('accept the seed keys only in their Auth0 shapes', () => {
      const base = { users: [{ user_id: 'auth0|1' }], clients: [] };
      expect(() => parseSeed({ ...base, roles: [{ id: 'rol_1', name: 'r', users: ['auth0|2'] }] })).toThrow(
        'invalid seed: roles[0].users[0]: no user auth0|2 in users',
      );
      expect(() =>
        parseSeed({ ...base, roles: [], organizations: [{ id: 'org_1', name: 'Acme Corp' }] }),
      ).toThrow(/organizations\[0\]\.name/);
      expect(() =>
        parseSeed({
          ...base,
          organizations: [
            { id: 'org_1', name: 'acme', members: [{ user_id: 'auth0|1', roles: [{ id: 'rol_x' }] }] },
          ],
        }),
      ).toThrow('invalid seed: organizations[0].members[0].roles[0].id: no role rol_x in roles');
    });
  });
});
