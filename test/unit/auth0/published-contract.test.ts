import { readFileSync } from 'node:fs';
import { Auth0ContractValidator } from '../../../src/auth0/openapi/contract-validator.js';
import {
  auth0ConnectionIdPattern,
  auth0IdentityProviders,
  auth0OpenApiDocument,
} from '../../../src/auth0/openapi/published-contract.js';

const validator = new Auth0ContractValidator();

describe("Auth0's published Management API contract", () => {
  it('is the subset of the OpenAPI 3.1 document for the routes the gateway uses, with its MIT licence', () => {
    const document = auth0OpenApiDocument();
    expect(document.openapi).toBe('3.1.0');
    expect(
      Object.fromEntries(Object.entries(document.paths).map(([p, ops]) => [p, Object.keys(ops)])),
    ).toEqual({
      '/jobs/users-exports': ['post'],
      '/jobs/{id}': ['get'],
      '/organizations': ['get'],
      '/organizations/{id}/members': ['get', 'delete', 'post'],
      '/organizations/{id}/members/{user_id}/roles': ['get', 'delete', 'post'],
      '/roles': ['get'],
      '/users': ['get'],
      '/users-by-email': ['get'],
      '/users/{id}': ['get', 'patch'],
      '/users/{id}/identities': ['post'],
      '/users/{id}/identities/{provider}/{user_id}': ['delete'],
      '/users/{id}/organizations': ['get'],
      '/users/{id}/roles': ['get', 'delete', 'post'],
    });
    expect(readFileSync('src/auth0/openapi/LICENSE', 'utf8')).toContain('MIT License');
  });

  it('gives the provider enum and the connection_id pattern from the document', () => {
    expect(auth0IdentityProviders().size).toBe(55);
    expect([...auth0IdentityProviders()]).toEqual(
      expect.arrayContaining(['auth0', 'github', 'google-oauth2', 'samlp']),
    );
    expect(auth0IdentityProviders().has('myspace')).toBe(false);
    expect(auth0ConnectionIdPattern().source).toBe('^con_[A-Za-z0-9]{16}$');
  });

  it('finds the operation of a concrete request path', () => {
    expect(validator.route('POST', '/api/v2/users/auth0%7C1/identities')).toEqual({
      method: 'post',
      template: '/users/{id}/identities',
    });
    expect(validator.route('DELETE', '/api/v2/users/auth0%7C1/identities/github/42')?.template).toBe(
      '/users/{id}/identities/{provider}/{user_id}',
    );
    expect(validator.route('GET', '/api/v2/users?q=x')?.template).toBe('/users');
    expect(validator.route('GET', '/api/v2/clients')).toBeUndefined();
    expect(validator.route('POST', '/oauth/token')).toBeUndefined();
  });

  const link = { method: 'post', template: '/users/{id}/identities' };
  const update = { method: 'patch', template: '/users/{id}' };

  it.each<[string, unknown]>([
    ['admin mode', { provider: 'github', user_id: '4031337' }],
    ['admin mode with connection_id and a numeric user_id', { provider: 'auth0', user_id: 7, connection_id: 'con_ABCDEFGHIJ123456' }],
    ['JWT mode', { link_with: 'eyJ.x.y' }],
  ])('accepts a link body in %s', (_t, body) => {
    expect(validator.checkRequest(link, body)).toEqual({ valid: true, errors: [] });
  }); // prettier-ignore

  it.each<[string, unknown, string]>([
    ['a provider outside the enum', { provider: 'myspace', user_id: '1' }, '/provider must be equal to one of the allowed values'],
    ['a malformed connection_id', { provider: 'auth0', user_id: '1', connection_id: 'con_short' }, '/connection_id must match pattern'],
    ['an empty user_id', { provider: 'auth0', user_id: '' }, '/user_id must NOT have fewer than 1 characters'],
    ['an unknown key', { provider: 'auth0', user_id: '1', primary: true }, '(root) must NOT have additional properties (primary)'],
    ['no key at all', {}, '(root) must NOT have fewer than 1 properties'],
  ])('fails a link body with %s', (_t, body, error) => {
    const check = validator.checkRequest(link, body);
    expect(check.valid).toBe(false);
    expect(check.errors.join('\n')).toContain(error);
  }); // prettier-ignore

  it('accepts a metadata PATCH body and fails one whose metadata is not an object', () => {
    expect(validator.checkRequest(update, { user_metadata: { theme: 'dark', gone: null } }).valid).toBe(true);
    const check = validator.checkRequest(update, { user_metadata: 'dark' });
    expect(check.valid).toBe(false);
    expect(check.errors.join('\n')).toContain('/user_metadata must be object');
  });

  it('accepts the identities of a 201 as the schema allows them, and fails a body that breaks it', () => {
    const minimal = [{ provider: 'github', user_id: 4031337, connection: 'github' }];
    expect(validator.checkResponse(link, 201, minimal)).toEqual({ valid: true, errors: [] });
    const extraProfile = [
      { provider: 'auth0', user_id: 'a', connection: 'db', profileData: { email: 'a@b.c', favourite: 'x' } },
    ];
    expect(validator.checkResponse(link, 201, extraProfile).valid).toBe(true);
    const broken = [{ provider: 'github', user_id: 4031337, isSocial: 'yes', primary: true }];
    const check = validator.checkResponse(link, 201, broken);
    expect(check.valid).toBe(false);
    expect(check.errors).toEqual(
      expect.arrayContaining([
        "/0 must have required property 'connection'",
        '/0 must NOT have additional properties (primary)',
        '/0/isSocial must be boolean',
      ]),
    );
  });

  it.each<[string, string, string, unknown]>([
    ['POST', '/api/v2/users/auth0%7C1/roles', 'roles', { roles: [] }],
    ['DELETE', '/api/v2/users/auth0%7C1/roles', 'roles', { roles: ['rol_1'], extra: true }],
    ['POST', '/api/v2/organizations/org_1/members', 'members', { members: 'auth0|1' }],
    ['DELETE', '/api/v2/organizations/org_1/members', 'members', {}],
    ['POST', '/api/v2/organizations/org_1/members/auth0%7C1/roles', 'roles', { roles: ['not-a-role-id'] }],
    ['DELETE', '/api/v2/organizations/org_1/members/auth0%7C1/roles', 'roles', { roles: [1] }],
  ])('fails a %s %s body the document refuses, and accepts a good one', (method, path, key, bad) => {
    const route = validator.route(method, path)!;
    expect(validator.checkRequest(route, bad).valid).toBe(false);
    const good = key === 'members' ? { members: ['auth0|1'] } : { roles: ['rol_1'] };
    expect(validator.checkRequest(route, good)).toEqual({ valid: true, errors: [] });
    expect(validator.checkResponse(route, 204, '')).toEqual({ valid: true, errors: [] });
  });

  it('refuses to check a status the document does not list for the route', () => {
    expect(validator.checkResponse(link, 200, []).errors).toEqual([
      'the document has no JSON 200 answer for post /users/{id}/identities',
    ]);
  });
});
