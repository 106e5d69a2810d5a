// The HTTP server: route matching, journal, faults, rate limiting, then the route handlers.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { EmulatorContext } from './context.js';
import {
  handleAuthorizeGet,
  handleAuthorizePost,
  handleContinue,
  type BrowserRequest,
} from './authorize-route.js';
import {
  handleAddOrganizationMembers,
  handleAssignMemberRoles,
  handleAssignUserRoles,
  handleGetMemberRoles,
  handleGetOrganizationMembers,
  handleGetUserOrganizations,
  handleGetUserRoles,
  handleListOrganizations,
  handleListRoles,
  handleRemoveMemberRoles,
  handleRemoveOrganizationMembers,
  handleRemoveUserRoles,
} from './access-routes.js';
import { corsHeaders, preflight } from './cors.js';
import {
  EXPORT_FILE_PREFIX,
  handleCreateUsersExport,
  handleExportFile,
  handleGetJob,
} from './export-jobs.js';
import type { FaultInjector } from './faults.js';
import { managementError, readBody, ReplyError, type Reply } from './http.js';
import { redactFields, redactHeaders, type RequestJournal } from './journal.js';
import {
  handleGetUser,
  handleLink,
  handleSearchUsers,
  handleUnlink,
  handleUsersByEmail,
  type ManagementRequest,
} from './management-routes.js';
import type { TokenBucket } from './rate-limiter.js';
import { handleLogout, handleUserinfo } from './session-routes.js';
import { handleTokenRequest } from './token-route.js';
import { handleUpdateUser } from './update-user-route.js';
import { jwksDocument } from './tokens.js';
import type { JournalEntry, RouteName } from './types.js';

export interface ServerParts {
  ctx: () => EmulatorContext;
  journal: RequestJournal;
  faults: FaultInjector;
  bucket: () => TokenBucket;
}

interface Matched {
  route: RouteName | 'unknown';
  /** Raw (still percent-encoded) segments after /api/v2/, for Management routes. */
  rawSegments?: string[];
}

const JSON_TYPE = 'application/json; charset=utf-8';
const MANAGEMENT_PREFIX = '/api/v2/';

const BROWSER_ROUTES: Record<string, { route: RouteName; methods: string[] }> = {
  '/oauth/token': { route: 'token', methods: ['POST', 'OPTIONS'] },
  '/authorize': { route: 'authorize', methods: ['GET', 'POST'] },
  '/userinfo': { route: 'userinfo', methods: ['GET', 'POST', 'OPTIONS'] },
  '/v2/logout': { route: 'logout', methods: ['GET'] },
  '/continue': { route: 'continue', methods: ['GET', 'POST'] },
};

const BY_METHOD: Record<'roles' | 'members' | 'memberRoles', Record<string, RouteName | undefined>> = {
  roles: { GET: 'get-user-roles', POST: 'assign-user-roles', DELETE: 'remove-user-roles' },
  members: {
    GET: 'get-organization-members',
    POST: 'add-organization-members',
    DELETE: 'remove-organization-members',
  },
  memberRoles: { GET: 'get-member-roles', POST: 'assign-member-roles', DELETE: 'remove-member-roles' },
};

/** `/organizations/{id}/members` and `/organizations/{id}/members/{user_id}/roles`. */
function matchOrganizationRoute(method: string, segments: string[]): Matched {
  if (!segments[1] || segments[2] !== 'members') return { route: 'unknown' };
  const route =
    segments.length === 3
      ? BY_METHOD.members[method]
      : segments.length === 5 && segments[3] && segments[4] === 'roles'
        ? BY_METHOD.memberRoles[method]
        : undefined;
  return route ? { route, rawSegments: segments } : { route: 'unknown' };
}

