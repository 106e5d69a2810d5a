import { type JWTPayload } from 'jose';
import {
  authorizeAdmin,
  authorizeJwtLink,
  authorizeUnlink,
  authorizeUserRead,
  createAccessTokenVerifier,
  requireCaller,
  type CallerResult,
} from '../../../src/auth/index.js';
import { GatewayError, UnauthenticatedError, type ErrorCode, type ErrorReason } from '../../../src/errors.js';
import {
  ADMIN_AUDIENCE,
  ADMIN_PERMISSION,
  adminAccessClaims,
  createTestKeys,
  expectNoTokenIn,
  nowSeconds,
  PRIMARY_ID,
  SECONDARY_ID,
  sign,
  type Signer,
  type TestKeys,
  userAccessClaims,
  verifierOptions,
} from './fixtures.js';

let keys: TestKeys;
beforeAll(async () => {
  keys = await createTestKeys();
});

const policy = { adminPermission: ADMIN_PERMISSION };

/** How the request authenticates: a token signed from claims, a raw header, or nothing. */
type Credentials =
  | { kind: 'none' }
  | { kind: 'header'; header: string }
  | { kind: 'token'; claims: () => JWTPayload; signer?: Signer };

const NONE: Credentials = { kind: 'none' };
const MALFORMED: Credentials = { kind: 'header', header: 'Token abc.def.ghi' };
const token = (claims: () => JWTPayload, signer?: Signer): Credentials => ({ kind: 'token', claims, signer });

// The primary user's own Management API token, as in JWT-mode linking.
const OWN_USER_TOKEN = token(() => userAccessClaims());
const EXPIRED = token(() => userAccessClaims({ exp: nowSeconds() - 60 }));
const FOREIGN_KEY = token(() => userAccessClaims(), 'foreign-unknown-kid');
const ALG_NONE = token(() => userAccessClaims(), 'none');
const HS256 = token(() => userAccessClaims(), 'hs256');
const WRONG_ISSUER = token(() => userAccessClaims({ iss: 'https://evil.example/' }));
const WRONG_AUDIENCE = token(() => userAccessClaims({ aud: 'https://other-api.example/' }));
const OTHER_USER_TOKEN = token(() => userAccessClaims({ sub: SECONDARY_ID }));
const NO_IDENTITIES_SCOPE = token(() => userAccessClaims({ scope: 'openid read:current_user' }));
// The primary's token for the admin audience (e.g. the gateway's own API), not the Management API.
const OWN_NON_MANAGEMENT_TOKEN = token(() =>
  userAccessClaims({ aud: ADMIN_AUDIENCE, scope: 'openid update:current_user_identities' }),
);
const ADMIN_BY_PERMISSIONS = token(() => adminAccessClaims());
const ADMIN_BY_SCOPE = token(() => adminAccessClaims({ permissions: undefined, scope: ADMIN_PERMISSION }));
const ADMIN_AUDIENCE_NO_PERMISSION = token(() => adminAccessClaims({ permissions: ['read:users'] }));
const ADMIN_FOR_PRIMARY = token(() => adminAccessClaims({ sub: PRIMARY_ID }));

async function resolve(credentials: Credentials): Promise<{ result: CallerResult; bearer?: string }> {
  const verifier = createAccessTokenVerifier(verifierOptions(keys.keys));
  switch (credentials.kind) {
    case 'none':
      return { result: await verifier.verifyAuthorizationHeader(undefined) };
    case 'header':
      return {
        result: await verifier.verifyAuthorizationHeader(credentials.header),
        bearer: credentials.header,
      };
    case 'token': {
      const bearer = await sign(keys, credentials.claims(), credentials.signer);
      return { result: await verifier.verifyAuthorizationHeader(`Bearer ${bearer}`), bearer };
    }
  }
}

function thrown(run: () => unknown): GatewayError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(GatewayError);
    return error as GatewayError;
  }
  throw new Error('expected the rule to throw');
}

interface Refusal {
  title: string;
  credentials: Credentials;
  code: ErrorCode;
  reason?: ErrorReason;
  /** A word the message must contain: the missing scope, permission or subject. */
  names?: string;
}

