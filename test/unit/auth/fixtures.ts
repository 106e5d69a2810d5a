// Tokens signed in the test: the tenant's RS256 key (published in a local key set), a foreign
// RS256 key, an HS256 secret and hand-built `alg: none` tokens.
import {
  base64url,
  createLocalJWKSet,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import {
  createAccessTokenVerifier,
  type AccessTokenVerifierOptions,
  type CallerResult,
} from '../../../src/auth/index.js';

export const ORIGIN = 'https://tenant.eu.auth0.example';
export const ISSUER = `${ORIGIN}/`;
export const MANAGEMENT_AUDIENCE = `${ORIGIN}/api/v2/`;
export const USERINFO_AUDIENCE = `${ORIGIN}/userinfo`;
export const ADMIN_AUDIENCE = 'https://link-gateway.example/admin';
export const ADMIN_PERMISSION = 'update:users';
export const SPA_CLIENT_ID = 'spa0000000000000000000000000001';
export const OTHER_CLIENT_ID = 'spa0000000000000000000000000002';
export const PRIMARY_ID = 'auth0|primary0001';
export const SECONDARY_ID = 'google-oauth2|108000000000000000001';
export const TENANT_KID = 'tenant-key-1';

export interface TestKeys {
  tenant: CryptoKey;
  foreign: CryptoKey;
  secret: Uint8Array;
  /** The tenant's public key as PEM (SPKI) text: what an attacker would use as an HS256 secret. */
  publicPem: string;
  /** The tenant's public key set, as `createRemoteKeySet` would serve it. */
  jwks: { keys: Record<string, unknown>[] };
  keys: JWTVerifyGetKey;
}

export async function createTestKeys(): Promise<TestKeys> {
  const tenant = await generateKeyPair('RS256', { extractable: true });
  const foreign = await generateKeyPair('RS256');
  const publicJwk = { ...(await exportJWK(tenant.publicKey)), kid: TENANT_KID, alg: 'RS256', use: 'sig' };
  const jwks = { keys: [publicJwk] };
  return {
    tenant: tenant.privateKey,
    foreign: foreign.privateKey,
    secret: new TextEncoder().encode('a-shared-secret-that-is-long-enough-for-hs256'),
    publicPem: await exportSPKI(tenant.publicKey),
    jwks,
    keys: createLocalJWKSet(jwks),
  };
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** Claims with `undefined` values removed, so an override of `undefined` drops the claim. */
function withOverrides(base: JWTPayload, overrides: Record<string, unknown>): JWTPayload {
  const merged: Record<string, unknown> = { ...base, ...overrides };
  for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
  return merged as JWTPayload;
}

/** A user's Management API access token for the SPA, as Auth0 issues it when `openid` was asked. */
export function userAccessClaims(overrides: Record<string, unknown> = {}): JWTPayload {
  const now = nowSeconds();
  return withOverrides(
    {
      iss: ISSUER,
      sub: PRIMARY_ID,
      aud: [MANAGEMENT_AUDIENCE, USERINFO_AUDIENCE],
      azp: SPA_CLIENT_ID,
      scope: 'openid profile email update:current_user_identities',
      iat: now,
      exp: now + 3600,
    },
    overrides,
  );
}

/** A machine-to-machine token for ADMIN_AUDIENCE with ADMIN_PERMISSION as an RBAC permission. */
export function adminAccessClaims(overrides: Record<string, unknown> = {}): JWTPayload {
  const now = nowSeconds();
  return withOverrides(
    {
      iss: ISSUER,
      sub: 'backoffice0000000000000000000001@clients',
      aud: ADMIN_AUDIENCE,
      azp: 'backoffice0000000000000000000001',
      gty: 'client-credentials',
      permissions: [ADMIN_PERMISSION],
      iat: now,
      exp: now + 3600,
    },
    overrides,
  );
}

/** The secondary account's ID token, issued to the SPA. */
export function idTokenClaims(overrides: Record<string, unknown> = {}): JWTPayload {
  const now = nowSeconds();
  return withOverrides(
    {
      iss: ISSUER,
      sub: SECONDARY_ID,
      aud: SPA_CLIENT_ID,
      email: 'ada@example.com',
      email_verified: true,
      iat: now,
      exp: now + 3600,
    },
    overrides,
  );
}

export type Signer =
  | 'tenant'
  | 'foreign-unknown-kid'
  | 'foreign-tenant-kid'
  | 'hs256'
  | 'hs256-public-pem'
  | 'hs256-public-jwk'
  | 'none'
  | 'tenant-no-kid';

export async function sign(keys: TestKeys, claims: JWTPayload, signer: Signer = 'tenant'): Promise<string> {
  switch (signer) {
    case 'tenant':
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: TENANT_KID })
        .sign(keys.tenant);
    case 'tenant-no-kid':
      return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT' }).sign(keys.tenant);
    case 'foreign-unknown-kid':
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: 'attacker-key' })
        .sign(keys.foreign);
    case 'foreign-tenant-kid':
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: TENANT_KID })
        .sign(keys.foreign);
    case 'hs256':
      return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(keys.secret);
    // The classic algorithm-confusion forgery: HMAC keyed with the published public key, in the
    // two forms a verifier might hold it, under the tenant's kid.
    case 'hs256-public-pem':
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: TENANT_KID })
        .sign(new TextEncoder().encode(keys.publicPem));
    case 'hs256-public-jwk':
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: TENANT_KID })
        .sign(new TextEncoder().encode(JSON.stringify(keys.jwks.keys[0])));
    case 'none': {
      const part = (value: unknown) => base64url.encode(JSON.stringify(value));
      return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
    }
  }
}

export function verifierOptions(
  keys: JWTVerifyGetKey,
  overrides: Partial<AccessTokenVerifierOptions> = {},
): AccessTokenVerifierOptions {
  return {
    issuer: ISSUER,
    managementAudience: MANAGEMENT_AUDIENCE,
    adminAudience: ADMIN_AUDIENCE,
    adminPermission: ADMIN_PERMISSION,
    keys,
    ...overrides,
  };
}

/** The CallerResult a request with `Authorization: Bearer <token signed with claims>` would get. */
export async function callerResultFor(
  keys: TestKeys,
  claims: JWTPayload,
  signer?: Signer,
): Promise<CallerResult> {
  const token = await sign(keys, claims, signer);
  return createAccessTokenVerifier(verifierOptions(keys.keys)).verifyAuthorizationHeader(`Bearer ${token}`);
}

/** Asserts that nothing the client would see of `error` contains `token` or its signature. */
export function expectNoTokenIn(error: unknown, token: string): void {
  const visible = JSON.stringify({
    message: (error as Error).message,
    json: (error as { toJSON?: () => unknown }).toJSON?.(),
  });
  expect(visible).not.toContain(token);
  const signature = token.split('.')[2];
  if (signature) expect(visible).not.toContain(signature);
  const payload = token.split('.')[1];
  if (payload) expect(visible).not.toContain(payload);
}
