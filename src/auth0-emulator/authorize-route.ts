// GET and POST /authorize: the browser login of @auth0/auth0-spa-js (code + PKCE, query or web_message).
import { allowsGrant, isPublicClient, originAllowed, urlAllowed } from './clients.js';
import type { EmulatorContext } from './context.js';
import { redirect, type ParsedBody, type Reply } from './http.js';
import { errorPage, loginFormPage, socialPage, webMessagePage, type SocialUser } from './login-pages.js';
import {
  continuePostLogin,
  startPostLogin,
  type LoginTransaction,
  type PipelineRequest,
  type PipelineResult,
} from './post-login.js';
import { readCookie, SESSION_COOKIE, sessionCookie, type Session } from './sessions.js';
import { identityKey } from './state.js';
import type { SeedClient } from './types.js';
import { grantableScopes, scopeList, userOfLogin } from './user-tokens.js';

export interface BrowserRequest {
  query: Record<string, string>;
  body: ParsedBody;
  headers: Record<string, string | undefined>;
  /** The peer's address (event.request.ip of post-login Actions). */
  ip?: string;
}

export interface AuthorizeRequest {
  client: SeedClient;
  redirectUri: string;
  responseMode: 'query' | 'web_message';
  state?: string;
  nonce?: string;
  scope: string[];
  /** The scopes as asked (event.transaction.requested_scopes). */
  requestedScope: string[];
  audience?: string;
  connection?: string;
  prompt: string[];
  codeChallenge?: string;
  loginHint?: string;
}

type Checked = { ok: true; request: AuthorizeRequest } | { ok: false; reply: Reply };

const DEFAULT_DATABASE = 'Username-Password-Authentication';
/** RFC 7636 §4.2: base64url of a SHA-256 digest. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

interface Connection {
  name: string;
  isSocial: boolean;
  users: SocialUser[];
}

/** The tenant's connections, as its users' identities (main and linked) name them. */
function connections(ctx: EmulatorContext): Map<string, Connection> {
  const found = new Map<string, Connection>();
  for (const user of ctx.state.primaries()) {
    user.identities.forEach((identity, index) => {
      let connection = found.get(identity.connection);
      if (!connection) {
        connection = { name: identity.connection, isSocial: identity.isSocial, users: [] };
        found.set(identity.connection, connection);
      }
      const profile = index === 0 ? user.profile : (identity.profileData ?? {});
      const label = [profile.name, profile.email].filter((v) => typeof v === 'string').join(' · ');
      const userId = identityKey(identity.provider, identity.user_id);
      connection.users.push({ userId, label: label || userId });
    });
  }
  return found;
}

function databaseConnection(all: Map<string, Connection>, asked: string | undefined): string {
  if (asked !== undefined) return asked;
  return [...all.values()].find((c) => !c.isSocial)?.name ?? DEFAULT_DATABASE;
}

/** Answers the (registered) callback: a redirect with `params` in its query, or the web_message page. */
function deliver(
  request: Pick<AuthorizeRequest, 'redirectUri' | 'responseMode'>,
  params: Record<string, string | undefined>,
  headers: Record<string, string> = {},
): Reply {
  const defined = Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined)) as Record<
    string,
    string
  >;
  if (request.responseMode === 'web_message') {
    return webMessagePage(new URL(request.redirectUri).origin, defined, headers);
  }
  const url = new URL(request.redirectUri);
  for (const [key, value] of Object.entries(defined)) url.searchParams.set(key, value);
  return redirect(url.toString(), headers);
}

function oauthRedirectError(
  request: Pick<AuthorizeRequest, 'redirectUri' | 'responseMode'>,
  state: string | undefined,
  error: string,
  description: string,
): Checked {
  return { ok: false, reply: deliver(request, { error, error_description: description, state }) };
}

/**
 * Checks in Auth0's order: a client or redirect_uri that cannot be trusted gets an error page
 * (never a redirect to an unregistered URI); every later error goes back to the callback.
 */
