import { errors, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { createLinkTokenVerifier, type Caller } from '../../../src/auth/index.js';
import { BadUserInputError, GatewayError, UpstreamError } from '../../../src/errors.js';
import {
  callerResultFor,
  createTestKeys,
  expectNoTokenIn,
  idTokenClaims,
  ISSUER,
  nowSeconds,
  OTHER_CLIENT_ID,
  SECONDARY_ID,
  sign,
  type Signer,
  SPA_CLIENT_ID,
  type TestKeys,
  userAccessClaims,
} from './fixtures.js';

let keys: TestKeys;
let caller: Caller;
beforeAll(async () => {
  keys = await createTestKeys();
  const result = await callerResultFor(keys, userAccessClaims());
  caller = result.caller!;
});

function verifier(getKey: JWTVerifyGetKey = keys.keys) {
  return createLinkTokenVerifier({ issuer: ISSUER, keys: getKey });
}

async function refusal(promise: Promise<unknown>): Promise<GatewayError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GatewayError);
  return error as GatewayError;
}

function expectInvalidLinkToken(error: GatewayError, mentions: RegExp): void {
  expect(error).toBeInstanceOf(BadUserInputError);
  expect(error.extensions).toEqual({ code: 'BAD_USER_INPUT', reason: 'INVALID_LINK_TOKEN' });
  expect(error.message).toMatch(/^linkWith/);
  expect(error.message).toMatch(mentions);
}

describe('createLinkTokenVerifier: refusals are BAD_USER_INPUT with reason INVALID_LINK_TOKEN', () => {
  const signedCases: { title: string; claims: () => JWTPayload; signer?: Signer; mentions: RegExp }[] = [
    { title: 'an HS256 ID token', claims: () => idTokenClaims(), signer: 'hs256', mentions: /RS256/ },
    {
      title: 'an HS256 ID token keyed with the tenant public key as PEM',
      claims: () => idTokenClaims(),
      signer: 'hs256-public-pem',
      mentions: /RS256/,
    },
    {
      title: 'an HS256 ID token keyed with the tenant public key as JWK',
      claims: () => idTokenClaims(),
      signer: 'hs256-public-jwk',
      mentions: /RS256/,
    },
    { title: 'an alg none ID token', claims: () => idTokenClaims(), signer: 'none', mentions: /RS256/ },
    {
      title: 'an ID token signed by a foreign key with an unknown kid',
      claims: () => idTokenClaims(),
      signer: 'foreign-unknown-kid',
      mentions: /signing keys/,
    },
    {
      title: "an ID token signed by a foreign key claiming the tenant's kid",
      claims: () => idTokenClaims(),
      signer: 'foreign-tenant-kid',
      mentions: /signature/,
    },
    {
      title: 'an expired ID token',
      claims: () => idTokenClaims({ exp: nowSeconds() - 60 }),
      mentions: /expired/,
    },
    {
      title: 'an ID token for another application (aud ≠ azp)',
      claims: () => idTokenClaims({ aud: OTHER_CLIENT_ID }),
      mentions: /aud must equal the azp/,
    },
    {
      title: 'an ID token whose aud lists the azp among others',
      claims: () => idTokenClaims({ aud: [SPA_CLIENT_ID, OTHER_CLIENT_ID] }),
      mentions: /aud must equal the azp/,
    },
    { title: 'an ID token without aud', claims: () => idTokenClaims({ aud: undefined }), mentions: /aud/ },
    { title: 'an ID token without sub', claims: () => idTokenClaims({ sub: undefined }), mentions: /sub/ },
    { title: 'an ID token with an empty sub', claims: () => idTokenClaims({ sub: '' }), mentions: /sub/ },
    {
      title: 'an ID token from another issuer',
      claims: () => idTokenClaims({ iss: 'https://other-tenant.eu.auth0.example/' }),
      mentions: /iss/,
    },
    { title: 'an ID token without iss', claims: () => idTokenClaims({ iss: undefined }), mentions: /iss/ },
    { title: 'an ID token without exp', claims: () => idTokenClaims({ exp: undefined }), mentions: /exp/ },
    {
      title: 'an ID token not valid yet',
      claims: () => idTokenClaims({ nbf: nowSeconds() + 600 }),
      mentions: /not valid yet/,
    },
  ];

  it.each(signedCases)('refuses $title', async ({ claims, signer, mentions }) => {
    const linkWith = await sign(keys, claims(), signer);
    const error = await refusal(verifier().verifyLinkToken(linkWith, caller));
    expectInvalidLinkToken(error, mentions);
    expectNoTokenIn(error, linkWith);
    expectNoTokenIn(error, caller.token);
  });

  it.each([
    ['garbage', 'garbage'],
    ['an empty string', ''],
    ['blanks', '   '],
    ['two segments', 'abc.def'],
    ['segments that decode to no JSON', 'AAAA.AAAA.AAAA'],
    ['an opaque access token', 'v2.local.opaque-token-value'],
  ])('refuses a linkWith that is not a JWT: %s', async (_title, linkWith) => {
    const error = await refusal(verifier().verifyLinkToken(linkWith, caller));
    expectInvalidLinkToken(error, /JWT/);
    if (linkWith.trim()) expectNoTokenIn(error, linkWith);
  });

  it('refuses any linkWith for a caller whose token has no azp', async () => {
    const noAzp = (await callerResultFor(keys, userAccessClaims({ azp: undefined }))).caller!;
    const linkWith = await sign(keys, idTokenClaims());
    const error = await refusal(verifier().verifyLinkToken(linkWith, noAzp));
    expectInvalidLinkToken(error, /azp/);
    expectNoTokenIn(error, linkWith);
  });

  it('refuses the caller’s own access token passed as linkWith', async () => {
    const error = await refusal(verifier().verifyLinkToken(caller.token, caller));
    expectInvalidLinkToken(error, /aud must equal the azp/);
    expectNoTokenIn(error, caller.token);
  });
});

describe('createLinkTokenVerifier: accepted ID tokens', () => {
  it.each([
    ['aud as a string', idTokenClaims],
    ['aud as a one-element array', () => idTokenClaims({ aud: [SPA_CLIENT_ID] })],
    ['an expiry within the clock tolerance', () => idTokenClaims({ exp: nowSeconds() - 1 })],
  ])('returns the secondary subject for an RS256 ID token of the tenant with %s', async (_title, claims) => {
    const linkWith = await sign(keys, claims());
    await expect(verifier().verifyLinkToken(linkWith, caller)).resolves.toEqual({ subject: SECONDARY_ID });
  });
});

describe('createLinkTokenVerifier: key set failures', () => {
  it('answers UPSTREAM_ERROR, not a user error, when the signing keys cannot be fetched', async () => {
    const cause = new errors.JWKSTimeout();
    const failing: JWTVerifyGetKey = async () => {
      throw cause;
    };
    const linkWith = await sign(keys, idTokenClaims());
    const error = await refusal(verifier(failing).verifyLinkToken(linkWith, caller));
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error.extensions).toEqual({ code: 'UPSTREAM_ERROR' });
    expect((error as Error & { cause?: unknown }).cause).toBe(cause);
    expectNoTokenIn(error, linkWith);
  });
});