export function matchRoute(method: string, path: string): Matched {
  const browser = BROWSER_ROUTES[path];
  if (browser?.methods.includes(method)) return { route: browser.route };
  if (method === 'GET' && path === '/.well-known/jwks.json') return { route: 'jwks' };
  if (method === 'GET' && path === '/.well-known/openid-configuration')
    return { route: 'openid-configuration' };
  if (method === 'GET' && path.startsWith(EXPORT_FILE_PREFIX)) {
    return { route: 'users-export-file', rawSegments: path.slice(EXPORT_FILE_PREFIX.length).split('/') };
  }
  if (!path.startsWith(MANAGEMENT_PREFIX)) return { route: 'unknown' };
  const segments = path.slice(MANAGEMENT_PREFIX.length).split('/');
  const [resource] = segments;
  if (resource === 'jobs' && segments.length === 2 && segments[1]) {
    if (method === 'POST' && segments[1] === 'users-exports') return { route: 'create-users-export' };
    if (method === 'GET' && segments[1] !== 'users-exports')
      return { route: 'get-job', rawSegments: segments };
    return { route: 'unknown' };
  }
  if (method === 'GET' && segments.length === 1 && resource === 'users') return { route: 'search-users' };
  if (method === 'GET' && segments.length === 1 && resource === 'users-by-email')
    return { route: 'users-by-email' };
  if (method === 'GET' && segments.length === 1 && resource === 'roles') return { route: 'list-roles' };
  if (method === 'GET' && segments.length === 1 && resource === 'organizations')
    return { route: 'list-organizations', rawSegments: segments };
  if (resource === 'organizations') return matchOrganizationRoute(method, segments);
  if (resource !== 'users' || !segments[1]) return { route: 'unknown' };
  if (method === 'GET' && segments.length === 2) return { route: 'get-user', rawSegments: segments };
  if (method === 'PATCH' && segments.length === 2) return { route: 'update-user', rawSegments: segments };
  if (segments.length === 3 && segments[2] === 'roles') {
    const route = BY_METHOD.roles[method];
    return route ? { route, rawSegments: segments } : { route: 'unknown' };
  }
  if (method === 'GET' && segments.length === 3 && segments[2] === 'organizations')
    return { route: 'get-user-organizations', rawSegments: segments };
  if (segments[2] !== 'identities') return { route: 'unknown' };
  if (method === 'POST' && segments.length === 3) return { route: 'link', rawSegments: segments };
  if (method === 'DELETE' && segments.length === 5 && segments[3] && segments[4]) {
    return { route: 'unlink', rawSegments: segments };
  }
  return { route: 'unknown' };
}

