// The Management API endpoints the gateway uses, with Auth0's scope checks, statuses and error bodies.
// The provider enum and the connection_id pattern come from Auth0's published OpenAPI document,
// the same copy the gateway reads, so the two never disagree about them.
import { auth0ConnectionIdPattern, auth0IdentityProviders } from '../auth0/openapi/published-contract.js';
import type { EmulatorContext } from './context.js';
import { fail, type ParsedBody, type Reply } from './http.js';
import { matchesQuery, parseSearchQuery, SearchSyntaxError } from './search.js';
import { identityKey, splitUserId, type StoredUser } from './state.js';
import { verifyTenantJwt } from './tokens.js';
import { projectFields, toWireIdentities, toWireUser } from './wire.js';

export interface Caller {
  claims: Record<string, unknown>;
  sub: string | undefined;
  iss: string;
  azp: string | undefined;
  scopes: Set<string>;
}

export interface ManagementRequest {
  /** Decoded path segments after /api/v2/. */
  segments: string[];
  query: Record<string, string>;
  body: ParsedBody;
  authorization: string | undefined;
}

const SUB_MISMATCH = 'User to be acted on does not match subject in bearer token';

export async function authenticate(ctx: EmulatorContext, authorization: string | undefined): Promise<Caller> {
  if (!authorization) fail(401, 'Missing authentication');
  // Auth0's answer to a non-Bearer scheme; the exact text is unconfirmed.
  const bearer = /^Bearer\s+(\S+)$/i.exec(authorization);
  if (!bearer) fail(401, 'Bad HTTP authentication header format');
  const result = await verifyTenantJwt(bearer[1], ctx.keys, ctx.now());
  if (!result.ok) {
    // A kid the tenant does not publish is reported like a bad signature (unconfirmed).
    if (result.reason === 'signature' || result.reason === 'unknown-key') {
      fail(401, 'Invalid signature received for JSON Web Token validation');
    }
    if (result.reason === 'expired') fail(401, 'Expired token received for JSON Web Token validation');
    fail(401, 'Invalid token');
  }
  const claims = result.payload;
  const aud = claims.aud;
  const audiences = Array.isArray(aud) ? aud : [aud];
  if (claims.iss !== ctx.issuer || !audiences.includes(ctx.managementAudience)) fail(401, 'Invalid token');
  const scopes = new Set(typeof claims.scope === 'string' ? claims.scope.split(/\s+/).filter(Boolean) : []);
  if (Array.isArray(claims.permissions)) {
    for (const p of claims.permissions) if (typeof p === 'string') scopes.add(p);
  }
  return {
    claims,
    sub: typeof claims.sub === 'string' ? claims.sub : undefined,
    iss: claims.iss as string,
    azp: typeof claims.azp === 'string' ? claims.azp : undefined,
    scopes,
  };
}

export function insufficientScope(expected: string[]): never {
  fail(403, `Insufficient scope, expected any of: ${expected.join(',')}`, 'insufficient_scope');
}

/** Admin scopes act on anyone; `*current_user*` scopes only on the token's own sub. */
export function authorize(
  caller: Caller,
  userId: string,
  adminScopes: string[],
  selfScopes: string[],
  expected = [...adminScopes, ...selfScopes],
): 'admin' | 'self' {
  if (adminScopes.some((s) => caller.scopes.has(s))) return 'admin';
  if (!selfScopes.some((s) => caller.scopes.has(s))) insufficientScope(expected);
  if (caller.sub !== userId) fail(403, SUB_MISMATCH);
  return 'self';
}

export function primaryOrFail(ctx: EmulatorContext, userId: string): StoredUser {
  const user = ctx.state.user(userId);
  if (!user) fail(404, 'The user does not exist.', 'inexistent_user');
  return user;
}

export function canReadIdpTokens(caller: Caller): boolean {
  return caller.scopes.has('read:user_idp_tokens');
}

// ---- POST /api/v2/users/{id}/identities ----

