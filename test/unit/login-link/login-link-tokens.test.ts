import { jwtVerify, SignJWT } from 'jose';
import { SessionSealer, type LoginLinkSession } from '../../../src/login-link/session-cookie.js';
import {
  LoginLinkTokenError,
  signHandBack,
  verifyCheckToken,
  verifySessionToken,
} from '../../../src/login-link/tokens.js';

const SECRET = 'unit-login-link-secret-0123456789abcdef';
const key = new TextEncoder().encode(SECRET);
const TENANT = 'https://tenant.eu.auth0.com';
const now = () => Math.floor(Date.now() / 1000);

function sign(claims: Record<string, unknown>, options: { iss?: string; exp?: number; alg?: string } = {}) {
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: options.alg ?? 'HS256' })
    .setSubject('github|1')
    .setIssuedAt()
    .setExpirationTime(options.exp ?? now() + 600);
  if (options.iss) jwt.setIssuer(options.iss);
  return jwt.sign(options.alg === 'HS512' ? new TextEncoder().encode(SECRET.repeat(2)) : key);
}

async function refusalOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof LoginLinkTokenError) return error.kind;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('session tokens (GET /login-link)', () => {
  const verify = (token: string, state = 'S') =>
    verifySessionToken(token, { secret: SECRET, tenantOrigin: TENANT, state });

  it.each(['tenant.eu.auth0.com', 'https://tenant.eu.auth0.com/'])('accepts iss %s', async (iss) => {
    const claims = await verify(await sign({}, { iss }));
    expect(claims.sub).toBe('github|1');
    expect(claims.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    ['another tenant', { iss: 'other.auth0.com' }, {}, 'issuer'],
    ['no issuer', {}, {}, 'issuer'],
    ['lives longer than 15 minutes', { iss: 'tenant.eu.auth0.com', exp: now() + 3600 }, {}, 'lifetime'],
    ['expired', { iss: 'tenant.eu.auth0.com', exp: now() - 60 }, {}, 'expired'],
    ['names another state', { iss: 'tenant.eu.auth0.com' }, { state: 'other' }, 'claims'],
    ['HS512', { iss: 'tenant.eu.auth0.com', alg: 'HS512' }, {}, 'malformed'],
  ])('refuses a token that %s', async (_what, options, claims, kind) => {
    expect(await refusalOf(verify(await sign(claims, options)))).toBe(kind);
  });

  it('refuses a token signed with another secret', async () => {
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('github|1')
      .setIssuer('tenant.eu.auth0.com')
      .setExpirationTime(now() + 600)
      .sign(new TextEncoder().encode('x'.repeat(40)));
    expect(await refusalOf(verify(forged))).toBe('signature');
  });
});

describe('check tokens (POST /login-link/check)', () => {
  it('reads sub from a bearer token of at most 60 s', async () => {
    expect(await verifyCheckToken(`Bearer ${await sign({}, { exp: now() + 60 })}`, SECRET)).toBe('github|1');
    expect(await refusalOf(verifyCheckToken(`Bearer ${await sign({}, { exp: now() + 600 })}`, SECRET))).toBe(
      'lifetime',
    );
    expect(await refusalOf(verifyCheckToken(undefined, SECRET))).toBe('malformed');
    expect(await refusalOf(verifyCheckToken('Basic abc', SECRET))).toBe('malformed');
  });
});

describe('hand-back tokens (/continue)', () => {
  it('carries sub, state, outcome and the primary, signed with the secret', async () => {
    const token = await signHandBack(
      { sub: 'github|1', state: 'S', outcome: 'linked', primaryUserId: 'auth0|1' },
      { secret: SECRET, issuer: 'https://link.example.com' },
    );
    const { payload, protectedHeader } = await jwtVerify(token, key);
    expect(protectedHeader.alg).toBe('HS256');
    expect(payload).toMatchObject({
      sub: 'github|1',
      state: 'S',
      outcome: 'linked',
      primaryUserId: 'auth0|1',
      iss: 'https://link.example.com',
    });
    expect(payload.exp! - payload.iat!).toBe(300);
  });
});

describe('the sealed session cookie', () => {
  const session: LoginLinkSession = {
    sub: 'github|1',
    state: 'S',
    email: 'a@example.com',
    expiresAt: Date.now() + 60_000,
    candidates: [{ userId: 'auth0|1', connection: 'Username-Password-Authentication' }],
    csrf: 'c',
  };

  it('opens what it sealed, and nothing altered, foreign or expired', () => {
    const sealer = new SessionSealer(SECRET);
    const sealed = sealer.seal(session);
    expect(sealer.open(sealed)).toEqual(session);
    expect(sealed).not.toContain('github');
    const flipped = Buffer.from(sealed, 'base64url');
    flipped[flipped.length - 1] ^= 1;
    expect(sealer.open(flipped.toString('base64url'))).toBeNull();
    expect(new SessionSealer('another-secret-0123456789abcdef-xyz').open(sealed)).toBeNull();
    expect(sealer.open(sealed, session.expiresAt + 1)).toBeNull();
    expect(sealer.open(undefined)).toBeNull();
    expect(sealer.open('short')).toBeNull();
  });
});
