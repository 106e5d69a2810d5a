// The service side of linking at login (DESIGN §14): the check the Action calls, the page, the
// candidate's sign-in and the hand-back to the tenant's `/continue`. The link itself goes through
// the link core (performLink, mode "login"), like every other link.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import type { JWTVerifyGetKey } from 'jose';
import type { Logger } from 'pino';
import { performLink } from '../accounts/link-core.js';
import type { AccountWriteContext } from '../accounts/write-context.js';
import { verifyCandidateIdToken, type CandidateTokenRefusal } from '../auth/verify-candidate-id-token.js';
import type { Auth0ManagementApi } from '../auth0/management-api.js';
import { parseUserId } from '../auth0/user-id.js';
import type { Config, LoginLinkSetting } from '../config.js';
import { GatewayError } from '../errors.js';
import { demoPageAssets } from '../frontend/browser-routes.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { CallerLimiter } from '../shared-state/shared-state.js';
import { findLinkCandidates } from './candidates.js';
import { renderChoicePage, renderMessagePage } from './page.js';
import {
  readCookie,
  SESSION_COOKIE,
  sessionCookie,
  SessionSealer,
  type LoginLinkSession,
} from './session-cookie.js';
import {
  LoginLinkTokenError,
  signHandBack,
  SESSION_TOKEN_MAX_SECONDS,
  unverifiedSubject,
  verifyCheckToken,
  verifySessionToken,
  type HandBack,
  type TokenRefusal,
} from './tokens.js';

export interface LoginLinkDependencies {
  config: Config;
  setting: LoginLinkSetting;
  /** PUBLIC_URL, or the listening origin when it is unset. */
  publicUrl: () => string;
  /** The tenant's signing keys (the candidate's ID token). */
  keys: JWTVerifyGetKey;
  api: (requestId: string) => Auth0ManagementApi;
  writeContext: (requestId: string) => AccountWriteContext;
  /** Counts each session token (and each candidate sign-in's state) once across replicas. */
  singleUse: CallerLimiter;
  /** Per user: checks the Action makes, and pages opened (CALLER_RATE_LIMIT each). */
  checkLimiter: CallerLimiter;
  pageLimiter: CallerLimiter;
  /** Drops the linked users from the read cache on every replica. */
  invalidateUsers?: (userIds: string[]) => Promise<unknown>;
  logger: Logger;
  metrics?: GatewayMetrics;
}

export type LoginLinkRoute = (
  req: IncomingMessage,
  res: ServerResponse,
  target: { pathname: string; search: string },
  requestId: string,
) => Promise<boolean>;

const MAX_FORM_BYTES = 16 * 1024;
const MAX_TOKEN_CHARS = 4096;
const MAX_STATE_CHARS = 512;
/** Most candidates one page offers (the session cookie holds them). */
const MAX_CANDIDATES = 10;
const TOKEN_EXCHANGE_PATH = '/oauth/token';

const SENTENCES = {
  badRequest: 'This link is incomplete: it needs the session token and state Auth0 sends.',
  expired: 'This linking request has expired.',
  replayed: 'This linking request was already used.',
  invalid: 'This linking request could not be verified.',
  limited: 'Too many linking requests for this account: try again in a minute.',
  unavailable: 'The accounts could not be looked up right now.',
  none: 'No other account with this email was found.',
  noSession: 'This linking session has expired or was started in another browser.',
  csrf: 'This form could not be verified: it was not sent from the page this browser opened.',
  notOffered: 'That account is not one this page offered.',
  otherBrowser: 'This sign-in was not started in this browser.',
  cancelled: 'The sign-in to the other account did not complete.',
  wrongAccount: 'You signed in to a different account than the one you chose.',
  stale: 'The sign-in to the other account was not fresh enough to prove it is yours.',
  signInFailed: 'The sign-in to the other account could not be verified.',
  linkFailed: 'The accounts could not be linked; you are signed in with the account you just used.',
} as const;

