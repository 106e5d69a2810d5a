// A browser's part of the Auth0 login, over real HTTP: cookie jar, PKCE, the login pages' forms.
import { createHash, randomBytes } from 'node:crypto';
import { DEMO, type Auth0Emulator } from '../../../src/auth0-emulator/index.js';

export const SPA_ORIGIN = 'http://127.0.0.1:5173';
export const SPA_CALLBACK = `${SPA_ORIGIN}/callback`;
export const SPA_SCOPE =
  'openid profile email offline_access read:current_user update:current_user_identities';

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** Just enough of a browser's cookie store for one origin. */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  store(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      if (attributes.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string | undefined {
    if (this.cookies.size === 0) return undefined;
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  get size(): number {
    return this.cookies.size;
  }
}

export interface AuthorizeParams {
  client_id?: string;
  redirect_uri?: string;
  response_type?: string;
  response_mode?: string;
  scope?: string;
  audience?: string;
  state?: string;
  nonce?: string;
  code_challenge?: string;
  code_challenge_method?: string;
  connection?: string;
  prompt?: string;
  [k: string]: string | undefined;
}

/** What auth0-spa-js sends for loginWithRedirect, with a fresh state, nonce and PKCE pair. */
export function spaParams(emulator: Auth0Emulator, extra: AuthorizeParams = {}) {
  const { verifier, challenge } = pkcePair();
  const params: AuthorizeParams = {
    client_id: DEMO.spaClientId,
    redirect_uri: SPA_CALLBACK,
    response_type: 'code',
    response_mode: 'query',
    scope: SPA_SCOPE,
    audience: emulator.managementAudience,
    state: randomBytes(12).toString('base64url'),
    nonce: randomBytes(12).toString('base64url'),
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...extra,
  };
  return { params, verifier };
}

export function authorizePath(params: AuthorizeParams): string {
  const defined = Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined);
  return `/authorize?${new URLSearchParams(defined).toString()}`;
}

/** One browser request: no redirect followed, cookies sent and stored. */
export async function browse(
  emulator: Auth0Emulator,
  jar: CookieJar,
  path: string,
  form?: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<{ res: Response; text: string }> {
  const cookie = jar.header();
  const res = await fetch(`${emulator.origin}${path}`, {
    method: form ? 'POST' : 'GET',
    redirect: 'manual',
    headers: {
      ...headers,
      ...(cookie ? { cookie } : {}),
      ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
    },
    body: form ? new URLSearchParams(form).toString() : undefined,
  });
  jar.store(res);
  return { res, text: await res.text() };
}

/** The query of a redirect to the callback (code, state or error, error_description). */
export function callbackParams(res: Response): Record<string, string> {
  const location = res.headers.get('location');
  if (res.status !== 302 || !location) throw new Error(`expected a redirect, got ${res.status}`);
  return Object.fromEntries(new URL(location).searchParams);
}

/** Opens /authorize, fills the database form (the page must have one) and posts it back. */
export async function loginWithForm(
  emulator: Auth0Emulator,
  jar: CookieJar,
  params: AuthorizeParams,
  username: string,
  password: string,
): Promise<{ res: Response; text: string }> {
  const path = authorizePath(params);
  const page = await browse(emulator, jar, path);
  const connection = /<input type="hidden" name="connection" value="([^"]*)"/.exec(page.text)?.[1];
  if (page.res.status !== 200 || !/<form method="post">/.test(page.text) || connection === undefined)
    throw new Error(`no login form: ${page.res.status} ${page.text.slice(0, 200)}`);
  return browse(emulator, jar, path, { connection, username, password });
}

/** Opens /authorize for a social connection and presses the "continue as" button of `userId`. */
export async function loginWithSocial(
  emulator: Auth0Emulator,
  jar: CookieJar,
  params: AuthorizeParams,
  userId: string,
): Promise<{ res: Response; text: string }> {
  const path = authorizePath(params);
  const page = await browse(emulator, jar, path);
  const button = new RegExp(
    `<button type="submit" name="user_id" value="([^"]*)" data-user-id="${userId.replace(/[|]/g, '\\|')}"`,
  ).exec(page.text);
  if (!button) throw new Error(`no button for ${userId}: ${page.text.slice(0, 400)}`);
  return browse(emulator, jar, path, { connection: params.connection ?? '', user_id: button[1] });
}

export async function exchangeCode(
  emulator: Auth0Emulator,
  form: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(`${emulator.origin}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ grant_type: 'authorization_code', ...form }).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}
