// The post-login pipeline of a browser login: the bound Actions in order, suspended at
// api.redirect.sendUserTo and resumed at /continue on the same Action, then the code.
//
// Auth0's "Redirect with Actions": after the Action that asked for a redirect completes, the
// pipeline is suspended and the browser goes to the URL with a `state` parameter; /continue with
// that state runs the same Action's onContinuePostLogin, then the Actions bound after it.
// `api.user.set*Metadata` changes are batched and written once, when the pipeline suspends or
// completes (Auth0: "aggregated and updated at once before the flow is completed"; that a redirect
// writes them too is the emulator's reading, as the resumed flow must see them).
import { randomBytes } from 'node:crypto';
import type { AuthorizeRequest } from './authorize-route.js';
import {
  ActionLog,
  compileDeployment,
  encodeSessionToken,
  runHandler,
  verifySessionToken,
  type CompiledAction,
  type EncodeOptions,
} from './actions.js';
import type { EmulatorContext } from './context.js';
import type { Session } from './sessions.js';
import type { ActionsDeployment, WireUser } from './types.js';
import { userOfLogin } from './user-tokens.js';
import { toWireUser } from './wire.js';

/** A suspended login waits this long for /continue (Auth0 does not document its transaction lifetime). */
const PENDING_LIFETIME_MS = 60 * 60 * 1000;
/** The tenant id Actions see in `event.tenant.id`. */
export const EMULATOR_TENANT_ID = 'emulator';

export interface LoginTransaction {
  /** The /authorize request the code will answer. */
  request: AuthorizeRequest;
  /** `provider|id` that logged in. */
  loginIdentity: string;
  connection: string;
  isSocial: boolean;
  /** The SSO session the login reused; absent: a session starts when the login finishes. */
  session?: Session;
  /** The user the login started as. */
  userId: string;
  /** Set by api.authentication.setPrimaryUser: the login finishes as this user. */
  primaryUserId?: string;
  /** event.user when the user no longer exists (linked into another during the redirect). */
  userSnapshot: WireUser;
  /** The Actions bound when the login started (a redeploy does not change a login under way). */
  actions: CompiledAction[];
  /** Index of the Action that redirected (its onContinuePostLogin runs at /continue). */
  suspendedAt?: number;
  /** The /continue state while suspended. */
  continueState?: string;
  appMetadata: Map<string, Record<string, unknown>>;
  userMetadata: Map<string, Record<string, unknown>>;
  authTimeMs: number;
  loginsCount: number;
  expiresAt?: number;
}

/** The HTTP request the pipeline runs in (event.request). */
export interface PipelineRequest {
  method: string;
  ip: string | undefined;
  query: Record<string, string>;
  body: Record<string, string>;
  headers: Record<string, string | undefined>;
  /** At /continue: the state it was called with. */
  continueState?: string;
}

export type PipelineResult =
  | { kind: 'done' }
  | { kind: 'redirect'; location: string }
  | { kind: 'failed'; error: string; description: string };

/** The tenant's deployed post-login Actions and the logins suspended at a redirect. */
export class PostLoginActions {
  private bound: CompiledAction[] = [];
  private readonly pending = new Map<string, LoginTransaction>();
  private readonly loginCounts = new Map<string, number>();
  readonly log = new ActionLog();

  constructor(
    private readonly now: () => number,
    readonly timeoutMs: number,
  ) {}

  /** Replaces every Action and binding; throws (changing nothing) on an invalid deployment. */
  deploy(deployment: ActionsDeployment): void {
    this.bound = compileDeployment(deployment);
  }

  /** The post-login Actions a login starting now runs, in order. */
  postLogin(): CompiledAction[] {
    return [...this.bound];
  }

  /** Forgets suspended logins, login counts and logs (tenant reset). */
  clear(): void {
    this.pending.clear();
    this.loginCounts.clear();
    this.log.clear();
  }

  countLogin(userId: string): number {
    const count = (this.loginCounts.get(userId) ?? 0) + 1;
    this.loginCounts.set(userId, count);
    return count;
  }

