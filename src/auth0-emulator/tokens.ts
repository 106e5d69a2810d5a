// The tenant's signing keys, the one place that signs tokens, and verification with the tenant key.
import { randomBytes } from 'node:crypto';
import {
  calculateJwkThumbprint,
  compactVerify,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  SignJWT,
  UnsecuredJWT,
  type CryptoKey,
  type JWK,
} from 'jose';
import type {
  AdminTokenOptions,
  IdTokenOptions,
  SignOptions,
  TokenMinter,
  UserAccessTokenOptions,
} from './types.js';

export const DEFAULT_USER_SCOPE = 'openid profile email read:current_user update:current_user_identities';
export const DEFAULT_ADMIN_SCOPE = 'read:users update:users';

export interface TenantKeys {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
  /** A key pair not in the JWKS, for tokens that must fail signature checks. */
  foreignKid: string;
  foreignPrivateKey: CryptoKey;
  hmacSecret: Uint8Array;
}

export async function createTenantKeys(): Promise<TenantKeys> {
  const [tenant, foreign] = await Promise.all([
    generateKeyPair('RS256', { extractable: true }),
    generateKeyPair('RS256', { extractable: true }),
  ]);
  const publicJwk = await exportJWK(tenant.publicKey);
  const foreignJwk = await exportJWK(foreign.publicKey);
  return {
    kid: await calculateJwkThumbprint(publicJwk),
    privateKey: tenant.privateKey,
    publicKey: tenant.publicKey,
    publicJwk,
    foreignKid: await calculateJwkThumbprint(foreignJwk),
    foreignPrivateKey: foreign.privateKey,
    hmacSecret: new Uint8Array(randomBytes(32)),
  };
}

export function jwksDocument(keys: TenantKeys): { keys: JWK[] } {
  return {
    keys: [{ alg: 'RS256', kty: 'RSA', use: 'sig', n: keys.publicJwk.n, e: keys.publicJwk.e, kid: keys.kid }],
  };
}

export type VerifyFailure = 'malformed' | 'alg' | 'unknown-key' | 'signature' | 'expired' | 'not-yet-valid';

export type VerifyResult =
  | { ok: true; payload: Record<string, unknown> }
  | { ok: false; reason: VerifyFailure; payload?: Record<string, unknown> };

/** Checks RS256, the tenant key and exp/nbf; issuer and audience are the caller's business. */
export async function verifyTenantJwt(token: string, keys: TenantKeys, nowMs: number): Promise<VerifyResult> {
  let header;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (header.alg !== 'RS256') return { ok: false, reason: 'alg' };
  if (header.kid !== undefined && header.kid !== keys.kid) return { ok: false, reason: 'unknown-key' };
  let payloadBytes: Uint8Array;
  try {
    payloadBytes = (await compactVerify(token, keys.publicKey, { algorithms: ['RS256'] })).payload;
  } catch (error) {
    const code = (error as { code?: string }).code;
    return {
      ok: false,
      reason: code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' ? 'signature' : 'malformed',
    };
  }
  let payload: unknown;
  try {
    payload = JSON.parse(new TextDecoder().decode(payloadBytes));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    return { ok: false, reason: 'malformed' };
  }
  const claims = payload as Record<string, unknown>;
  const nowSeconds = nowMs / 1000;
  if (typeof claims.exp !== 'number') return { ok: false, reason: 'malformed', payload: claims };
  if (claims.exp <= nowSeconds) return { ok: false, reason: 'expired', payload: claims };
  if (typeof claims.nbf === 'number' && claims.nbf > nowSeconds) {
    return { ok: false, reason: 'not-yet-valid', payload: claims };
  }
  return { ok: true, payload: claims };
}

export interface MinterContext {
  keys: TenantKeys;
  issuer: string;
  origin: string;
  managementAudience: string;
  now: () => number;
  spaClientId: string;
  adminClientId: string;
  /** Email and email_verified of a user (root profile or a linked identity's profileData), for ID token defaults. */
  lookupEmail(sub: string): { email?: string; email_verified?: boolean } | undefined;
}

export class EmulatorTokenMinter implements TokenMinter {
  readonly defaultUserScope = DEFAULT_USER_SCOPE;

  constructor(private readonly ctx: MinterContext) {}

  private times(expiresInSeconds: number): { iat: number; exp: number } {
    const iat = Math.floor(this.ctx.now() / 1000);
    return { iat, exp: iat + expiresInSeconds };
  }

  userAccessToken(o: UserAccessTokenOptions): Promise<string> {
    return this.sign({
      iss: o.issuer ?? this.ctx.issuer,
      sub: o.sub,
      aud: o.audience ?? [this.ctx.managementAudience, `${this.ctx.origin}/userinfo`],
      ...this.times(o.expiresInSeconds ?? 3600),
      azp: o.azp ?? this.ctx.spaClientId,
      scope: o.scope ?? DEFAULT_USER_SCOPE,
    });
  }

  idToken(o: IdTokenOptions): Promise<string> {
    const known = o.sub === null ? undefined : this.ctx.lookupEmail(o.sub);
    const email = o.email ?? known?.email;
    const emailVerified = o.emailVerified ?? known?.email_verified;
    return this.sign(
      {
        iss: o.issuer ?? this.ctx.issuer,
        ...(o.sub === null ? {} : { sub: o.sub }),
        aud: o.aud ?? this.ctx.spaClientId,
        ...this.times(o.expiresInSeconds ?? 36000),
        ...(email === undefined ? {} : { email }),
        ...(emailVerified === undefined ? {} : { email_verified: emailVerified }),
      },
      { alg: o.alg },
    );
  }

  adminToken(o: AdminTokenOptions = {}): Promise<string> {
    const sub = o.sub ?? `${this.ctx.adminClientId}@clients`;
    const scope = o.scope ?? (o.permissions ? undefined : DEFAULT_ADMIN_SCOPE);
    return this.sign({
      iss: o.issuer ?? this.ctx.issuer,
      sub,
      aud: o.audience ?? this.ctx.managementAudience,
      ...this.times(o.expiresInSeconds ?? 86400),
      azp: sub.endsWith('@clients') ? sub.slice(0, -'@clients'.length) : this.ctx.adminClientId,
      ...(scope === undefined ? {} : { scope }),
      ...(o.permissions ? { permissions: o.permissions } : {}),
      gty: 'client-credentials',
    });
  }

  async sign(claims: Record<string, unknown>, o: SignOptions = {}): Promise<string> {
    const payload =
      o.expiresInSeconds === undefined ? claims : { ...claims, ...this.times(o.expiresInSeconds) };
    const alg = o.alg ?? 'RS256';
    const { keys } = this.ctx;
    switch (alg) {
      case 'none':
        return new UnsecuredJWT(payload).encode();
      case 'HS256':
        return new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(keys.hmacSecret);
      case 'foreign-RS256':
        return new SignJWT(payload)
          .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: o.kid ?? keys.foreignKid })
          .sign(keys.foreignPrivateKey);
      case 'RS256':
        return new SignJWT(payload)
          .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: o.kid ?? keys.kid })
          .sign(keys.privateKey);
    }
  }
}
