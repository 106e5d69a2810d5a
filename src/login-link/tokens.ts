// The tokens between the post-login Action and the service (DESIGN §14), all HS256 with
// LOGIN_LINK_SECRET: the check's bearer token (the Action signs it), the session token (Auth0's
// `api.redirect.encodeToken` signs it) and the hand-back token the service signs for `/continue`.
import { createHash } from 'node:crypto';
import { errors, jwtVerify, SignJWT, type JWTPayload } from 'jose';

/** Why a token was refused; the kinds are for logs and metrics, never shown with the token. */
export type TokenRefusal = 'malformed' | 'signature' | 'expired' | 'issuer' | 'lifetime' | 'claims';

export class LoginLinkTokenError extends Error {
  constructor(
    readonly kind: TokenRefusal,
    options?: { cause?: unknown },
  ) {
    super(`login-link token refused: ${kind}`, options);
    this.name = 'LoginLinkTokenError';
  }
}

/** What a hand-back tells the Action's `onContinuePostLogin`. */
export type LoginLinkOutcome = 'linked' | 'skipped' | 'declined' | 'failed';

const CLOCK_TOLERANCE_SECONDS = 5;
/** The check's token is made for one call: at most a minute ahead (DESIGN §14). */
export const CHECK_TOKEN_MAX_SECONDS = 60;
/** The session token lives 10 minutes (DESIGN §14); anything longer-lived is refused. */
export const SESSION_TOKEN_MAX_SECONDS = 15 * 60;
/** How long the hand-back token is valid: the browser goes to `/continue` at once. */
const HAND_BACK_SECONDS = 5 * 60;

const keyOf = (secret: string) => new TextEncoder().encode(secret);

function refusal(error: unknown): LoginLinkTokenError {
  if (error instanceof LoginLinkTokenError) return error;
  if (error instanceof errors.JWTExpired) return new LoginLinkTokenError('expired', { cause: error });
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new LoginLinkTokenError('signature', { cause: error });
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    return new LoginLinkTokenError(error.claim === 'iss' ? 'issuer' : 'claims', { cause: error });
  }
  return new LoginLinkTokenError('malformed', { cause: error });
}

async function verifyHs256(
  token: string,
  secret: string,
  options: { issuer?: string[]; maxSeconds: number },
): Promise<JWTPayload & { sub: string; exp: number }> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, keyOf(secret), {
      algorithms: ['HS256'],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ['sub', 'exp'],
      ...(options.issuer ? { issuer: options.issuer } : {}),
    }));
  } catch (error) {
    throw refusal(error);
  }
  if (typeof payload.sub !== 'string' || payload.sub === '' || typeof payload.exp !== 'number') {
    throw new LoginLinkTokenError('claims');
  }
  // A token valid for longer than its purpose needs is not one this flow made.
  if (payload.exp - Date.now() / 1000 > options.maxSeconds + CLOCK_TOLERANCE_SECONDS) {
    throw new LoginLinkTokenError('lifetime');
  }
  return payload as JWTPayload & { sub: string; exp: number };
}

/** `Authorization: Bearer <token>` of `POST /login-link/check`: the user id the Action asks about. */
export async function verifyCheckToken(header: string | undefined, secret: string): Promise<string> {
  const match = /^Bearer ([\w-]+\.[\w-]+\.[\w-]+)$/i.exec(header ?? '');
  if (!match) throw new LoginLinkTokenError('malformed');
  const payload = await verifyHs256(match[1], secret, { maxSeconds: CHECK_TOKEN_MAX_SECONDS });
  return payload.sub;
}

export interface SessionClaims {
  /** The user who just logged in (the secondary of a link). */
  sub: string;
  /** Seconds since the epoch. */
  exp: number;
  /** sha256 of the token: its single-use key. */
  digest: string;
}

/**
 * The `session_token` of `GET /login-link`: signed with the secret, issued by the tenant (`iss`: its
 * host as Auth0 writes it, or `<origin>/`), unexpired, and tied to `state` when it names one.
 */
export async function verifySessionToken(
  token: string,
  options: { secret: string; tenantOrigin: string; state: string },
): Promise<SessionClaims> {
  const tenant = new URL(options.tenantOrigin);
  const payload = await verifyHs256(token, options.secret, {
    issuer: [tenant.host, `${tenant.origin}/`],
    maxSeconds: SESSION_TOKEN_MAX_SECONDS,
  });
  if (payload.state !== undefined && payload.state !== options.state) throw new LoginLinkTokenError('claims');
  return { sub: payload.sub, exp: payload.exp, digest: createHash('sha256').update(token).digest('hex') };
}

/** The `sub` a refused session token names, unverified: only ever put in a `failed` hand-back. */
export function unverifiedSubject(token: string): string | null {
  const [, body] = token.split('.');
  try {
    const claims = JSON.parse(Buffer.from(body ?? '', 'base64url').toString('utf8')) as { sub?: unknown };
    return typeof claims.sub === 'string' && claims.sub !== '' ? claims.sub : null;
  } catch {
    return null;
  }
}

export interface HandBack {
  sub: string;
  state: string;
  outcome: LoginLinkOutcome;
  /** Linked: the candidate the login must finish as (`api.authentication.setPrimaryUser`). */
  primaryUserId?: string;
  /** Declined for good: the candidates the user refused, for `app_metadata.account_linking.declined`. */
  declined?: string[];
}

/** The `session_token` the service sends back to `<tenant>/continue`. */
export function signHandBack(
  handBack: HandBack,
  options: { secret: string; issuer: string },
): Promise<string> {
  const { sub, ...claims } = handBack;
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuer(options.issuer)
    .setIssuedAt()
    .setExpirationTime(`${HAND_BACK_SECONDS}s`)
    .sign(keyOf(options.secret));
}