const UNAUTHENTICATED_CASES: Refusal[] = [
  { title: 'no token', credentials: NONE, code: 'UNAUTHENTICATED', names: 'bearer token' },
  { title: 'a malformed Authorization header', credentials: MALFORMED, code: 'UNAUTHENTICATED' },
  { title: 'an expired token', credentials: EXPIRED, code: 'UNAUTHENTICATED', names: 'expired' },
  { title: 'a token signed by a foreign key', credentials: FOREIGN_KEY, code: 'UNAUTHENTICATED' },
  { title: 'an alg none token', credentials: ALG_NONE, code: 'UNAUTHENTICATED', names: 'RS256' },
  { title: 'an HS256 token', credentials: HS256, code: 'UNAUTHENTICATED', names: 'RS256' },
  {
    title: 'a token from another issuer',
    credentials: WRONG_ISSUER,
    code: 'UNAUTHENTICATED',
    names: 'issuer',
  },
  {
    title: 'a token for another audience',
    credentials: WRONG_AUDIENCE,
    code: 'UNAUTHENTICATED',
    names: 'audience',
  },
];

async function expectRefusal(refusal: Refusal, rule: (result: CallerResult) => unknown): Promise<void> {
  const { result, bearer } = await resolve(refusal.credentials);
  const error = thrown(() => rule(result));
  expect(error.extensions).toEqual(
    refusal.reason ? { code: refusal.code, reason: refusal.reason } : { code: refusal.code },
  );
  if (refusal.names) expect(error.message).toContain(refusal.names);
  if (bearer) expectNoTokenIn(error, bearer);
}

describe('requireCaller', () => {
  it('returns the verified caller', async () => {
    const { result } = await resolve(OWN_USER_TOKEN);
    expect(requireCaller(result)).toBe(result.caller);
  });

  it("throws the verifier's own UNAUTHENTICATED error for a refused token", async () => {
    const { result } = await resolve(EXPIRED);
    expect(thrown(() => requireCaller(result))).toBe(result.error);
  });

  it.each(UNAUTHENTICATED_CASES)('refuses $title with $code', (refusal) =>
    expectRefusal(refusal, requireCaller),
  );

  it('asks for a bearer token when there is none', () => {
    const error = thrown(() => requireCaller({ caller: null, error: null }));
    expect(error).toBeInstanceOf(UnauthenticatedError);
    expect(error.message).toMatch(/needs a bearer token/);
  });
});

describe('authorizeJwtLink', () => {
  const refusals: Refusal[] = [
    ...UNAUTHENTICATED_CASES,
    {
      title: "another user's token (sub ≠ primaryId)",
      credentials: OTHER_USER_TOKEN,
      code: 'FORBIDDEN',
      reason: 'SUBJECT_MISMATCH',
      names: 'primaryId',
    },
    {
      title: 'an admin machine token (its sub is a client, not primaryId)',
      credentials: ADMIN_BY_PERMISSIONS,
      code: 'FORBIDDEN',
      reason: 'SUBJECT_MISMATCH',
    },
    {
      title: 'the primary’s token without update:current_user_identities',
      credentials: NO_IDENTITIES_SCOPE,
      code: 'FORBIDDEN',
      reason: 'INSUFFICIENT_SCOPE',
      names: 'update:current_user_identities',
    },
    {
      title: 'the primary’s token for an audience other than the Management API',
      credentials: OWN_NON_MANAGEMENT_TOKEN,
      code: 'FORBIDDEN',
      reason: 'INSUFFICIENT_SCOPE',
      names: 'Management API',
    },
  ];

  it.each(refusals)('refuses $title with $code $reason', (refusal) =>
    expectRefusal(refusal, (result) => authorizeJwtLink(result, PRIMARY_ID)),
  );

  it("accepts the primary's own Management API token with update:current_user_identities", async () => {
    const { result } = await resolve(OWN_USER_TOKEN);
    expect(authorizeJwtLink(result, PRIMARY_ID)).toBe(result.caller);
  });

  it('refuses an invalid token as UNAUTHENTICATED even when its subject would not match either', async () => {
    const { result } = await resolve(
      token(() => userAccessClaims({ sub: SECONDARY_ID, exp: nowSeconds() - 60 })),
    );
    expect(thrown(() => authorizeJwtLink(result, PRIMARY_ID)).extensions.code).toBe('UNAUTHENTICATED');
  });
});