interface LinkBody {
  link_with?: string;
  provider?: string;
  user_id?: string | number;
  connection_id?: string;
}

const LINK_BODY_KEYS = ['provider', 'connection_id', 'user_id', 'link_with'];

export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

export function payloadError(detail: string, property?: string): never {
  const where = property === undefined ? '' : ` on property ${property}`;
  fail(400, `Payload validation error: '${detail}'${where}.`, 'invalid_body');
}

export function validateLinkBody(body: ParsedBody): LinkBody {
  // The spec names this 400 "Invalid request body"; Auth0's exact text for unparseable JSON is unconfirmed.
  if (body.kind === 'invalid') fail(400, 'Invalid request body', 'invalid_body');
  const value = body.kind === 'none' ? {} : body.value;
  if (typeName(value) !== 'object') payloadError(`Expected type object but found type ${typeName(value)}`);
  const fields = value as Record<string, unknown>;
  const extra = Object.keys(fields).filter((k) => !LINK_BODY_KEYS.includes(k));
  if (extra.length > 0) payloadError(`Additional properties not allowed: ${extra.join(',')}`);
  const count = Object.keys(fields).length;
  if (count < 1) payloadError(`Too few properties defined (${count}), minimum 1`);

  for (const key of ['provider', 'connection_id', 'link_with']) {
    if (fields[key] !== undefined && typeof fields[key] !== 'string') {
      payloadError(`Expected type string but found type ${typeName(fields[key])}`, key);
    }
  }
  const {
    provider,
    connection_id: connectionId,
    link_with: linkWith,
  } = fields as Record<string, string | undefined>;
  if (provider !== undefined && !auth0IdentityProviders().has(provider)) {
    payloadError(`No enum match for: "${provider}"`, 'provider');
  }
  const pattern = auth0ConnectionIdPattern();
  if (connectionId !== undefined && !pattern.test(connectionId)) {
    payloadError(`String does not match pattern ${pattern.source}: ${connectionId}`, 'connection_id');
  }
  const userId = fields.user_id;
  if (userId !== undefined) {
    if (typeof userId === 'string') {
      if (userId.length < 1) payloadError('String is too short (0 chars), minimum 1', 'user_id');
    } else if (typeName(userId) !== 'integer') {
      payloadError(`Expected type string,integer but found type ${typeName(userId)}`, 'user_id');
    }
  }
  // Auth0's wording for mixing the two modes is unconfirmed; it is a schema (invalid_body) failure.
  if (
    linkWith !== undefined &&
    (provider !== undefined || userId !== undefined || connectionId !== undefined)
  ) {
    payloadError('link_with cannot be combined with provider, user_id or connection_id');
  }
  if (linkWith === undefined) {
    if (provider === undefined) payloadError('Missing required property: provider');
    if (userId === undefined) payloadError('Missing required property: user_id');
  }
  return {
    link_with: linkWith,
    provider,
    user_id: userId as string | number | undefined,
    connection_id: connectionId,
  };
}

async function secondaryFromLinkWith(ctx: EmulatorContext, caller: Caller, token: string): Promise<string> {
  const result = await verifyTenantJwt(token, ctx.keys, ctx.now());
  if (!result.ok) {
    if (result.reason === 'alg') fail(400, 'JWT (link_with) must have an alg of RS256');
    // Expiry has no message of its own in the reference: it is reported as an invalid token.
    fail(400, 'Invalid token (link_with).');
  }
  const claims = result.payload;
  if (claims.iss !== caller.iss) fail(400, 'JWT (link_with) must have the same issuer as the calling user');
  const aud = claims.aud;
  if (
    typeof aud !== 'string' &&
    !(Array.isArray(aud) && aud.length > 0 && aud.every((a) => typeof a === 'string'))
  ) {
    fail(400, 'JWT (link_with) contains an invalid aud claim.');
  }
  const audiences = Array.isArray(aud) ? aud : [aud];
  if (caller.azp === undefined || !audiences.includes(caller.azp)) {
    fail(400, "JWT (link_with) must have an aud claim that matches that of the calling token's azp");
  }
  if (claims.sub === undefined) fail(400, 'JWT (link_with) must contains sub claim');
  if (typeof claims.sub !== 'string' || !claims.sub.includes('|')) {
    fail(400, 'JWT (link_with) contains an invalid sub claim');
  }
  return claims.sub;
}

