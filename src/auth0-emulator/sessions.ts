// Browser login state: SSO sessions (cookie), authorization codes and refresh tokens, all in memory.
import { randomBytes } from 'node:crypto';

/** Auth0's session cookie name. */
export const SESSION_COOKIE = 'auth0';
/** Authorization codes live this long (Auth0 documents codes as short-lived; 60 s here). */
export const CODE_LIFETIME_MS = 60_000;

export interface Session {
  /** The `sid` claim of ID tokens issued in this session. */
  sid: string;
  /** The identity that logged in (`provider|id`); its primary user is resolved when tokens are issued. */
  loginIdentity: string;
  connection: string;
  /** Epoch seconds of the login (`auth_time`). */
  authTime: number;
}

/** What a token request may need from the authorization request that produced a code. */
export interface Grant {
  clientId: string;
  loginIdentity: string;
  scope: string[];
  audience: string | undefined;
  sid: string;
  authTime: number;
  nonce?: string;
}

export interface IssuedCode extends Grant {
  redirectUri: string;
  codeChallenge?: string;
  expiresAt: number;
}

function randomToken(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}

export class LoginStore {
  /** By cookie value (a secret distinct from the sid the tokens carry). */
  private readonly sessions = new Map<string, Session>();
  private readonly codes = new Map<string, IssuedCode>();
  private readonly refreshTokens = new Map<string, Grant>();

  constructor(private readonly now: () => number) {}

  clear(): void {
    this.sessions.clear();
    this.codes.clear();
    this.refreshTokens.clear();
  }

  /** Starts a session; returns the cookie value. */
  startSession(loginIdentity: string, connection: string): { cookie: string; session: Session } {
    const cookie = randomToken(32);
    const session: Session = {
      sid: randomToken(16),
      loginIdentity,
      connection,
      authTime: Math.floor(this.now() / 1000),
    };
    this.sessions.set(cookie, session);
    return { cookie, session };
  }

  session(cookie: string | undefined): Session | undefined {
    return cookie === undefined ? undefined : this.sessions.get(cookie);
  }

  endSession(cookie: string | undefined): void {
    if (cookie !== undefined) this.sessions.delete(cookie);
  }

  issueCode(grant: Omit<IssuedCode, 'expiresAt'>): string {
    const code = randomToken();
    this.codes.set(code, { ...grant, expiresAt: this.now() + CODE_LIFETIME_MS });
    return code;
  }

  /** The code's grant, consumed: a code works once, whatever the outcome of the exchange. */
  takeCode(code: string): IssuedCode | 'expired' | undefined {
    const issued = this.codes.get(code);
    if (!issued) return undefined;
    this.codes.delete(code);
    return issued.expiresAt <= this.now() ? 'expired' : issued;
  }

  issueRefreshToken(grant: Grant): string {
    const token = randomToken(32);
    this.refreshTokens.set(token, { ...grant, nonce: undefined });
    return token;
  }

  refreshGrant(token: string): Grant | undefined {
    return this.refreshTokens.get(token);
  }

  revokeRefreshToken(token: string): void {
    this.refreshTokens.delete(token);
  }
}

/** The value of one cookie in a Cookie header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

export function sessionCookie(value: string): string {
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Lax`;
}

export function clearedSessionCookie(): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`;
}