function discovery(ctx: EmulatorContext): Record<string, unknown> {
  const o = ctx.origin;
  return {
    issuer: ctx.issuer,
    authorization_endpoint: `${o}/authorize`,
    token_endpoint: `${o}/oauth/token`,
    device_authorization_endpoint: `${o}/oauth/device/code`,
    userinfo_endpoint: `${o}/userinfo`,
    mfa_challenge_endpoint: `${o}/mfa/challenge`,
    jwks_uri: `${o}/.well-known/jwks.json`,
    registration_endpoint: `${o}/oidc/register`,
    revocation_endpoint: `${o}/oauth/revoke`,
    scopes_supported: ['openid', 'profile', 'offline_access', 'name', 'given_name', 'family_name', 'nickname',
      'email', 'email_verified', 'picture', 'created_at', 'identities', 'phone', 'address'], // prettier-ignore
    response_types_supported: ['code', 'token', 'id_token', 'code token', 'code id_token', 'token id_token',
      'code token id_token'], // prettier-ignore
    code_challenge_methods_supported: ['S256', 'plain'],
    response_modes_supported: ['query', 'fragment', 'form_post', 'web_message'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['HS256', 'RS256', 'PS256'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    claims_supported: ['aud', 'auth_time', 'created_at', 'email', 'email_verified', 'exp', 'family_name',
      'given_name', 'iat', 'identities', 'iss', 'name', 'nickname', 'phone_number', 'picture', 'sub'], // prettier-ignore
    request_uri_parameter_supported: false,
    request_parameter_supported: false,
    end_session_endpoint: `${o}/oidc/logout`,
  };
}

function flattenHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

function decodeSegments(raw: string[]): string[] | undefined {
  try {
    return raw.map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
}

export class EmulatorServer {
  readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private closed = false;

  constructor(private readonly parts: ServerParts) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent && !res.destroyed) {
          this.send(res, undefined, managementError(500, 'Internal Server Error'));
        } else {
          res.destroy();
        }
      });
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.parts.faults.cancelTimers();
    const done = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await done;
  }

  private send(res: ServerResponse, entry: JournalEntry | undefined, reply: Reply, raw?: string): void {
    if (entry) entry.status = reply.status;
    const text = reply.bytes ?? raw ?? reply.text ?? JSON.stringify(reply.body);
    res.writeHead(reply.status, {
      'content-type': JSON_TYPE,
      'content-length': String(Buffer.byteLength(text)),
      ...reply.headers,
    });
    res.end(text);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const path = queryAt < 0 ? url : url.slice(0, queryAt);
    const query = Object.fromEntries(new URLSearchParams(queryAt < 0 ? '' : url.slice(queryAt + 1)));
    const matched = matchRoute(method, path);
    const headers = flattenHeaders(req);
    const entry = this.parts.journal.begin({
      route: matched.route,
      method,
      path,
      query: redactFields(query) as Record<string, string>,
      headers: redactHeaders(headers),
      body: undefined,
      status: 0,
    });
    const body = await readBody(req);
    entry.body = redactFields(body.value);

    const fault = this.parts.faults.take(matched.route);
    const request = { query, body, headers, ip: req.socket.remoteAddress };
    let applied: Reply | undefined;
    if (fault?.applyFirst) {
      applied = await this.answer(matched, method, path, request);
      entry.appliedStatus = applied.status;
    }
    if (fault?.latencyMs) {
      await this.parts.faults.delay(fault.latencyMs);
      if (this.closed) return;
    }
    if (fault?.destroy === 'before-headers') {
      req.socket.destroy();
      return;
    }
    if (fault?.destroy === 'after-headers') {
      entry.status = 200;
      res.writeHead(200, { 'content-type': JSON_TYPE, 'content-length': '1024' });
      // A partial body, then the reset: the client has a status line but never a complete response.
      res.write('{"partial":', () => res.socket?.destroy());
      return;
    }
    if (fault?.malformedJson) {
      const status = fault.status ?? (matched.route === 'link' ? 201 : 200);
      this.send(
        res,
        entry,
        { status, body: undefined, headers: fault.headers },
        '{"statusCode": 200, "users": [',
      );
      return;
    }
    if (fault && (fault.status !== undefined || fault.body !== undefined || fault.headers !== undefined)) {
      this.send(res, entry, {
        status: fault.status ?? 500,
        body: fault.body ?? null,
        headers: fault.headers,
      });
      return;
    }
    this.send(res, entry, applied ?? (await this.answer(matched, method, path, request)));
  }

  /** The tenant's own answer: the Management API rate limit, then the route. */
  private async answer(
    matched: Matched,
    method: string,
    path: string,
    request: BrowserRequest,
  ): Promise<Reply> {
    let rateHeaders: Record<string, string> | undefined;
    if (path.startsWith(MANAGEMENT_PREFIX)) {
      const decision = this.parts.bucket().take();
      rateHeaders = decision.headers;
      if (!decision.allowed) {
        return {
          ...managementError(429, 'Global limit has been reached', 'too_many_requests'),
          headers: rateHeaders,
        };
      }
    }
    const reply = await this.dispatch(matched, method, request);
    return { ...reply, headers: { ...rateHeaders, ...reply.headers } };
  }

  private async dispatch(matched: Matched, method: string, request: BrowserRequest): Promise<Reply> {
    const ctx = this.parts.ctx();
    const { query, body, headers } = request;
    const authorization = headers.authorization;
    try {
      switch (matched.route) {
        case 'token': {
          if (method === 'OPTIONS') return preflight(ctx, headers);
          const reply = await handleTokenRequest(ctx, body, authorization);
          const clientId = (body.value as { client_id?: unknown } | undefined)?.client_id;
          const cors = corsHeaders(ctx, headers.origin, typeof clientId === 'string' ? clientId : undefined);
          return { ...reply, headers: { ...reply.headers, ...cors } };
        }
        case 'authorize':
          return method === 'POST'
            ? await handleAuthorizePost(ctx, request)
            : await handleAuthorizeGet(ctx, request);
        case 'continue':
          return await handleContinue(ctx, method, request);
        case 'userinfo':
          return method === 'OPTIONS' ? preflight(ctx, headers) : await handleUserinfo(ctx, request);
        case 'logout':
          return handleLogout(ctx, request);
        case 'jwks':
          return { status: 200, body: jwksDocument(ctx.keys) };
        case 'openid-configuration':
          return { status: 200, body: discovery(ctx) };
        case 'users-export-file':
          return handleExportFile(ctx, matched.rawSegments ?? [], query);
        case 'unknown':
          return managementError(404, 'Not Found');
      }
      const segments = matched.rawSegments ? decodeSegments(matched.rawSegments) : [];
      if (!segments) return managementError(400, 'Invalid request URI', 'invalid_uri');
      const management: ManagementRequest = { segments, query, body, authorization };
      switch (matched.route) {
        case 'link':
          return await handleLink(ctx, management);
        case 'unlink':
          return await handleUnlink(ctx, management);
        case 'get-user':
          return await handleGetUser(ctx, management);
        case 'users-by-email':
          return await handleUsersByEmail(ctx, management);
        case 'search-users':
          return await handleSearchUsers(ctx, management);
        case 'update-user':
          return await handleUpdateUser(ctx, management);
        case 'list-roles':
          return await handleListRoles(ctx, management);
        case 'list-organizations':
          return await handleListOrganizations(ctx, management);
        case 'get-user-roles':
          return await handleGetUserRoles(ctx, management);
        case 'assign-user-roles':
          return await handleAssignUserRoles(ctx, management);
        case 'remove-user-roles':
          return await handleRemoveUserRoles(ctx, management);
        case 'get-user-organizations':
          return await handleGetUserOrganizations(ctx, management);
        case 'get-organization-members':
          return await handleGetOrganizationMembers(ctx, management);
        case 'add-organization-members':
          return await handleAddOrganizationMembers(ctx, management);
        case 'remove-organization-members':
          return await handleRemoveOrganizationMembers(ctx, management);
        case 'get-member-roles':
          return await handleGetMemberRoles(ctx, management);
        case 'assign-member-roles':
          return await handleAssignMemberRoles(ctx, management);
        case 'remove-member-roles':
          return await handleRemoveMemberRoles(ctx, management);
        case 'create-users-export':
          return await handleCreateUsersExport(ctx, management);
        case 'get-job':
          return await handleGetJob(ctx, management);
      }
    } catch (error) {
      if (error instanceof ReplyError) return error.reply;
      throw error;
    }
  }
}
