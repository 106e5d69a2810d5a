// Holds Management API traffic to Auth0's published OpenAPI document (src/auth0/openapi/).
import { expect } from '@jest/globals';
import type { Journal, RouteName } from '../../src/auth0-emulator/index.js';
import { Auth0ContractValidator } from '../../src/auth0/openapi/contract-validator.js';

let validator: Auth0ContractValidator | undefined;

/** One validator per test file: compiling the document's schemas is the slow part. */
export function contractValidator(): Auth0ContractValidator {
  validator ??= new Auth0ContractValidator();
  return validator;
}

/** Auth0's generic error body: `{ statusCode, error, message, errorCode? }`, nothing else. */
export function expectAuth0ErrorShape(status: number, body: unknown): void {
  expect(body).toEqual({
    statusCode: status,
    error: expect.any(String),
    message: expect.any(String),
    ...(body && typeof body === 'object' && 'errorCode' in body ? { errorCode: expect.any(String) } : {}),
  });
}

/**
 * An answer of the emulator on a Management API route: a success body must be one the document
 * allows for that route and status, an error body must keep Auth0's error shape. Paths outside
 * the document (`/oauth/token`, `/userinfo`, …) are not checked.
 */
export function expectAnswerMatchesContract(
  method: string,
  path: string,
  status: number,
  body: unknown,
): void {
  const route = contractValidator().route(method, path);
  if (!route) return;
  if (status >= 200 && status < 300) {
    const check = contractValidator().checkResponse(route, status, body);
    expect({ answer: `${method} ${path} ${status}`, errors: check.errors }).toEqual({
      answer: `${method} ${path} ${status}`,
      errors: [],
    });
  } else if (status >= 400) {
    expectAuth0ErrorShape(status, body);
  }
}

const REQUEST_ROUTES: RouteName[] = [
  'link',
  'update-user',
  'assign-user-roles',
  'remove-user-roles',
  'add-organization-members',
  'remove-organization-members',
  'assign-member-roles',
  'remove-member-roles',
  'create-users-export',
];

/**
 * Every JSON body the gateway sent on a body-carrying route (link, PATCH user, role and member
 * writes, users export) since the journal was last cleared is one the document allows. Call it in `afterEach`, before the tenant resets.
 * Answers how many bodies it checked, so a suite can tell that it checked some.
 */
export function expectSentBodiesMatchContract(journal: Journal): number {
  let checked = 0;
  for (const name of REQUEST_ROUTES) {
    for (const entry of journal.entries({ route: name })) {
      if (entry.body === undefined) continue;
      const route = contractValidator().route(entry.method, entry.path);
      expect(route).toBeDefined();
      const check = contractValidator().checkRequest(route!, entry.body);
      expect({ request: `${entry.method} ${entry.path}`, errors: check.errors }).toEqual({
        request: `${entry.method} ${entry.path}`,
        errors: [],
      });
      checked += 1;
    }
  }
  return checked;
}