export async function handleLink(ctx: EmulatorContext, request: ManagementRequest): Promise<Reply> {
  const caller = await authenticate(ctx, request.authorization);
  const primaryId = request.segments[1];
  const mode = authorize(caller, primaryId, ['update:users'], ['update:current_user_identities']);
  const body = validateLinkBody(request.body);
  if (mode === 'self' && body.link_with === undefined) insufficientScope(['update:users']);
  // Not documented for this endpoint; 404 inexistent_user as on the other user endpoints (unconfirmed).
  const primary = primaryOrFail(ctx, primaryId);

  let provider: string;
  let secondaryIdentityId: string;
  if (body.link_with !== undefined) {
    ({ provider, id: secondaryIdentityId } = splitUserId(
      await secondaryFromLinkWith(ctx, caller, body.link_with),
    ));
  } else {
    provider = body.provider as string;
    // Compared as strings: GitHub ids are numbers on read and may be sent either way.
    secondaryIdentityId = String(body.user_id);
  }
  const key = identityKey(provider, secondaryIdentityId);
  const main = primary.identities[0];
  if (identityKey(main.provider, main.user_id) === key)
    fail(400, 'Main identity and the new one are the same.');

  const owner = ctx.state.ownerOfIdentity(provider, secondaryIdentityId);
  if (!owner) fail(400, 'Provided secondary account not found.');
  const ownerMain = owner.identities[0];
  if (owner === primary || identityKey(ownerMain.provider, ownerMain.user_id) !== key) {
    fail(409, 'Specified identity already exists.');
  }
  if (
    body.connection_id !== undefined &&
    ctx.state.connectionId(ownerMain.connection) !== body.connection_id
  ) {
    fail(400, 'Provided secondary account not found.');
  }
  ctx.state.link(primary, owner);
  return { status: 201, body: toWireIdentities(primary, { idpTokens: canReadIdpTokens(caller) }) };
}

// ---- DELETE /api/v2/users/{id}/identities/{provider}/{user_id} ----

export async function handleUnlink(ctx: EmulatorContext, request: ManagementRequest): Promise<Reply> {
  const caller = await authenticate(ctx, request.authorization);
  const [, primaryId, , provider, identityId] = request.segments;
  authorize(caller, primaryId, ['update:users'], ['update:current_user_identities']);
  if (!auth0IdentityProviders().has(provider)) {
    fail(
      400,
      `Path validation error: 'No enum match for: "${provider}"' on property provider.`,
      'invalid_uri',
    );
  }
  const primary = primaryOrFail(ctx, primaryId);
  const index = primary.identities.findIndex(
    (i) => i.provider === provider && String(i.user_id) === identityId,
  );
  if (index === 0) fail(400, 'Main identity cannot be removed.');
  // Unlinking an identity that is not linked is undocumented; 404 is the emulator's choice (unconfirmed).
  if (index < 0) fail(404, 'The identity does not exist.');
  ctx.state.unlink(primary, index);
  return { status: 200, body: toWireIdentities(primary, { idpTokens: canReadIdpTokens(caller) }) };
}

// ---- GET /api/v2/users/{id} ----

export async function handleGetUser(ctx: EmulatorContext, request: ManagementRequest): Promise<Reply> {
  const caller = await authenticate(ctx, request.authorization);
  const userId = request.segments[1];
  authorize(
    caller,
    userId,
    ['read:users', 'read:user_idp_tokens'],
    ['read:current_user'],
    ['read:users', 'read:current_user', 'read:user_idp_tokens'],
  );
  const user = primaryOrFail(ctx, userId);
  const wire = toWireUser(user, { idpTokens: canReadIdpTokens(caller) });
  return { status: 200, body: projectFields(wire, request.query.fields, request.query.include_fields) };
}

