// Post-login Actions (DESIGN §14): deployed JavaScript run in a node:vm context with Auth0's
// `event` and `api` objects. The pipeline itself (suspend at a redirect, resume at /continue,
// finish with a code) is in post-login.ts; this file compiles Actions and runs one handler.
//
// What Auth0 documents and the emulator follows ("Actions Triggers: post-login", "Redirect with
// Actions"): handlers are `exports.onExecutePostLogin` / `exports.onContinuePostLogin`; an Action
// runs at most 20 s; `api.redirect.encodeToken` signs HS256 with `iss` = the tenant's domain,
// `sub` = the user id, `iat`, `exp`, `ip` and the payload; `api.redirect.validateToken` checks
// the signature, `exp`, the standard claims and that the `state` claim is the /continue state.
// node:vm is not a security boundary: the emulator runs code its operator deployed, locally.
import * as nodeBuffer from 'node:buffer';
import * as nodeCrypto from 'node:crypto';
import * as nodeQuerystring from 'node:querystring';
import * as nodeUrl from 'node:url';
import * as nodeUtil from 'node:util';
import vm from 'node:vm';
import type { ActionsDeployment, SeedAction } from './types.js';

export const POST_LOGIN = 'post-login';
/** Auth0 stops an Action after 20 seconds. */
export const DEFAULT_ACTION_TIMEOUT_MS = 20_000;
/** `api.redirect.encodeToken` without `expiresInSeconds`: Auth0 documents 900 s (15 minutes). */
const DEFAULT_ENCODE_SECONDS = 900;
/** Action log lines kept (console.* of Actions), oldest dropped first. */
const MAX_LOG_LINES = 500;

export interface CompiledAction {
  name: string;
  secrets: Record<string, string>;
  script: vm.Script;
}

/** Node built-ins an Action may `require` (Auth0's runtime has them; the emulator installs no npm dependency). */
const BUILTINS: Record<string, unknown> = {
  crypto: nodeCrypto,
  url: nodeUrl,
  util: nodeUtil,
  buffer: nodeBuffer,
  querystring: nodeQuerystring,
};

function builtinRequire(name: string): unknown {
  const bare = name.startsWith('node:') ? name.slice('node:'.length) : name;
  const found = BUILTINS[bare];
  if (found === undefined) {
    throw new Error(
      `Cannot find module '${name}': the emulator's Actions have no dependencies (Node built-ins only: ${Object.keys(BUILTINS).join(', ')})`,
    );
  }
  return found;
}

function compile(action: SeedAction, index: number): CompiledAction {
  const at = `actions[${index}]`;
  if (typeof action.name !== 'string' || action.name === '') throw new Error(`${at}.name: required`);
  if (typeof action.code !== 'string') throw new Error(`${at}.code: the Action's source text is required`);
  const secrets: Record<string, string> = {};
  (action.secrets ?? []).forEach((secret, j) => {
    if (typeof secret?.name !== 'string' || typeof secret.value !== 'string') {
      throw new Error(`${at}.secrets[${j}]: needs a string name and value`);
    }
    secrets[secret.name] = secret.value;
  });
  let script: vm.Script;
  try {
    script = new vm.Script(action.code, { filename: `action:${action.name}.js` });
  } catch (error) {
    throw new Error(`${at} (${action.name}): does not compile: ${(error as Error).message}`);
  }
  return { name: action.name, secrets, script };
}

/** Validates and compiles a deployment; returns the post-login Actions in binding order. */
export function compileDeployment(deployment: ActionsDeployment): CompiledAction[] {
  const byName = new Map<string, { action: SeedAction; index: number }>();
  (deployment.actions ?? []).forEach((action, index) => {
    if (byName.has(action?.name)) throw new Error(`actions[${index}].name: duplicate ${action.name}`);
    byName.set(action?.name, { action, index });
  });
  const bindings = deployment.triggers?.[POST_LOGIN] ?? [];
  return bindings.map((binding, j) => {
    const found = byName.get(binding?.action_name);
    if (!found) throw new Error(`triggers.${POST_LOGIN}[${j}]: no action named ${binding?.action_name}`);
    const supported = found.action.supported_triggers;
    // The Deploy CLI names the triggers an Action is built for; binding it elsewhere is refused.
    if (supported !== undefined && !supported.some((t) => t?.id === POST_LOGIN)) {
      throw new Error(
        `actions[${found.index}] (${found.action.name}): does not support the ${POST_LOGIN} trigger`,
      );
    }
    return compile(found.action, found.index);
  });
}

/** What the Actions wrote with console.*, newest last (never secrets the emulator adds itself). */
export class ActionLog {
  private readonly lines: string[] = [];

  add(action: string, level: string, args: unknown[]): void {
    const text = args.map((a) => (typeof a === 'string' ? a : nodeUtil.inspect(a, { depth: 4 }))).join(' ');
    this.lines.push(`[${action}] ${level}: ${text}`);
    if (this.lines.length > MAX_LOG_LINES) this.lines.shift();
  }

  entries(): string[] {
    return [...this.lines];
  }

  clear(): void {
    this.lines.length = 0;
  }
}

