// The login-link session lives in the browser, sealed (AES-256-GCM, key derived from
// LOGIN_LINK_SECRET): any replica can read it, and nothing in it can be read or changed by the
// browser. It holds the candidates the page offered, the CSRF token of its form, and, once a
// candidate is chosen, the PKCE verifier, nonce and state of that sign-in.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

export interface LoginLinkCandidate {
  userId: string;
  connection: string;
}

export interface LoginLinkSession {
  /** The user who just logged in (the secondary). */
  sub: string;
  /** Auth0's `state`: echoed to `/continue` unchanged. */
  state: string;
  /** The verified email the accounts share (lowercase): the candidate sign-in's `login_hint`. */
  email: string;
  /** ms since the epoch after which the session is void (the session token's `exp`). */
  expiresAt: number;
  candidates: LoginLinkCandidate[];
  csrf: string;
  /** Set by `POST /login-link/start` when a candidate was chosen. */
  pending?: { candidate: string; verifier: string; nonce: string; oauthState: string };
}

export const SESSION_COOKIE = 'login_link_session';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SessionSealer {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = Buffer.from(
      hkdfSync('sha256', secret, 'auth0-link-gateway', 'login-link session cookie v1', 32),
    );
  }

  seal(session: LoginLinkSession): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(JSON.stringify(session), 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
  }

  /** The session in `value`, or null when it is absent, altered, sealed with another secret or expired. */
  open(value: string | undefined, now = Date.now()): LoginLinkSession | null {
    if (!value) return null;
    try {
      const raw = Buffer.from(value, 'base64url');
      if (raw.length <= IV_BYTES + TAG_BYTES) return null;
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, IV_BYTES));
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      const text = Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
      const session = JSON.parse(text.toString('utf8')) as LoginLinkSession;
      return session.expiresAt > now ? session : null;
    } catch {
      return null;
    }
  }
}

/** The value of cookie `name` in a `Cookie` header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** `Set-Cookie` for the session: HttpOnly, SameSite=Lax, scoped to /login-link; Secure over https. */
export function sessionCookie(value: string, options: { secure: boolean; maxAgeSeconds: number }): string {
  return [
    `${SESSION_COOKIE}=${value}`,
    'Path=/login-link',
    'HttpOnly',
    'SameSite=Lax',
    `Max-Age=${Math.max(0, Math.floor(options.maxAgeSeconds))}`,
    ...(options.secure ? ['Secure'] : []),
  ].join('; ');
}