// ---- GET /api/v2/users-by-email ----

function queryError(detail: string, property: string): never {
  fail(400, `Query validation error: '${detail}' on property ${property}.`, 'invalid_query_string');
}

export async function handleUsersByEmail(ctx: EmulatorContext, request: ManagementRequest): Promise<Reply> {
  const caller = await authenticate(ctx, request.authorization);
  if (!caller.scopes.has('read:users')) insufficientScope(['read:users']);
  const email = request.query.email;
  if (email === undefined)
    fail(400, "Query validation error: 'Missing required property: email'.", 'invalid_query_string');
  // Case-sensitive on the query, as Auth0 documents; stored emails keep the seed's case.
  const users = ctx.state.primaries().filter((u) => u.profile.email === email);
  const idpTokens = canReadIdpTokens(caller);
  return {
    status: 200,
    body: users.map((u) =>
      projectFields(toWireUser(u, { idpTokens }), request.query.fields, request.query.include_fields),
    ),
  };
}

// ---- GET /api/v2/users ----

function integerParam(query: Record<string, string>, name: string, fallback: number, max?: number): number {
  const raw = query[name];
  if (raw === undefined) return fallback;
  if (!/^-?\d+$/.test(raw)) queryError('Expected type integer but found type string', name);
  const value = Number(raw);
  if (value < 0) queryError(`Value ${value} is less than minimum 0`, name);
  if (max !== undefined && value > max) queryError(`Value ${value} is greater than maximum ${max}`, name);
  return value;
}

export async function handleSearchUsers(ctx: EmulatorContext, request: ManagementRequest): Promise<Reply> {
  const caller = await authenticate(ctx, request.authorization);
  if (!caller.scopes.has('read:users')) insufficientScope(['read:users']);
  const { query } = request;
  if (query.search_engine !== undefined && query.search_engine !== 'v3') {
    queryError(`No enum match for: "${query.search_engine}"`, 'search_engine');
  }
  const perPage = integerParam(query, 'per_page', 50, 100);
  const page = integerParam(query, 'page', 0);
  if ((page + 1) * perPage > 1000) {
    fail(
      400,
      'You can only page through the first 1000 records. See https://auth0.com/docs/users/search/v3/view-search-results-by-page#limitation',
      'invalid_paging',
    );
  }
  let parsed;
  try {
    parsed = parseSearchQuery(query.q);
  } catch (error) {
    if (!(error instanceof SearchSyntaxError)) throw error;
    fail(400, `Invalid query: ${error.message}`, 'invalid_query_string');
  }
  let found = ctx.searchIndex
    .users(ctx.state.primaries())
    .filter((u) => !ctx.state.isHidden(u.user_id) && matchesQuery(u, parsed));
  const sort = query.sort ? /^([A-Za-z0-9_.]+):(1|-1)$/.exec(query.sort) : null;
  if (query.sort && !sort)
    queryError(`String does not match pattern ^(([a-zA-Z0-9_\\.]+))\\:(1|-1)$: ${query.sort}`, 'sort');
  if (sort) {
    const [, field, direction] = sort;
    const valueOf = (u: StoredUser) =>
      String(
        field === 'user_id'
          ? u.user_id
          : (u.profile[field] ?? (u as unknown as Record<string, unknown>)[field] ?? ''),
      );
    found = [...found].sort((a, b) => valueOf(a).localeCompare(valueOf(b)) * Number(direction));
  }
  const idpTokens = canReadIdpTokens(caller);
  const users = found
    .slice(page * perPage, (page + 1) * perPage)
    .map((u) => projectFields(toWireUser(u, { idpTokens }), query.fields, query.include_fields));
  if (query.include_totals === 'true') {
    return {
      status: 200,
      body: { start: page * perPage, limit: perPage, length: users.length, total: found.length, users },
    };
  }
  return { status: 200, body: users };
}