function checkRequest(ctx: EmulatorContext, query: Record<string, string>): Checked {
  const page = (description: string): Checked => ({
    ok: false,
    reply: errorPage(400, 'invalid_request', description),
  });
  if (!query.client_id) return page('Missing required parameter: client_id');
  const client = ctx.state.client(query.client_id);
  if (!client) return page(`Unknown client: ${query.client_id}`);
  const redirectUri = query.redirect_uri;
  if (!redirectUri) return page('Missing required parameter: redirect_uri');
  if (!urlAllowed(client.callbacks, redirectUri)) {
    return page(`Callback URL mismatch. ${redirectUri} is not in the list of allowed callback URLs`);
  }
  const mode = query.response_mode ?? 'query';
  const state = query.state;
  const target = { redirectUri, responseMode: 'query' as const };
  if (mode !== 'query' && mode !== 'web_message') {
    return oauthRedirectError(target, state, 'invalid_request', `Unsupported response_mode: ${mode}`);
  }
  if (mode === 'web_message' && !originAllowed(client.web_origins, new URL(redirectUri).origin)) {
    return page(`The origin ${new URL(redirectUri).origin} is not in the list of allowed web origins`);
  }
  const delivery = { redirectUri, responseMode: mode } as const;
  const fail = (error: string, description: string) =>
    oauthRedirectError(delivery, state, error, description);

  const responseType = query.response_type;
  if (!responseType) return fail('invalid_request', 'Missing required parameter: response_type');
  // The emulator implements the code flow only, which is what auth0-spa-js 2.x uses.
  if (responseType !== 'code')
    return fail('unsupported_response_type', `Unsupported response type: ${responseType}`);
  if (!allowsGrant(client, 'authorization_code')) {
    return fail('unauthorized_client', "Grant type 'authorization_code' not allowed for the client.");
  }
  const challenge = query.code_challenge;
  if (challenge !== undefined || isPublicClient(client)) {
    if (!challenge)
      return fail('invalid_request', 'Parameter code_challenge is required for public clients (PKCE).');
    if (query.code_challenge_method !== 'S256') {
      return fail(
        'invalid_request',
        `Unsupported code_challenge_method: ${query.code_challenge_method ?? 'plain'} (S256 only)`,
      );
    }
    if (!S256_CHALLENGE.test(challenge))
      return fail('invalid_request', 'Invalid code_challenge: not a base64url SHA-256 digest');
  }
  const audience = query.audience || undefined;
  if (audience !== undefined && audience !== ctx.managementAudience && !ctx.state.hasApi(audience)) {
    return fail('access_denied', `Service not found: ${audience}`);
  }
  const connection = query.connection || undefined;
  if (connection !== undefined && !connections(ctx).has(connection)) {
    return fail('invalid_request', `The connection ${connection} is not enabled for this client`);
  }
  const prompt = scopeList(query.prompt);
  if (prompt.includes('none') && prompt.length > 1) {
    return fail('invalid_request', 'prompt=none cannot be combined with other prompt values');
  }
  return {
    ok: true,
    request: {
      client,
      redirectUri,
      responseMode: mode,
      state,
      nonce: query.nonce,
      scope: grantableScopes(ctx, scopeList(query.scope), audience),
      requestedScope: scopeList(query.scope),
      audience,
      connection,
      prompt,
      codeChallenge: challenge,
      loginHint: query.login_hint || undefined,
    },
  };
}

function issueCode(
  ctx: EmulatorContext,
  request: AuthorizeRequest,
  session: Session,
  headers: Record<string, string> = {},
): Reply {
  const code = ctx.logins.issueCode({
    clientId: request.client.client_id,
    redirectUri: request.redirectUri,
    codeChallenge: request.codeChallenge,
    loginIdentity: session.loginIdentity,
    scope: request.scope,
    audience: request.audience,
    nonce: request.nonce,
    sid: session.sid,
    authTime: session.authTime,
  });
  return deliver(request, { code, state: request.state }, headers);
}

/** The code for a login that got through the post-login Actions: a session reused or started. */
function issueForLogin(
  ctx: EmulatorContext,
  request: AuthorizeRequest,
  login: { loginIdentity: string; connection: string; session?: Session },
): Reply {
  if (login.session) return issueCode(ctx, request, login.session);
  const { cookie, session } = ctx.logins.startSession(login.loginIdentity, login.connection);
  return issueCode(ctx, request, session, { 'set-cookie': sessionCookie(cookie) });
}

/** What a pipeline's outcome sends the browser: elsewhere (a redirect Action), the code, or an error. */
function afterPipeline(ctx: EmulatorContext, tx: LoginTransaction, result: PipelineResult): Reply {
  switch (result.kind) {
    case 'redirect':
      return redirect(result.location);
    case 'failed':
      return deliver(tx.request, {
        error: result.error,
        error_description: result.description,
        state: tx.request.state,
      });
    case 'done':
      return issueForLogin(ctx, tx.request, tx);
  }
}

function pipelineRequest(method: string, req: BrowserRequest, continueState?: string): PipelineRequest {
  // The password of a login form never reaches an Action.
  const { password: _password, ...body } = formFields(req.body);
  return { method, ip: req.ip, query: req.query, body, headers: req.headers, continueState };
}

/** A login (or an SSO session) for `request`: the post-login Actions, then the code. */
async function finishLogin(
  ctx: EmulatorContext,
  request: AuthorizeRequest,
  login: { loginIdentity: string; connection: string; session?: Session },
  http: PipelineRequest,
): Promise<Reply> {
  const isSocial = connections(ctx).get(login.connection)?.isSocial ?? false;
  const started = await startPostLogin(ctx, { request, ...login, isSocial }, http);
  if (!started) return issueForLogin(ctx, request, login);
  return afterPipeline(ctx, started.tx, started.result);
}

/**
 * GET or POST /continue?state=…: resumes a login suspended by an Action's redirect. A missing,
 * unknown, used or expired state is refused on a page of the tenant (Auth0: invalid_request).
 */