const TOKEN_SENTENCES: Record<TokenRefusal, string> = {
  expired: SENTENCES.expired,
  malformed: SENTENCES.invalid,
  signature: SENTENCES.invalid,
  issuer: SENTENCES.invalid,
  lifetime: SENTENCES.invalid,
  claims: SENTENCES.invalid,
};

const CANDIDATE_SENTENCES: Record<CandidateTokenRefusal, string> = {
  subject: SENTENCES.wrongAccount,
  stale: SENTENCES.stale,
  invalid: SENTENCES.signInFailed,
  audience: SENTENCES.signInFailed,
  nonce: SENTENCES.signInFailed,
  'keys-unavailable': SENTENCES.signInFailed,
};

class FormTooLargeError extends Error {}

function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_FORM_BYTES) {
        req.removeAllListeners('data');
        req.resume();
        reject(new FormTooLargeError());
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

const random = (bytes = 32) => randomBytes(bytes).toString('base64url');

function sameSecret(a: string | null | undefined, b: string): boolean {
  if (typeof a !== 'string') return false;
  const left = createHash('sha256').update(a).digest();
  const right = createHash('sha256').update(b).digest();
  return timingSafeEqual(left, right);
}

/** `POST /login-link/check`, `GET /login-link`, `POST /login-link/start`, `GET /login-link/callback`. */
export function createLoginLinkRoutes(deps: LoginLinkDependencies): LoginLinkRoute {
  const { setting } = deps;
  const tenant = deps.config.auth0.origin;
  const sealer = new SessionSealer(setting.secret);
  const css = readFileSync(demoPageAssets().get('/demo/demo.css')!.file);
  // Pages without script. No form-action: browsers apply it to every redirect that follows the
  // form's POST, and those go to the tenant, on to a social provider (the candidate's sign-in) or to
  // the application's callback (the hand-back), origins this service cannot list.
  const pagePolicy = [
    "default-src 'none'",
    "style-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');

  const secure = () => deps.publicUrl().startsWith('https:');
  const count = (step: string, outcome: string) => deps.metrics?.loginLinkOutcomes.inc({ step, outcome });
  const callbackUrl = () => `${deps.publicUrl()}/login-link/callback`;

  function sendPage(res: ServerResponse, status: number, html: string, cookie?: string) {
    res.writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': pagePolicy,
      'cache-control': 'no-store',
      // The page's own URL carries the session token: it goes nowhere else.
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      ...(cookie ? { 'set-cookie': cookie } : {}),
    });
    res.end(html);
  }

  function sendJson(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) {
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      ...headers,
    });
    res.end(JSON.stringify(body));
  }

  const clearCookie = () => sessionCookie('', { secure: secure(), maxAgeSeconds: 0 });

  async function continueUrl(handBack: HandBack): Promise<string> {
    const token = await signHandBack(handBack, { secret: setting.secret, issuer: deps.publicUrl() });
    const query = new URLSearchParams({ state: handBack.state, session_token: token });
    return `${tenant}/continue?${query.toString()}`;
  }

  /**
   * Anything wrong (DESIGN §14 step 6): the page says what in one sentence and, when the login can be
   * handed back (its user and Auth0 state are known), links to `/continue` with outcome `failed`.
   */
  async function fail(
    res: ServerResponse,
    log: Logger,
    step: string,
    why: string,
    sentence: string,
    who: { sub: string; state: string } | null,
    status = 400,
  ) {
    log.warn({ loginLink: step, outcome: 'failed', why }, 'linking at login refused');
    count(step, 'failed');
    const url = who ? await continueUrl({ ...who, outcome: 'failed' }) : null;
    sendPage(res, status, renderMessagePage(sentence, url), clearCookie());
  }

  async function handBack(res: ServerResponse, log: Logger, step: string, back: HandBack) {
    log.info(
      { loginLink: step, outcome: back.outcome, primaryUserId: back.primaryUserId },
      'linking at login handed back',
    );
    count(step, back.outcome);
    res.writeHead(302, {
      location: await continueUrl(back),
      'set-cookie': clearCookie(),
      'cache-control': 'no-store',
    });
    res.end();
  }

  /** `false`: over the limit. A limiter whose store failed lets the request go (DESIGN §10). */
  async function allowed(limiter: CallerLimiter, key: string, log: Logger): Promise<boolean> {
    try {
      return (await limiter.consume(key)).allowed;
    } catch (error) {
      log.warn({ err: error }, 'login-link rate limit not checked');
      return true;
    }
  }

  /** First use of `key` within its lifetime; a store that cannot tell counts as used (fail closed). */
  async function firstUse(key: string, log: Logger): Promise<boolean> {
    try {
      return (await deps.singleUse.consume(key)).allowed;
    } catch (error) {
      log.warn({ err: error }, 'login-link single use could not be checked');
      return false;
    }
  }

  async function check(req: IncomingMessage, res: ServerResponse, requestId: string, log: Logger) {
    let sub: string;
    try {
      sub = await verifyCheckToken(req.headers.authorization, setting.secret);
    } catch (error) {
      const kind = error instanceof LoginLinkTokenError ? error.kind : 'malformed';
      log.warn({ loginLink: 'check', why: kind }, 'login-link check refused');
      count('check', 'refused');
      return sendJson(res, 401, { error: 'The bearer token is missing or invalid.' });
    }
    try {
      const outcome = await deps.checkLimiter.consume(sub);
      if (!outcome.allowed) {
        count('check', 'limited');
        return sendJson(
          res,
          429,
          { error: 'Too many checks for this user.', retryAfter: outcome.retryAfterSeconds },
          { 'retry-after': String(outcome.retryAfterSeconds) },
        );
      }
    } catch (error) {
      log.warn({ err: error }, 'login-link rate limit not checked');
    }
    try {
      const found = await findLinkCandidates(deps.api(requestId), sub);
      count('check', found.candidates.length > 0 ? 'candidates' : 'none');
      return sendJson(res, 200, { candidates: found.candidates.length });
    } catch (error) {
      log.warn({ err: error, loginLink: 'check' }, 'login-link check could not read the users');
      count('check', 'error');
      return sendJson(res, 502, { error: 'The users could not be read.' });
    }
  }

  async function page(res: ServerResponse, search: string, requestId: string, log: Logger) {
    const query = new URLSearchParams(search);
    const token = query.get('session_token');
    const state = query.get('state');
    // Auth0's state and session tokens are short; anything longer would not fit the session cookie.
    if (!token || !state || token.length > MAX_TOKEN_CHARS || state.length > MAX_STATE_CHARS) {
      return fail(res, log, 'page', 'missing-parameters', SENTENCES.badRequest, null);
    }
    let claims;
    try {
      claims = await verifySessionToken(token, { secret: setting.secret, tenantOrigin: tenant, state });
    } catch (error) {
      const kind = error instanceof LoginLinkTokenError ? error.kind : 'malformed';
      // The user it names, unverified, only ever gets a `failed` hand-back: nothing else is done for it.
      const sub = unverifiedSubject(token);
      return fail(res, log, 'page', `token-${kind}`, TOKEN_SENTENCES[kind], sub ? { sub, state } : null);
    }
    const who = { sub: claims.sub, state };
    if (!(await allowed(deps.pageLimiter, claims.sub, log))) {
      return fail(res, log, 'page', 'rate-limited', SENTENCES.limited, who, 429);
    }
    // The token with the state it came with: two logins of one user within a second may carry
    // byte-identical tokens (same sub, iat and exp), but never the same Auth0 state.
    if (
      !(await firstUse(
        `session:${createHash('sha256').update(`${claims.digest}\n${state}`).digest('hex')}`,
        log,
      ))
    ) {
      return fail(res, log, 'page', 'token-replayed', SENTENCES.replayed, who);
    }
    let found;
    try {
      found = await findLinkCandidates(deps.api(requestId), claims.sub);
    } catch (error) {
      log.warn({ err: error }, 'login-link page could not read the users');
      return fail(res, log, 'page', 'upstream', SENTENCES.unavailable, who, 502);
    }
    if (!found.user || found.candidates.length === 0) {
      return fail(res, log, 'page', 'no-candidates', SENTENCES.none, who);
    }
    const offered = found.candidates.slice(0, MAX_CANDIDATES);
    const session: LoginLinkSession = {
      sub: claims.sub,
      state,
      email: found.user.email!.toLowerCase(),
      expiresAt: claims.exp * 1000,
      candidates: offered.map(({ userId, connection }) => ({ userId, connection })),
      csrf: random(),
    };
    const cookie = sessionCookie(sealer.seal(session), {
      secure: secure(),
      maxAgeSeconds: Math.min(SESSION_TOKEN_MAX_SECONDS, (session.expiresAt - Date.now()) / 1000),
    });
    const current = found.user.identities?.[0]?.connection ?? claims.sub.split('|')[0];
    count('page', 'shown');
    sendPage(
      res,
      200,
      renderChoicePage({
        current: { connection: current, email: found.user.email ?? null },
        candidates: offered,
        csrf: session.csrf,
      }),
      cookie,
    );
  }

  async function start(req: IncomingMessage, res: ServerResponse, log: Logger) {
    const session = sealer.open(readCookie(req.headers.cookie, SESSION_COOKIE));
    let form: URLSearchParams;
    try {
      form = await readForm(req);
    } catch (error) {
      if (!(error instanceof FormTooLargeError)) throw error;
      form = new URLSearchParams();
    }
    if (!session) return fail(res, log, 'start', 'no-session', SENTENCES.noSession, null);
    const who = { sub: session.sub, state: session.state };
    if (!sameSecret(form.get('csrf'), session.csrf)) {
      return fail(res, log, 'start', 'csrf', SENTENCES.csrf, who, 403);
    }
    const decision = form.get('decision');
    if (decision === 'skip') return handBack(res, log, 'start', { ...who, outcome: 'skipped' });
    if (decision === 'never') {
      return handBack(res, log, 'start', {
        ...who,
        outcome: 'declined',
        declined: session.candidates.map((c) => c.userId),
      });
    }
    const chosen = session.candidates.find((c) => c.userId === form.get('candidate'));
    if (!chosen) return fail(res, log, 'start', 'not-offered', SENTENCES.notOffered, who);
    const pending = { candidate: chosen.userId, verifier: random(), nonce: random(), oauthState: random() };
    const challenge = createHash('sha256').update(pending.verifier).digest('base64url');
    const authorize = new URLSearchParams({
      response_type: 'code',
      client_id: setting.clientId,
      redirect_uri: callbackUrl(),
      scope: 'openid email',
      connection: chosen.connection,
      prompt: 'login',
      max_age: '0',
      login_hint: session.email,
      state: pending.oauthState,
      nonce: pending.nonce,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    log.info({ loginLink: 'start', candidate: chosen.userId }, 'linking at login: candidate sign-in');
    count('start', 'sign-in');
    res.writeHead(302, {
      location: `${tenant}/authorize?${authorize.toString()}`,
      'set-cookie': sessionCookie(sealer.seal({ ...session, pending }), {
        secure: secure(),
        maxAgeSeconds: (session.expiresAt - Date.now()) / 1000,
      }),
      'cache-control': 'no-store',
    });
    res.end();
  }

  /** The candidate's ID token, from the code: client secret and PKCE. */
  async function exchangeCode(code: string, verifier: string): Promise<string | null> {
    const response = await fetch(`${tenant}${TOKEN_EXCHANGE_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        client_id: setting.clientId,
        client_secret: setting.clientSecret,
        code,
        code_verifier: verifier,
        redirect_uri: callbackUrl(),
      }),
      signal: AbortSignal.timeout(deps.config.auth0.timeoutMs),
    });
    if (!response.ok) return null;
    const body = (await response.json()) as { id_token?: unknown };
    return typeof body.id_token === 'string' ? body.id_token : null;
  }

  async function callback(
    req: IncomingMessage,
    res: ServerResponse,
    search: string,
    requestId: string,
    log: Logger,
  ) {
    const session = sealer.open(readCookie(req.headers.cookie, SESSION_COOKIE));
    if (!session) return fail(res, log, 'callback', 'no-session', SENTENCES.noSession, null);
    const who = { sub: session.sub, state: session.state };
    const query = new URLSearchParams(search);
    const pending = session.pending;
    if (!pending || !sameSecret(query.get('state'), pending.oauthState)) {
      return fail(res, log, 'callback', 'state', SENTENCES.otherBrowser, who);
    }
    const code = query.get('code');
    if (query.has('error') || !code) return fail(res, log, 'callback', 'no-code', SENTENCES.cancelled, who);
    if (!(await firstUse(`callback:${pending.oauthState}`, log))) {
      return fail(res, log, 'callback', 'state-replayed', SENTENCES.replayed, who);
    }
    let idToken: string | null;
    try {
      idToken = await exchangeCode(code, pending.verifier);
    } catch (error) {
      log.warn({ err: error }, 'login-link code exchange failed');
      idToken = null;
    }
    if (!idToken) return fail(res, log, 'callback', 'code-exchange', SENTENCES.signInFailed, who);
    const checked = await verifyCandidateIdToken(idToken, {
      keys: deps.keys,
      issuer: deps.config.auth0.issuer,
      clientId: setting.clientId,
      nonce: pending.nonce,
      subject: pending.candidate,
    });
    if (!checked.ok) {
      return fail(
        res,
        log,
        'callback',
        `id-token-${checked.refusal}`,
        CANDIDATE_SENTENCES[checked.refusal],
        who,
      );
    }
    const ctx = deps.writeContext(requestId);
    const { provider, id } = parseUserId(session.sub, 'secondary');
    try {
      await performLink(ctx, {
        primaryId: pending.candidate,
        secondaryId: session.sub,
        mode: 'login',
        callerSubject: session.sub,
        // Checked when the page listed them; read again here, under the lock, just before the link.
        verifiedEmailPolicy: true,
        mergeKinds: setting.mergeMetadata ? ['user_metadata'] : null,
        link: () => ctx.auth0.linkIdentity(pending.candidate, { provider, user_id: id }, { kind: 'service' }),
      });
    } catch (error) {
      const detail =
        error instanceof GatewayError ? `${error.code}${error.reason ? `/${error.reason}` : ''}` : 'error';
      if (!(error instanceof GatewayError)) log.error({ err: error }, 'login-link link failed unexpectedly');
      return fail(res, log, 'callback', `link-${detail}`, SENTENCES.linkFailed, who);
    } finally {
      await deps.invalidateUsers?.([pending.candidate, session.sub]);
    }
    return handBack(res, log, 'callback', { ...who, outcome: 'linked', primaryUserId: pending.candidate });
  }

  return async (req, res, target, requestId) => {
    const { pathname } = target;
    if (pathname !== '/login-link' && !pathname.startsWith('/login-link/')) return false;
    const method = req.method ?? 'GET';
    const log = deps.logger.child({ requestId });
    const only = (allowedMethod: string) => {
      if (method === allowedMethod) return true;
      sendJson(res, 405, { error: `Use ${allowedMethod}.` }, { allow: allowedMethod });
      return false;
    };
    switch (pathname) {
      case '/login-link/check':
        if (only('POST')) await check(req, res, requestId, log);
        return true;
      case '/login-link':
        if (only('GET')) await page(res, target.search, requestId, log);
        return true;
      case '/login-link/start':
        if (only('POST')) await start(req, res, log);
        return true;
      case '/login-link/callback':
        if (only('GET')) await callback(req, res, target.search, requestId, log);
        return true;
      case '/login-link/style.css':
        if (!only('GET')) return true;
        res.writeHead(200, {
          'content-type': 'text/css; charset=utf-8',
          'cache-control': 'no-cache',
          'x-content-type-options': 'nosniff',
        });
        res.end(css);
        return true;
      default:
        return false;
    }
  };
}