function actionConsole(log: ActionLog, action: string): Record<string, (...args: unknown[]) => void> {
  const write =
    (level: string) =>
    (...args: unknown[]) =>
      log.add(action, level, args);
  return {
    log: write('log'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    debug: write('debug'),
  };
}

export class ActionTimeoutError extends Error {
  readonly code = 'action_timeout';
}

export type HandlerName = 'onExecutePostLogin' | 'onContinuePostLogin';

/** The handler's call, run inside the context so that vm's timeout covers its synchronous part. */
const CALLS: Record<HandlerName, vm.Script> = {
  onExecutePostLogin: new vm.Script('module.exports.onExecutePostLogin(__event, __api)'),
  onContinuePostLogin: new vm.Script('module.exports.onContinuePostLogin(__event, __api)'),
};

/**
 * Runs one handler of an Action in a fresh context: CommonJS `exports`, global `fetch`, `URL`,
 * timers, `Buffer`, `AbortSignal`, `console` (to the ActionLog). Resolves when the handler's
 * promise settles; rejects with its error, or with ActionTimeoutError after `timeoutMs`.
 * Returns false when the Action has no such handler.
 */
export async function runHandler(
  action: CompiledAction,
  handler: HandlerName,
  event: unknown,
  api: unknown,
  o: { timeoutMs: number; log: ActionLog },
): Promise<boolean> {
  const module = { exports: {} as Record<string, unknown> };
  const context = vm.createContext({
    module,
    exports: module.exports,
    require: builtinRequire,
    console: actionConsole(o.log, action.name),
    fetch,
    Headers,
    Request,
    Response,
    FormData,
    URL,
    URLSearchParams,
    AbortController,
    AbortSignal,
    TextEncoder,
    TextDecoder,
    Buffer,
    atob,
    btoa,
    structuredClone,
    queueMicrotask,
    setTimeout,
    clearTimeout,
    setInterval,
    clearInterval,
    setImmediate,
    clearImmediate,
    crypto: globalThis.crypto,
  });
  // The synchronous parts (the module body, the handler up to its first await) are bounded by
  // vm's own timeout; the rest by the timer below.
  action.script.runInContext(context, { timeout: o.timeoutMs });
  if (typeof module.exports[handler] !== 'function') return false;
  Object.assign(context, { __event: event, __api: api });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new ActionTimeoutError(`The Action ${action.name} did not finish within ${o.timeoutMs} ms`)),
      o.timeoutMs,
    );
  });
  try {
    await Promise.race([
      Promise.resolve().then(() => CALLS[handler].runInContext(context, { timeout: o.timeoutMs }) as unknown),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
  return true;
}

// --- HS256 tokens of api.redirect.encodeToken / validateToken ---------------------------------

function b64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}

export function signHs256(claims: Record<string, unknown>, secret: string): string {
  const head = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}`;
  return `${head}.${nodeCrypto.createHmac('sha256', secret).update(head).digest('base64url')}`;
}

/** Thrown by validateToken: what Auth0 says of a session token it refuses. */
export class SessionTokenError extends Error {
  readonly code = 'invalid_session_token';
}

function invalid(reason: string): never {
  throw new SessionTokenError(`The session token is invalid: ${reason}`);
}

export interface TokenExpectations {
  secret: string;
  /** The state of the /continue request: the token's `state` claim must equal it. */
  state: string;
  /** The transaction's user: the token's `sub` must equal it. */
  subject: string;
  nowSeconds: number;
}

/**
 * Verifies a session token sent back to /continue. Auth0 refuses one whose signature, `exp` or
 * `state` is wrong, and one missing a standard claim (`iat`, `exp`, `sub`, `iss`, `state`:
 * "Missing or invalid standard claims"; `sub` must be the transaction's user). Auth0 does not
 * document a value for `iss`: any non-empty string passes.
 */
export function verifySessionToken(token: unknown, expected: TokenExpectations): Record<string, unknown> {
  if (typeof token !== 'string' || token === '') invalid('no token was sent to /continue');
  const parts = token.split('.');
  if (parts.length !== 3) invalid('not a JWT');
  let header: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')) as Record<string, unknown>;
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    invalid('not a JWT');
  }
  if (header.alg !== 'HS256') invalid(`unsupported algorithm ${String(header.alg)} (HS256 only)`);
  const signature = Buffer.from(parts[2], 'base64url');
  const wanted = nodeCrypto.createHmac('sha256', expected.secret).update(`${parts[0]}.${parts[1]}`).digest();
  if (signature.length !== wanted.length || !nodeCrypto.timingSafeEqual(signature, wanted)) {
    invalid('invalid signature');
  }
  if (typeof claims !== 'object' || claims === null) invalid('not a JWT');
  const { iat, exp, sub, iss, state } = claims;
  if (
    typeof iat !== 'number' ||
    typeof exp !== 'number' ||
    typeof sub !== 'string' ||
    typeof iss !== 'string'
  ) {
    invalid('Missing or invalid standard claims');
  }
  if (iss === '') invalid('Missing or invalid standard claims');
  if (exp <= expected.nowSeconds) invalid('the token has expired');
  if (state !== expected.state) invalid('State in the token does not match the /continue state.');
  if (sub !== expected.subject) invalid('sub in the token does not match the user of the transaction');
  return claims;
}

export interface EncodeOptions {
  secret: string;
  payload?: Record<string, unknown>;
  expiresInSeconds?: number;
}

export function encodeSessionToken(
  o: EncodeOptions,
  standard: { issuer: string; subject: string; ip: string | undefined; nowSeconds: number },
): string {
  if (typeof o?.secret !== 'string' || o.secret === '')
    throw new TypeError('encodeToken: a secret is required');
  const lifetime = o.expiresInSeconds ?? DEFAULT_ENCODE_SECONDS;
  if (typeof lifetime !== 'number' || !(lifetime > 0)) {
    throw new TypeError('encodeToken: expiresInSeconds must be a positive number');
  }
  // The standard claims win over the payload's: the receiver relies on `sub` being the user.
  return signHs256(
    {
      ...(o.payload ?? {}),
      iss: standard.issuer,
      sub: standard.subject,
      iat: standard.nowSeconds,
      exp: standard.nowSeconds + Math.floor(lifetime),
      ...(standard.ip === undefined ? {} : { ip: standard.ip }),
    },
    o.secret,
  );
}
