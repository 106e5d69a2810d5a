import { pagedReadCalls, planCarryOver, type RoleHoldings } from '../../../src/accounts/link-preview.js';

const role = (id: string) => ({ id, name: id.replace('rol_', '') });
const roles = (count: number, prefix: string) =>
  Array.from({ length: count }, (_, i) => role(`rol_${prefix}${String(i).padStart(4, '0')}`));
const org = (id: string) => ({ id, name: id.replace('org_', '') });
const none: RoleHoldings = { roles: [], organizations: [] };

describe('pagedReadCalls', () => {
  it.each([
    [0, 1],
    [1, 1],
    [100, 1],
    [101, 2],
    [250, 3],
  ])('%i items take %i page calls of 100', (count, calls) => {
    expect(pagedReadCalls(count)).toBe(calls);
  });
});

describe('planCarryOver', () => {
  const secondary: RoleHoldings = {
    roles: [role('rol_editor'), role('rol_billing')],
    organizations: [
      { organization: org('org_acme'), roles: [role('rol_billing'), role('rol_admin')] },
      { organization: org('org_globex'), roles: [] },
      { organization: org('org_initech'), roles: [role('rol_viewer')] },
    ],
  };
  const primary: RoleHoldings = {
    roles: [role('rol_editor')],
    organizations: [
      { organization: org('org_acme'), roles: [role('rol_billing')] },
      { organization: org('org_initech'), roles: [role('rol_viewer')] },
    ],
  };

  it('carries nothing and costs nothing without the flags', () => {
    expect(planCarryOver(primary, secondary, { roles: false, organizations: false })).toEqual({
      roles: [],
      organizations: [],
      calls: 0,
    });
  });

  it('carries every role of the secondary; only those the primary lacks cost a write: both users read, one assignment', () => {
    const plan = planCarryOver(primary, secondary, { roles: true, organizations: false });
    expect(plan.roles).toEqual([role('rol_editor'), role('rol_billing')]);
    expect(plan.calls).toBe(1 + 1 + 1);
  });

  it('costs no write when the primary has every role already', () => {
    expect(planCarryOver(secondary, secondary, { roles: true, organizations: false }).calls).toBe(2);
  });

  it('carries every membership with its roles; new memberships and the missing roles of shared ones cost writes', () => {
    const plan = planCarryOver(primary, secondary, { roles: false, organizations: true });
    expect(plan.organizations).toEqual([
      {
        organizationId: 'org_acme',
        organizationName: 'acme',
        roles: [role('rol_billing'), role('rol_admin')],
      },
      { organizationId: 'org_globex', organizationName: 'globex', roles: [] },
      { organizationId: 'org_initech', organizationName: 'initech', roles: [role('rol_viewer')] },
    ]);
    // Reads: both users' memberships (2), the secondary's 3 member-role lists, the primary's 2
    // shared ones. Writes: acme's missing role (1), globex's membership without roles (1).
    expect(plan.calls).toBe(2 + 3 + 2 + 1 + 1);
  });

  it('a new membership with roles costs a member add and a member-role assignment', () => {
    const plan = planCarryOver(none, secondary, { roles: false, organizations: true });
    // Reads 2 + 3; writes: acme 2, globex 1, initech 2.
    expect(plan.calls).toBe(2 + 3 + 5);
  });

  it('counts every page of a long role list', () => {
    const many: RoleHoldings = { roles: roles(150, 's'), organizations: [] };
    expect(planCarryOver(none, many, { roles: true, organizations: false }).calls).toBe(2 + 1 + 1);
  });
});
