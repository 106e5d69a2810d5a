import { jest } from '@jest/globals';
import { generateKeyPairSync, KeyObject, sign as signWithKey } from 'node:crypto';
import { errors, generateKeyPair, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import {
  createAccessTokenVerifier,
  createRemoteKeySet,
  type AccessTokenVerifierOptions,
  type CallerResult,
} from '../../../src/auth/index.js';
import { UnauthenticatedError } from '../../../src/errors.js';
import {
  ADMIN_AUDIENCE,
  ADMIN_PERMISSION,
  adminAccessClaims,
  createTestKeys,
  expectNoTokenIn,
  ISSUER,
  MANAGEMENT_AUDIENCE,
  nowSeconds,
  ORIGIN,
  PRIMARY_ID,
  sign,
  type Signer,
  SPA_CLIENT_ID,
  TENANT_KID,
  type TestKeys,
  USERINFO_AUDIENCE,
  userAccessClaims,
  verifierOptions,
} from './fixtures.js';

let keys: TestKeys;
beforeAll(async () => {
  keys = await createTestKeys();
});

function verify(header: string | undefined, overrides: Partial<AccessTokenVerifierOptions> = {}) {
  return createAccessTokenVerifier(verifierOptions(keys.keys, overrides)).verifyAuthorizationHeader(header);
}

function expectRefused(result: CallerResult, mentions: RegExp): UnauthenticatedError {
  expect(result.caller).toBeNull();
  expect(result.error).toBeInstanceOf(UnauthenticatedError);
  expect(result.error?.extensions).toEqual({ code: 'UNAUTHENTICATED' });
  expect(result.error?.message).toMatch(mentions);
  return result.error as UnauthenticatedError;
}

describe('createAccessTokenVerifier: no credentials', () => {
  it.each([
    ['no Authorization header', undefined],
    ['an empty Authorization header', ''],
    ['a blank Authorization header', '   '],
  ])('records no caller and no error for %s', async (_title, header) => {
    await expect(verify(header)).resolves.toEqual({ caller: null, error: null });
  });
});

describe('createAccessTokenVerifier: refusals are UNAUTHENTICATED and never throw', () => {
  const tokenCases: { title: string; claims: () => JWTPayload; signer?: Signer; mentions: RegExp }[] = [
    {
      title: 'an expired token',
      claims: () => userAccessClaims({ exp: nowSeconds() - 60 }),
      mentions: /expired/,
    },
    {
      title: 'a token expired beyond the clock tolerance',
      claims: () => userAccessClaims({ exp: nowSeconds() - 10 }),
      mentions: /expired/,
    },
    {
      title: 'a token signed by a foreign key with an unknown kid',
      claims: () => userAccessClaims(),
      signer: 'foreign-unknown-kid',
      mentions: /signing keys/,
    },
    {
      title: "a token signed by a foreign key claiming the tenant's kid",
      claims: () => userAccessClaims(),
      signer: 'foreign-tenant-kid',
      mentions: /signature/,
    },
    { title: 'an alg none token', claims: () => userAccessClaims(), signer: 'none', mentions: /RS256/ },
    { title: 'an HS256 token', claims: () => userAccessClaims(), signer: 'hs256', mentions: /RS256/ },
    {
      title: 'an HS256 token keyed with the tenant public key as PEM',
      claims: () => userAccessClaims(),
      signer: 'hs256-public-pem',
      mentions: /RS256/,
    },
    {
      title: 'an HS256 token keyed with the tenant public key as JWK',
      claims: () => userAccessClaims(),
      signer: 'hs256-public-jwk',
      mentions: /RS256/,
    },
    {
      title: 'a token from another issuer',
      claims: () => userAccessClaims({ iss: 'https://evil.example/' }),
      mentions: /issuer/,
    },
    {
      title: 'a token for the tenant origin without the trailing slash as issuer',
      claims: () => userAccessClaims({ iss: ORIGIN }),
      mentions: /issuer/,
    },
    { title: 'a token without iss', claims: () => userAccessClaims({ iss: undefined }), mentions: /issuer/ },
    {
      title: 'a token for another audience',
      claims: () => userAccessClaims({ aud: 'https://other-api.example/' }),
      mentions: /audience/,
    },
    {
      title: 'a token for userinfo only',
      claims: () => userAccessClaims({ aud: [USERINFO_AUDIENCE] }),
      mentions: /audience/,
    },
    {
      title: 'a token without aud',
      claims: () => userAccessClaims({ aud: undefined }),
      mentions: /audience/,
    },
    { title: 'a token without sub', claims: () => userAccessClaims({ sub: undefined }), mentions: /sub/ },
    { title: 'a token with an empty sub', claims: () => userAccessClaims({ sub: '' }), mentions: /sub/ },
    { title: 'a token with a numeric sub', claims: () => userAccessClaims({ sub: 42 }), mentions: /sub/ },
    { title: 'a token without exp', claims: () => userAccessClaims({ exp: undefined }), mentions: /exp/ },
    {
      title: 'a token with a non-numeric exp',
      claims: () => userAccessClaims({ exp: 'tomorrow' }),
      mentions: /wrong type/,
    },
    {
      title: 'a token not valid before a time in the future',
      claims: () => userAccessClaims({ nbf: nowSeconds() + 600 }),
      mentions: /not valid yet/,
    },
  ];

  it.each(tokenCases)('refuses $title', async ({ claims, signer, mentions }) => {
    const token = await sign(keys, claims(), signer);
    const error = expectRefused(await verify(`Bearer ${token}`), mentions);
    expectNoTokenIn(error, token);
  });

  it.each([
    ['a Basic credential', 'Basic dXNlcjpwYXNz'],
    ['the scheme alone', 'Bearer'],
    ['the scheme and a blank', 'Bearer   '],
    ['two tokens', 'Bearer aaa.bbb.ccc ddd.eee.fff'],
    ['a raw token without scheme', 'aaa.bbb.ccc'],
    ['characters outside token68', 'Bearer aaa.bbb.ccc,'],
  ])('refuses a malformed Authorization header: %s', async (_title, header) => {
    const error = expectRefused(await verify(header), /Authorization header/);
    expect(error.message).not.toContain('aaa.bbb');
  });

  it.each([
    ['garbage', 'not-a-jwt'],
    ['two segments', 'abc.def'],
    ['segments that decode to no JSON', 'AAAA.AAAA.AAAA'],
    [
      'a JSON payload that is not an object',
      `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from('[1]').toString('base64url')}.c2ln`,
    ],
  ])('refuses a bearer value that is not a JWT: %s', async (_title, token) => {
    const result = await verify(`Bearer ${token}`);
    const error = expectRefused(result, /.+/);
    expectNoTokenIn(error, token);
  });

  it.each([
    ['nbf', { nbf: 'now' }],
    ['iat', { iat: 'now' }],
  ])('refuses a token whose %s is not a number', async (_claim, overrides) => {
    const token = await sign(keys, userAccessClaims(overrides));
    expectRefused(await verify(`Bearer ${token}`), /wrong type/);
  });

  it('refuses a token that makes a header extension critical', async () => {
    // Signed by hand: jose refuses to sign with an extension it does not know either.
    const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const signed = `${part({ alg: 'RS256', kid: TENANT_KID, crit: ['x-ext'], 'x-ext': 1 })}.${part(userAccessClaims())}`;
    const signature = signWithKey('sha256', Buffer.from(signed), KeyObject.from(keys.tenant));
    const token = `${signed}.${signature.toString('base64url')}`;
    expectRefused(await verify(`Bearer ${token}`), /well-formed/);
  });

  it('accepts a token expired within the default clock tolerance of 5 seconds', async () => {
    const token = await sign(keys, userAccessClaims({ exp: nowSeconds() - 1 }));
    const result = await verify(`Bearer ${token}`);
    expect(result.error).toBeNull();
    expect(result.caller?.subject).toBe(PRIMARY_ID);
  });

  it('applies a configured clock tolerance', async () => {
    const token = await sign(keys, userAccessClaims({ exp: nowSeconds() - 100 }));
    expect((await verify(`Bearer ${token}`, { clockToleranceSeconds: 300 })).caller).not.toBeNull();
    expectRefused(await verify(`Bearer ${token}`, { clockToleranceSeconds: 0 }), /expired/);
  });
});

describe('createAccessTokenVerifier: key set failures', () => {
  const unreachable: [string, unknown][] = [
    ['a network error', new TypeError('fetch failed')],
    ['a JWKS timeout', new errors.JWKSTimeout()],
    [
      'a non-200 JWKS response',
      new errors.JOSEError('Expected 200 OK from the JSON Web Key Set HTTP response'),
    ],
    ['an invalid JWKS document', new errors.JWKSInvalid('JSON Web Key Set malformed')],
  ];

  it.each(unreachable)(
    'refuses as UNAUTHENTICATED saying the signing keys could not be fetched on %s, keeping the cause',
    async (_title, failure) => {
      const failing: JWTVerifyGetKey = async () => {
        throw failure;
      };
      const token = await sign(keys, userAccessClaims());
      const result = await verify(`Bearer ${token}`, { keys: failing });
      const error = expectRefused(result, /signing keys could not be fetched/);
      expect((error as Error & { cause?: unknown }).cause).toBe(failure);
      expectNoTokenIn(error, token);
    },
  );

  it.each([
    ['an HMAC secret', async () => new TextEncoder().encode('a-shared-secret-that-is-long-enough-for-hs256')],
    [
      'an RSA key shorter than 2048 bits',
      async () => generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey,
    ],
    ['an elliptic-curve key', async () => (await generateKeyPair('ES256')).publicKey],
  ])('refuses when the key set hands out %s for the token', async (_title, makeKey) => {
    const key = await makeKey();
    const odd: JWTVerifyGetKey = async () => key;
    const token = await sign(keys, userAccessClaims());
    expectRefused(await verify(`Bearer ${token}`, { keys: odd }), /not signed with any/);
  });

  it('tells a key the tenant does not publish apart from an unreachable key set', async () => {
    const noMatch: JWTVerifyGetKey = async () => {
      throw new errors.JWKSNoMatchingKey();
    };
    const token = await sign(keys, userAccessClaims());
    const error = expectRefused(await verify(`Bearer ${token}`, { keys: noMatch }), /not signed with any/);
    expect(error.message).not.toMatch(/could not be fetched/);
  });
});

describe('createAccessTokenVerifier: accepted tokens', () => {
  it("describes a user's Management API token as a caller", async () => {
    const token = await sign(keys, userAccessClaims());
    const result = await verify(`Bearer ${token}`);
    expect(result.error).toBeNull();
    const caller = result.caller!;
    expect(caller.subject).toBe(PRIMARY_ID);
    expect(caller.token).toBe(token);
    expect(caller.audiences).toEqual([MANAGEMENT_AUDIENCE, USERINFO_AUDIENCE]);
    expect(caller.authorizedParty).toBe(SPA_CLIENT_ID);
    expect([...caller.scopes].sort()).toEqual([
      'email',
      'openid',
      'profile',
      'update:current_user_identities',
    ]);
    expect(caller.permissions.size).toBe(0);
    expect(caller.isManagementToken).toBe(true);
    expect(caller.isAdmin).toBe(false);
  });

  it.each([
    ['a lowercase scheme', (t: string) => `bearer ${t}`],
    ['an uppercase scheme', (t: string) => `BEARER ${t}`],
    ['extra spaces', (t: string) => `Bearer   ${t}  `],
  ])('accepts the Bearer scheme with %s', async (_title, header) => {
    const token = await sign(keys, userAccessClaims());
    const result = await verify(header(token));
    expect(result.error).toBeNull();
    expect(result.caller?.token).toBe(token);
  });

  it('accepts a token whose header has no kid when the tenant publishes one key', async () => {
    const token = await sign(keys, userAccessClaims(), 'tenant-no-kid');
    expect((await verify(`Bearer ${token}`)).caller?.subject).toBe(PRIMARY_ID);
  });

  const flagCases: {
    title: string;
    claims: () => JWTPayload;
    options?: Partial<AccessTokenVerifierOptions>;
    isManagementToken: boolean;
    isAdmin: boolean;
  }[] = [
    {
      title: 'aud as a single string for the Management API',
      claims: () => userAccessClaims({ aud: MANAGEMENT_AUDIENCE }),
      isManagementToken: true,
      isAdmin: false,
    },
    {
      title: 'the admin permission in the permissions claim',
      claims: () => adminAccessClaims(),
      isManagementToken: false,
      isAdmin: true,
    },
    {
      title: 'the admin permission in scope',
      claims: () => adminAccessClaims({ permissions: undefined, scope: `read:users ${ADMIN_PERMISSION}` }),
      isManagementToken: false,
      isAdmin: true,
    },
    {
      title: 'the admin audience without the admin permission',
      claims: () => adminAccessClaims({ permissions: ['read:users'], scope: 'read:users' }),
      isManagementToken: false,
      isAdmin: false,
    },
    {
      title: 'the admin permission on a token for the Management API only',
      claims: () => userAccessClaims({ scope: `${ADMIN_PERMISSION}`, permissions: [ADMIN_PERMISSION] }),
      isManagementToken: true,
      isAdmin: false,
    },
    {
      title: 'the admin permission with ADMIN_AUDIENCE defaulting to the Management API',
      claims: () => adminAccessClaims({ aud: MANAGEMENT_AUDIENCE, scope: `read:users ${ADMIN_PERMISSION}` }),
      options: { adminAudience: MANAGEMENT_AUDIENCE },
      isManagementToken: true,
      isAdmin: true,
    },
    {
      title: 'a permission that only starts like the admin permission',
      claims: () =>
        adminAccessClaims({ permissions: [`${ADMIN_PERMISSION}:extra`], scope: `x${ADMIN_PERMISSION}` }),
      isManagementToken: false,
      isAdmin: false,
    },
    {
      title: 'both audiences in one token',
      claims: () => adminAccessClaims({ aud: [MANAGEMENT_AUDIENCE, ADMIN_AUDIENCE] }),
      isManagementToken: true,
      isAdmin: true,
    },
  ];

  it.each(flagCases)(
    'sets the caller flags for $title',
    async ({ claims, options, isManagementToken, isAdmin }) => {
      const token = await sign(keys, claims());
      const result = await verify(`Bearer ${token}`, options);
      expect(result.error).toBeNull();
      expect(result.caller).toMatchObject({ isManagementToken, isAdmin });
    },
  );

  it.each([
    ['an end user', () => userAccessClaims(), false],
    ['a client-credentials token (gty)', () => adminAccessClaims(), true],
    ['a machine sub without gty', () => adminAccessClaims({ gty: undefined }), true],
    ['gty alone', () => adminAccessClaims({ sub: 'auth0|6650a1b2c3d4e5f600000009' }), true],
  ])('tells a machine caller from an end user (per-caller limits): %s', async (_title, claims, expected) => {
    const token = await sign(keys, claims());
    expect((await verify(`Bearer ${token}`)).caller?.isClientCredentials).toBe(expected);
  });

  it('leaves authorizedParty undefined when the token has no azp', async () => {
    const token = await sign(keys, userAccessClaims({ azp: undefined }));
    const caller = (await verify(`Bearer ${token}`)).caller;
    expect(caller).not.toBeNull();
    expect(caller?.authorizedParty).toBeUndefined();
  });

  it('ignores scope and permissions claims of the wrong type', async () => {
    const token = await sign(
      keys,
      adminAccessClaims({ scope: [ADMIN_PERMISSION], permissions: ADMIN_PERMISSION }),
    );
    const caller = (await verify(`Bearer ${token}`)).caller;
    expect(caller?.scopes.size).toBe(0);
    expect(caller?.permissions.size).toBe(0);
    expect(caller?.isAdmin).toBe(false);
  });
});

describe('createRemoteKeySet', () => {
  const realFetch = globalThis.fetch;
  let requested: string[];

  function serveJwks(respond: () => Promise<Response>): void {
    requested = [];
    globalThis.fetch = (async (input: string | URL | Request) => {
      requested.push(input instanceof Request ? input.url : String(input));
      return respond();
    }) as typeof fetch;
  }

  afterEach(() => {
    globalThis.fetch = realFetch;
  });

  it("fetches <origin>/.well-known/jwks.json once and verifies the tenant's tokens with it", async () => {
    serveJwks(async () => Response.json(keys.jwks));
    const verifier = createAccessTokenVerifier(
      verifierOptions(createRemoteKeySet(ORIGIN, { timeoutMs: 1000 })),
    );
    const token = await sign(keys, userAccessClaims());

    expect((await verifier.verifyAuthorizationHeader(`Bearer ${token}`)).caller?.subject).toBe(PRIMARY_ID);
    expect((await verifier.verifyAuthorizationHeader(`Bearer ${token}`)).caller?.subject).toBe(PRIMARY_ID);
    expect(requested).toEqual([`${ORIGIN}/.well-known/jwks.json`]);
  });

  it('accepts an origin with a trailing slash', async () => {
    serveJwks(async () => Response.json(keys.jwks));
    const verifier = createAccessTokenVerifier(verifierOptions(createRemoteKeySet(`${ORIGIN}/`)));
    const token = await sign(keys, userAccessClaims());
    expect((await verifier.verifyAuthorizationHeader(`Bearer ${token}`)).error).toBeNull();
    expect(requested).toEqual([`${ORIGIN}/.well-known/jwks.json`]);
  });

  it.each([
    ['the JWKS request fails', () => Promise.reject(new TypeError('fetch failed'))],
    ['the JWKS endpoint answers 503', async () => new Response('unavailable', { status: 503 })],
    [
      'the JWKS endpoint answers something other than JSON',
      async () => new Response('<html>', { status: 200 }),
    ],
  ])('refuses with a signing-keys message when %s', async (_title, respond) => {
    serveJwks(respond);
    const verifier = createAccessTokenVerifier(verifierOptions(createRemoteKeySet(ORIGIN)));
    const token = await sign(keys, userAccessClaims());
    const result = await verifier.verifyAuthorizationHeader(`Bearer ${token}`);
    expectRefused(result, /signing keys could not be fetched/);
  });

  it('refuses a foreign key without refetching the key set within the cooldown', async () => {
    serveJwks(async () => Response.json(keys.jwks));
    const verifier = createAccessTokenVerifier(verifierOptions(createRemoteKeySet(ORIGIN)));
    const foreign = await sign(keys, userAccessClaims(), 'foreign-unknown-kid');
    expectRefused(await verifier.verifyAuthorizationHeader(`Bearer ${foreign}`), /not signed with any/);
    expect(requested).toHaveLength(1);
  });

  it('uses the issuer and audiences from the options, not from the token', async () => {
    serveJwks(async () => Response.json(keys.jwks));
    const verifier = createAccessTokenVerifier(
      verifierOptions(createRemoteKeySet(ORIGIN), { issuer: 'https://other-tenant.example/' }),
    );
    const token = await sign(keys, userAccessClaims({ iss: ISSUER }));
    expectRefused(await verifier.verifyAuthorizationHeader(`Bearer ${token}`), /issuer/);
  });
});

describe('createAccessTokenVerifier: verified-token cache', () => {
  it('verifies a token once and reuses the verdict for the same token', async () => {
    let lookups = 0;
    const counting: typeof keys.keys = (header, token) => {
      lookups += 1;
      return keys.keys(header, token);
    };
    const verifier = createAccessTokenVerifier(verifierOptions(counting));
    const token = await sign(keys, userAccessClaims());

    const first = await verifier.verifyAuthorizationHeader(`Bearer ${token}`);
    const second = await verifier.verifyAuthorizationHeader(`Bearer ${token}`);

    expect(second.caller).toBe(first.caller);
    expect(lookups).toBe(1);
  });

  it('does not remember refusals', async () => {
    let lookups = 0;
    const counting: typeof keys.keys = (header, token) => {
      lookups += 1;
      return keys.keys(header, token);
    };
    const verifier = createAccessTokenVerifier(verifierOptions(counting));
    const token = await sign(keys, userAccessClaims({ iss: 'https://evil.example/' }));

    expect((await verifier.verifyAuthorizationHeader(`Bearer ${token}`)).error).not.toBeNull();
    expect((await verifier.verifyAuthorizationHeader(`Bearer ${token}`)).error).not.toBeNull();
    expect(lookups).toBe(2);
  });

  it('stops honouring a cached token once it expires', async () => {
    jest.useFakeTimers({ now: Date.now(), doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      const verifier = createAccessTokenVerifier(verifierOptions(keys.keys));
      const token = await sign(keys, userAccessClaims({ exp: nowSeconds() + 60 }));
      expect((await verifier.verifyAuthorizationHeader(`Bearer ${token}`)).caller).not.toBeNull();

      jest.setSystemTime(Date.now() + 120_000);
      const later = await verifier.verifyAuthorizationHeader(`Bearer ${token}`);
      expect(later.caller).toBeNull();
      expect(later.error?.message).toMatch(/expired/);
    } finally {
      jest.useRealTimers();
    }
  });
});