describe('authorizeAdmin', () => {
  const refusals: Refusal[] = [
    ...UNAUTHENTICATED_CASES,
    {
      title: "a user's token (user token in admin mode)",
      credentials: OWN_USER_TOKEN,
      code: 'FORBIDDEN',
      reason: 'INSUFFICIENT_SCOPE',
      names: ADMIN_PERMISSION,
    },
    {
      title: 'a token for the admin audience without the admin permission',
      credentials: ADMIN_AUDIENCE_NO_PERMISSION,
      code: 'FORBIDDEN',
      reason: 'INSUFFICIENT_SCOPE',
      names: ADMIN_PERMISSION,
    },
    {
      title: 'the admin permission on a token for another audience than ADMIN_AUDIENCE',
      credentials: token(() => userAccessClaims({ permissions: [ADMIN_PERMISSION] })),
      code: 'FORBIDDEN',
      reason: 'INSUFFICIENT_SCOPE',
      names: ADMIN_PERMISSION,
    },
  ];

  it.each(refusals)('refuses $title with $code $reason', (refusal) =>
    expectRefusal(refusal, (result) => authorizeAdmin(result, policy)),
  );

  it.each([
    ['in the permissions claim', ADMIN_BY_PERMISSIONS],
    ['in scope', ADMIN_BY_SCOPE],
  ])('accepts the admin permission %s', async (_title, credentials) => {
    const { result } = await resolve(credentials);
    expect(authorizeAdmin(result, policy)).toBe(result.caller);
  });

  it('names the admin permission generically when no policy is given', async () => {
    const { result } = await resolve(OWN_USER_TOKEN);
    expect(thrown(() => authorizeAdmin(result)).message).toContain('ADMIN_PERMISSION');
  });
});

describe('authorizeUnlink', () => {
  const refusals: Refusal[] = [
    ...UNAUTHENTICATED_CASES,
    {
      title: "another user's token",
      credentials: OTHER_USER_TOKEN,
      code: 'FORBIDDEN',
      reason: 'SUBJECT_MISMATCH',
      names: ADMIN_PERMISSION,
    },
    {
      title: 'a token for the admin audience without the admin permission',
      credentials: ADMIN_AUDIENCE_NO_PERMISSION,
      code: 'FORBIDDEN',
      reason: 'SUBJECT_MISMATCH',
    },
    {
      title: 'the primary’s token without update:current_user_identities',
      credentials: NO_IDENTITIES_SCOPE,
      code: 'FORBIDDEN',
      reason: 'INSUFFICIENT_SCOPE',
      names: 'update:current_user_identities',
    },
    {
      title: 'the primary’s token for an audience other than the Management API',
      credentials: OWN_NON_MANAGEMENT_TOKEN,
      code: 'FORBIDDEN',
      reason: 'INSUFFICIENT_SCOPE',
    },
  ];

  it.each(refusals)('refuses $title with $code $reason', (refusal) =>
    expectRefusal(refusal, (result) => authorizeUnlink(result, PRIMARY_ID, policy)),
  );

  it.each([
    ["the primary's own token with update:current_user_identities", OWN_USER_TOKEN, 'user'],
    ['an admin token for any primary (permission in permissions)', ADMIN_BY_PERMISSIONS, 'admin'],
    ['an admin token for any primary (permission in scope)', ADMIN_BY_SCOPE, 'admin'],
    ['an admin token whose sub is the primary (admin wins)', ADMIN_FOR_PRIMARY, 'admin'],
  ] as const)('accepts %s in mode %s', async (_title, credentials, mode) => {
    const { result } = await resolve(credentials);
    expect(authorizeUnlink(result, PRIMARY_ID, policy)).toEqual({ caller: result.caller, mode });
  });
});

describe('authorizeUserRead', () => {
  const refusals: Refusal[] = [
    ...UNAUTHENTICATED_CASES,
    {
      title: "another user's token",
      credentials: OTHER_USER_TOKEN,
      code: 'FORBIDDEN',
      reason: 'SUBJECT_MISMATCH',
      names: ADMIN_PERMISSION,
    },
    {
      title: 'a token for the admin audience without the admin permission, for another user',
      credentials: ADMIN_AUDIENCE_NO_PERMISSION,
      code: 'FORBIDDEN',
      reason: 'SUBJECT_MISMATCH',
    },
  ];

  it.each(refusals)('refuses $title with $code $reason', (refusal) =>
    expectRefusal(refusal, (result) => authorizeUserRead(result, PRIMARY_ID, policy)),
  );

  it.each([
    ["the user's own Management API token", OWN_USER_TOKEN, 'self'],
    ["the user's own token without any identities scope", NO_IDENTITIES_SCOPE, 'self'],
    ["the user's own token for the admin audience", OWN_NON_MANAGEMENT_TOKEN, 'self'],
    ['an admin token (permission in permissions)', ADMIN_BY_PERMISSIONS, 'admin'],
    ['an admin token (permission in scope)', ADMIN_BY_SCOPE, 'admin'],
    ['an admin token whose sub is the user', ADMIN_FOR_PRIMARY, 'admin'],
  ] as const)('accepts %s in mode %s', async (_title, credentials, mode) => {
    const { result } = await resolve(credentials);
    expect(authorizeUserRead(result, PRIMARY_ID, policy)).toEqual({ caller: result.caller, mode });
  });
});