  suspend(tx: LoginTransaction): string {
    // Logins abandoned at the redirect are dropped once expired.
    for (const [key, waiting] of this.pending)
      if ((waiting.expiresAt ?? 0) <= this.now()) this.pending.delete(key);
    const state = randomBytes(32).toString('base64url');
    tx.continueState = state;
    tx.expiresAt = this.now() + PENDING_LIFETIME_MS;
    this.pending.set(state, tx);
    return state;
  }

  /** The login waiting for this state, taken: a state resumes a login once. */
  take(state: string): LoginTransaction | undefined {
    const tx = this.pending.get(state);
    if (!tx) return undefined;
    this.pending.delete(state);
    return (tx.expiresAt ?? 0) <= this.now() ? undefined : tx;
  }
}

function currentUserId(tx: LoginTransaction): string {
  return tx.primaryUserId ?? tx.userId;
}

/** Root keys set, `null` (or undefined) removes one: what set*Metadata(key, value) does. */
function mergeRoot(
  current: Record<string, unknown> | undefined,
  patch: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...current };
  for (const [key, value] of Object.entries(patch ?? {})) {
    if (value === null || value === undefined) delete merged[key];
    // defineProperty: a "__proto__" key is data here, never the object's prototype.
    else Object.defineProperty(merged, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return merged;
}

function writeMetadata(ctx: EmulatorContext, tx: LoginTransaction): void {
  const touched = new Set([...tx.appMetadata.keys(), ...tx.userMetadata.keys()]);
  for (const userId of touched) {
    const user = ctx.state.user(userId);
    if (!user) continue;
    if (tx.appMetadata.has(userId)) {
      user.app_metadata = structuredClone(mergeRoot(user.app_metadata, tx.appMetadata.get(userId)));
    }
    if (tx.userMetadata.has(userId)) {
      user.user_metadata = structuredClone(mergeRoot(user.user_metadata, tx.userMetadata.get(userId)));
    }
    user.updated_at = new Date(ctx.now()).toISOString();
  }
  tx.appMetadata.clear();
  tx.userMetadata.clear();
}

/** event.user: the user as stored now, with this login's metadata changes not yet written. */
function eventUser(ctx: EmulatorContext, tx: LoginTransaction): WireUser {
  const id = currentUserId(tx);
  const stored = ctx.state.user(id);
  const wire = stored ? toWireUser(stored, { idpTokens: false }) : structuredClone(tx.userSnapshot);
  return {
    ...wire,
    app_metadata: mergeRoot(wire.app_metadata, tx.appMetadata.get(id)),
    user_metadata: mergeRoot(wire.user_metadata, tx.userMetadata.get(id)),
  };
}

function buildEvent(
  ctx: EmulatorContext,
  tx: LoginTransaction,
  http: PipelineRequest,
  secrets: Record<string, string>,
): Record<string, unknown> {
  const { request } = tx;
  const client = request.client;
  const provider = tx.loginIdentity.slice(0, tx.loginIdentity.indexOf('|'));
  return {
    user: eventUser(ctx, tx),
    client: {
      client_id: client.client_id,
      name: client.name ?? client.client_id,
      metadata: (client.client_metadata as Record<string, string> | undefined) ?? {},
    },
    connection: {
      id: ctx.state.connectionId(tx.connection),
      name: tx.connection,
      // Auth0's strategy: the provider for social connections, `auth0` for a database.
      strategy: tx.isSocial ? provider : 'auth0',
      metadata: {},
    },
    secrets: { ...secrets },
    request: {
      ip: http.ip,
      method: http.method,
      hostname: new URL(ctx.origin).hostname,
      query: { ...http.query },
      body: { ...http.body },
      user_agent: http.headers['user-agent'],
      language: http.headers['accept-language']?.split(',')[0]?.split(';')[0],
      geoip: {},
    },
    transaction: {
      // The authorization code flow of an OIDC client (what /authorize with response_type=code is).
      protocol: 'oidc-basic-profile',
      redirect_uri: request.redirectUri,
      state: request.state,
      requested_scopes: request.requestedScope,
      response_mode: request.responseMode,
      response_type: ['code'],
      prompt: request.prompt,
      login_hint: request.loginHint,
      acr_values: [],
      ui_locales: [],
      locale: 'en',
    },
    stats: { logins_count: tx.loginsCount },
    tenant: { id: EMULATOR_TENANT_ID },
    authentication: {
      methods: [
        { name: tx.isSocial ? 'federated' : 'pwd', timestamp: new Date(tx.authTimeMs).toISOString() },
      ],
    },
    authorization: { roles: ctx.state.rolesOfUser(currentUserId(tx)).map((r) => r.name) },
    session: tx.session ? { id: tx.session.sid } : undefined,
  };
}

interface Calls {
  finished: boolean;
  deny?: string;
  redirect?: { url: URL; query: Record<string, unknown> };
}

function buildApi(
  ctx: EmulatorContext,
  tx: LoginTransaction,
  http: PipelineRequest,
  calls: Calls,
  continuing: boolean,
): Record<string, unknown> {
  const live = (what: string): void => {
    if (calls.finished) throw new Error(`api.${what} called after the Action finished: ignored`);
  };
  const nowSeconds = (): number => Math.floor(ctx.now() / 1000);
  const pendingOf = (map: Map<string, Record<string, unknown>>): Record<string, unknown> => {
    const id = currentUserId(tx);
    let patch = map.get(id);
    if (!patch) {
      patch = {};
      map.set(id, patch);
    }
    return patch;
  };
  const setKey = (target: Record<string, unknown>, key: unknown, value: unknown): void => {
    if (typeof key !== 'string' || key === '')
      throw new TypeError('the metadata key must be a non-empty string');
    Object.defineProperty(target, key, {
      value: value === undefined ? null : structuredClone(value),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  };
  const api: Record<string, unknown> = {};
  Object.assign(api, {
    access: {
      deny(reason?: unknown) {
        live('access.deny');
        calls.deny = typeof reason === 'string' ? reason : String(reason ?? '');
        return api;
      },
    },
    redirect: {
      sendUserTo(url: unknown, options?: { query?: Record<string, unknown> }) {
        live('redirect.sendUserTo');
        // An absolute URL only (new URL throws a TypeError on anything else).
        calls.redirect = { url: new URL(String(url)), query: { ...(options?.query ?? {}) } };
        return api;
      },
      encodeToken(o: EncodeOptions) {
        return encodeSessionToken(o, {
          // The tenant's domain, as Auth0 writes it (`<tenant>.auth0.com`): here the origin's host.
          issuer: new URL(ctx.origin).host,
          subject: currentUserId(tx),
          ip: http.ip,
          nowSeconds: nowSeconds(),
        });
      },
      validateToken(o: { secret: string; tokenParameterName?: string }) {
        if (!continuing || http.continueState === undefined) {
          throw new Error(
            'validateToken: only in onContinuePostLogin (there is no /continue request to read)',
          );
        }
        const name = o?.tokenParameterName ?? 'session_token';
        const token = http.body[name] ?? http.query[name];
        return verifySessionToken(token, {
          secret: o?.secret,
          state: http.continueState,
          subject: currentUserId(tx),
          nowSeconds: nowSeconds(),
        });
      },
    },
    authentication: {
      setPrimaryUser(userId: unknown) {
        live('authentication.setPrimaryUser');
        if (typeof userId !== 'string' || userId === '')
          throw new TypeError('setPrimaryUser: a user id is required');
        // Takes effect at once: later calls (metadata, encodeToken) are for the primary, as the
        // user that logged in may no longer exist (the emulator's reading; Auth0 does not say).
        tx.primaryUserId = userId;
        return api;
      },
    },
    user: {
      setAppMetadata(key: unknown, value: unknown) {
        live('user.setAppMetadata');
        setKey(pendingOf(tx.appMetadata), key, value);
        return api;
      },
      setUserMetadata(key: unknown, value: unknown) {
        live('user.setUserMetadata');
        setKey(pendingOf(tx.userMetadata), key, value);
        return api;
      },
    },
  });
  return api;
}

function message(error: unknown): string {
  if (typeof error === 'object' && error !== null && typeof (error as Error).message === 'string') {
    return (error as Error).message;
  }
  return String(error);
}

/**
 * Runs the Actions from `start` (the first one's onContinuePostLogin when `continuing`).
 * A thrown error, a timeout or api.access.deny fails the login with `access_denied` and the
 * message (Auth0 reports an Action's uncaught error and a denial to the callback that way).
 */
async function run(
  ctx: EmulatorContext,
  tx: LoginTransaction,
  http: PipelineRequest,
  start: number,
  continuing: boolean,
): Promise<PipelineResult> {
  for (let index = start; index < tx.actions.length; index += 1) {
    const action = tx.actions[index];
    const resuming = continuing && index === start;
    const calls: Calls = { finished: false };
    const event = buildEvent(ctx, tx, http, action.secrets);
    const api = buildApi(ctx, tx, http, calls, resuming);
    try {
      const handler = resuming ? 'onContinuePostLogin' : 'onExecutePostLogin';
      const ran = await runHandler(action, handler, event, api, {
        timeoutMs: ctx.actions.timeoutMs,
        log: ctx.actions.log,
      });
      if (!ran && resuming)
        throw new Error(`The Action ${action.name} has no onContinuePostLogin to resume the login`);
    } catch (error) {
      calls.finished = true;
      return { kind: 'failed', error: 'access_denied', description: message(error) };
    }
    calls.finished = true;
    if (calls.deny !== undefined) return { kind: 'failed', error: 'access_denied', description: calls.deny };
    if (calls.redirect) {
      // A login that may not show anything (prompt=none) cannot be sent elsewhere.
      if (tx.request.prompt.includes('none')) {
        return {
          kind: 'failed',
          error: 'interaction_required',
          description: `The Action ${action.name} redirects, which a prompt=none login cannot do`,
        };
      }
      writeMetadata(ctx, tx);
      tx.suspendedAt = index;
      const state = ctx.actions.suspend(tx);
      const target = calls.redirect.url;
      for (const [key, value] of Object.entries(calls.redirect.query)) {
        if (value !== undefined && value !== null) target.searchParams.set(key, String(value));
      }
      target.searchParams.set('state', state);
      return { kind: 'redirect', location: target.toString() };
    }
  }
  writeMetadata(ctx, tx);
  // Auth0: the identity used to log in must belong to the user the login finishes as. After a
  // link inside the flow, that is the primary, and only api.authentication.setPrimaryUser says so.
  const finalId = currentUserId(tx);
  const owner = userOfLogin(ctx, tx.loginIdentity);
  if (!owner || owner.user_id !== finalId) {
    return {
      kind: 'failed',
      error: 'access_denied',
      description: tx.primaryUserId
        ? `setPrimaryUser(${finalId}): the identity ${tx.loginIdentity} that logged in is not one of that user's`
        : `The user ${finalId} of this login no longer exists (linked into another user?): an Action that links must call api.authentication.setPrimaryUser`,
    };
  }
  return { kind: 'done' };
}

export type NewTransaction = Pick<
  LoginTransaction,
  'request' | 'loginIdentity' | 'connection' | 'isSocial' | 'session'
>;

/** Starts the pipeline for a login; undefined when no post-login Action is bound (nothing to run). */
export async function startPostLogin(
  ctx: EmulatorContext,
  login: NewTransaction,
  http: PipelineRequest,
): Promise<{ tx: LoginTransaction; result: PipelineResult } | undefined> {
  const actions = ctx.actions.postLogin();
  if (actions.length === 0) return undefined;
  const user = userOfLogin(ctx, login.loginIdentity);
  // The routes start a pipeline only for an identity they have just found.
  if (!user) throw new Error(`no user owns ${login.loginIdentity}`);
  const tx: LoginTransaction = {
    ...login,
    userId: user.user_id,
    userSnapshot: toWireUser(user, { idpTokens: false }),
    actions,
    appMetadata: new Map(),
    userMetadata: new Map(),
    authTimeMs: login.session ? login.session.authTime * 1000 : ctx.now(),
    loginsCount: ctx.actions.countLogin(user.user_id),
  };
  return { tx, result: await run(ctx, tx, http, 0, false) };
}

/** Resumes a suspended login at /continue: the redirecting Action's onContinuePostLogin, then the rest. */
export function continuePostLogin(
  ctx: EmulatorContext,
  tx: LoginTransaction,
  http: PipelineRequest,
): Promise<PipelineResult> {
  return run(ctx, tx, http, tx.suspendedAt ?? 0, true);
}