export async function handleContinue(
  ctx: EmulatorContext,
  method: string,
  req: BrowserRequest,
): Promise<Reply> {
  const state = req.query.state ?? formFields(req.body).state;
  if (!state) return errorPage(400, 'invalid_request', 'Missing required parameter: state');
  const tx = ctx.actions.take(state);
  if (!tx) {
    return errorPage(
      400,
      'invalid_request',
      'Invalid state: no login is waiting for it (unknown, used or expired)',
    );
  }
  const result = await continuePostLogin(ctx, tx, pipelineRequest(method, req, state));
  return afterPipeline(ctx, tx, result);
}

/** The session in the cookie, if its user still exists and it fits the connection asked for. */
function usableSession(
  ctx: EmulatorContext,
  request: AuthorizeRequest,
  cookieHeader: string | undefined,
): Session | undefined {
  const session = ctx.logins.session(readCookie(cookieHeader, SESSION_COOKIE));
  if (!session || !userOfLogin(ctx, session.loginIdentity)) return undefined;
  // Asking for another connection (the second login of an account link) is a new login, not SSO.
  if (request.connection !== undefined && request.connection !== session.connection) return undefined;
  return session;
}

function loginPage(
  ctx: EmulatorContext,
  request: AuthorizeRequest,
  query: Record<string, string>,
  error?: { message: string; username?: string },
): Reply {
  const all = connections(ctx);
  const clientName = request.client.name ?? request.client.client_id;
  const asked = request.connection === undefined ? undefined : all.get(request.connection);
  if (asked?.isSocial) return socialPage(clientName, asked.name, asked.users);
  const socialLinks =
    request.connection === undefined
      ? [...all.values()]
          .filter((c) => c.isSocial)
          .map((c) => ({
            connection: c.name,
            href: `/authorize?${new URLSearchParams({ ...query, connection: c.name }).toString()}`,
          }))
      : [];
  return loginFormPage({
    clientName,
    connection: databaseConnection(all, request.connection),
    socialLinks,
    error: error?.message,
    username: error?.username,
  });
}

export async function handleAuthorizeGet(ctx: EmulatorContext, req: BrowserRequest): Promise<Reply> {
  const checked = checkRequest(ctx, req.query);
  if (!checked.ok) return checked.reply;
  const { request } = checked;
  const session = request.prompt.includes('login')
    ? undefined
    : usableSession(ctx, request, req.headers.cookie);
  if (session) {
    const login = { loginIdentity: session.loginIdentity, connection: session.connection, session };
    return finishLogin(ctx, request, login, pipelineRequest('GET', req));
  }
  if (request.prompt.includes('none')) {
    return deliver(request, {
      error: 'login_required',
      error_description: 'Login required',
      state: request.state,
    });
  }
  return loginPage(ctx, request, req.query);
}

function formFields(body: ParsedBody): Record<string, string> {
  if (typeof body.value !== 'object' || body.value === null) return {};
  return Object.fromEntries(
    Object.entries(body.value as Record<string, unknown>).filter(
      (e): e is [string, string] => typeof e[1] === 'string',
    ),
  );
}

/** The login form or a "continue as" button posted back: check it, start a session, answer with a code. */
export async function handleAuthorizePost(ctx: EmulatorContext, req: BrowserRequest): Promise<Reply> {
  const checked = checkRequest(ctx, req.query);
  if (!checked.ok) return checked.reply;
  const { request } = checked;
  const fields = formFields(req.body);
  const all = connections(ctx);
  const connectionName = request.connection ?? fields.connection ?? databaseConnection(all, undefined);
  const connection = all.get(connectionName);
  if (!connection) return errorPage(400, 'invalid_request', `Unknown connection: ${connectionName}`);

  let loginIdentity: string | undefined;
  if (connection.isSocial) {
    loginIdentity = connection.users.find((u) => u.userId === fields.user_id)?.userId;
    if (!loginIdentity)
      return errorPage(400, 'invalid_request', `No user ${fields.user_id ?? ''} in ${connectionName}`);
  } else {
    const username = fields.username ?? '';
    // Several users may share an email (Auth0 databases may not, but seeds may): the password decides.
    const matches = ctx.state
      .loginCandidates(username, connectionName)
      .filter((c) => c.password === fields.password);
    const exact = matches.filter(
      (c) => c.email === username || identityKey(c.identity.provider, c.identity.user_id) === username,
    );
    const picked = matches.length === 1 ? matches[0] : exact.length === 1 ? exact[0] : undefined;
    if (!picked) {
      return loginPage(ctx, { ...request, connection: connectionName }, req.query, {
        message: 'Wrong email or password.',
        username,
      });
    }
    loginIdentity = identityKey(picked.identity.provider, picked.identity.user_id);
  }
  return finishLogin(
    ctx,
    request,
    { loginIdentity, connection: connectionName },
    pipelineRequest('POST', req),
  );
}
