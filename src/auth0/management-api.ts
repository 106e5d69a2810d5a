import type { Auth0Services } from './auth0-services.js';
import { Auth0CallPipeline, type CallRequest, type CallSpec, type UpstreamAuth } from './call-pipeline.js';
import { quoteLucene } from './lucene.js';
import {
  parseIdentities,
  parseNoContent,
  parseOrganizationPage,
  parseRolePage,
  parseUser,
  parseUsers,
  ShapeError,
  type WirePage,
} from './parse-wire.js';
import { assertPathSegment, encodePathSegment, parseUserId } from './user-id.js';
import {
  JOB_ID,
  parseJob,
  streamUsersExport,
  type WireJob,
  type WireUsersExportRequest,
} from './users-export.js';
import type {
  WireIdentity,
  WireLinkBody,
  WireOrganization,
  WireRole,
  WireUser,
  WireUserUpdate,
} from './wire.js';

export type { WireExportField, WireJob, WireUsersExportRequest } from './users-export.js';

export type { UpstreamAuth } from './call-pipeline.js';

/** `GET /api/v2/users` options of {@link Auth0ManagementApi.listUsers}. */
export interface ListUsersOptions {
  /** Lucene query; all users when absent. */
  q?: string;
  page?: number;
  perPage?: number;
  includeTotals?: boolean;
  /** `field:1` (ascending) or `field:-1`, e.g. `created_at:1`. */
  sort?: string;
}

/** One page of users; `total` and the paging figures only with `includeTotals`. */
export interface WireUsersPage {
  users: WireUser[];
  start?: number;
  limit?: number;
  length?: number;
  total?: number;
}

const SORT = /^[A-Za-z0-9_.]+:(1|-1)$/;

function parseUsersPage(body: unknown, withTotals: boolean): WireUsersPage {
  if (!withTotals) return { users: parseUsers(body) };
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw new ShapeError('users page is not an object');
  const page = body as Record<string, unknown>;
  const figures: Omit<WireUsersPage, 'users'> = {};
  for (const key of ['start', 'limit', 'length', 'total'] as const) {
    if (page[key] === undefined) continue;
    if (typeof page[key] !== 'number') throw new ShapeError(`users page ${key} is not a number`);
    figures[key] = page[key];
  }
  return { users: parseUsers(page.users), ...figures };
}

/** Most ids per `searchUsersByIds` call: keeps the Lucene query well below Auth0's URI limit. */
export const MAX_SEARCH_IDS = 50;

/** Items per page of the paged reads (Auth0's `per_page` maximum). */
export const LIST_PAGE_SIZE = 100;

/**
 * Most pages one paged read follows: Auth0 refuses a `page` above 1000 on these routes, and a
 * user with 100,000 roles or memberships is not one this service carries over.
 */
export const MAX_LIST_PAGES = 1000;

/** The ids of a role or member write: each a valid path-free value, at least one, no repeats. */
function idList(ids: string[], argumentName: string): string[] {
  const unique = [...new Set(ids)];
  if (unique.length === 0) throw new RangeError(`${argumentName} must name at least one id`);
  for (const id of unique) assertPathSegment(id, argumentName);
  return unique;
}

/**
 * The Auth0 Management API as the gateway uses it: one object per GraphQL request, one method per
 * endpoint. Validates every path value before any call, paces calls through the shared budget,
 * retries only where it is safe (DESIGN §8) and turns every failure into a GatewayError.
 */
export class Auth0ManagementApi {
  private readonly pipeline: Auth0CallPipeline;
  private readonly clock: Auth0Services['clock'];
  private readonly timeoutMs: number;
  private readonly touched = new Set<string>();

  constructor(services: Auth0Services, request: CallRequest) {
    this.pipeline = new Auth0CallPipeline(services, request);
    this.clock = services.clock;
    this.timeoutMs = services.config.timeoutMs;
  }

  /** `POST /api/v2/users/{primaryId}/identities` (201): the primary's identities after linking. */
  async linkIdentity(primaryId: string, body: WireLinkBody, auth: UpstreamAuth): Promise<WireIdentity[]> {
    parseUserId(primaryId, 'primaryId');
    // The body's values were checked once, where they came in as arguments (linkAccounts: the
    // provider against Auth0's published enum, the user id as a path segment, the ID token by
    // verifyLinkToken); only its keys are chosen here, so nothing else reaches Auth0.
    const json: WireLinkBody =
      'link_with' in body
        ? { link_with: body.link_with }
        : {
            provider: body.provider,
            user_id: body.user_id,
            ...(body.connection_id === undefined ? {} : { connection_id: body.connection_id }),
          };
    this.touched.add(primaryId);
    if ('provider' in json) this.touched.add(`${json.provider}|${json.user_id}`);
    return this.touchIdentities({
      operation: 'link',
      endpoint: 'link',
      method: 'POST',
      route: '/api/v2/users/{id}/identities',
      path: `api/v2/users/${encodeURIComponent(primaryId)}/identities`,
      json,
      auth,
      expectedStatus: 201,
      parse: parseIdentities,
    });
  }

  /** `DELETE /api/v2/users/{primaryId}/identities/{provider}/{identityUserId}` (200): the remaining identities. */
  async unlinkIdentity(
    primaryId: string,
    provider: string,
    identityUserId: string,
    auth: UpstreamAuth,
  ): Promise<WireIdentity[]> {
    parseUserId(primaryId, 'primaryId');
    const path =
      `api/v2/users/${encodeURIComponent(primaryId)}/identities/` +
      `${encodePathSegment(provider, 'provider')}/${encodePathSegment(identityUserId, 'userId')}`;
    this.touched.add(primaryId).add(`${provider}|${identityUserId}`);
    return this.touchIdentities({
      operation: 'unlink',
      endpoint: 'unlink',
      method: 'DELETE',
      route: '/api/v2/users/{id}/identities/{provider}/{user_id}',
      path,
      auth,
      expectedStatus: 200,
      parse: parseIdentities,
    });
  }

  /**
   * `GET /api/v2/users/{userId}`; 404 → NOT_FOUND. Service token unless `auth` says otherwise.
   * `withinMs` bounds the whole read, retries and budget wait included (the read-back of DESIGN §8).
   */
  async getUser(
    userId: string,
    auth: UpstreamAuth = { kind: 'service' },
    options: { withinMs?: number } = {},
  ): Promise<WireUser> {
    parseUserId(userId, 'userId');
    return this.call({
      ...(options.withinMs !== undefined ? { deadline: this.clock.now() + options.withinMs } : {}),
      operation: 'read',
      endpoint: 'get-user',
      method: 'GET',
      route: '/api/v2/users/{id}',
      path: `api/v2/users/${encodeURIComponent(userId)}`,
      auth,
      expectedStatus: 200,
      parse: parseUser,
    });
  }

  /**
   * `PATCH /api/v2/users/{userId}` (200) with metadata, service token: the user after the update.
   * An empty metadata object would wipe that whole object at Auth0, so it is refused here.
   */
  async updateUser(userId: string, body: WireUserUpdate): Promise<WireUser> {
    parseUserId(userId, 'userId');
    const json: WireUserUpdate = {};
    for (const kind of ['user_metadata', 'app_metadata'] as const) {
      const value = body[kind];
      if (value === undefined) continue;
      if (Object.keys(value).length === 0) throw new RangeError(`updateUser: empty ${kind} would wipe it`);
      json[kind] = value;
    }
    if (Object.keys(json).length === 0) throw new RangeError('updateUser: nothing to update');
    this.touched.add(userId);
    return this.call({
      operation: 'update',
      endpoint: 'update-user',
      method: 'PATCH',
      route: '/api/v2/users/{id}',
      path: `api/v2/users/${encodeURIComponent(userId)}`,
      json,
      auth: { kind: 'service' },
      expectedStatus: 200,
      parse: parseUser,
    });
  }

  /**
   * `GET /api/v2/users?q=email:"…"`: users whose email equals `email` regardless of case, as
   * Auth0's user search matches emails (users-by-email does not: a social account may keep
   * `Alice@Example.com`). Eventually consistent; at most 100 users.
   */
  async searchUsersByEmail(email: string): Promise<WireUser[]> {
    return this.searchUsers('search-users', `email:${quoteLucene(email)}`, 100);
  }

  /**
   * `GET /api/v2/users?q=user_id:("a" OR "b")`: the users among `userIds` that exist (search is
   * eventually consistent). At most {@link MAX_SEARCH_IDS} ids per call; callers chunk.
   */
  async searchUsersByIds(userIds: string[]): Promise<WireUser[]> {
    if (userIds.length > MAX_SEARCH_IDS) {
      throw new RangeError(`searchUsersByIds takes at most ${MAX_SEARCH_IDS} ids, got ${userIds.length}`);
    }
    const unique = [...new Set(userIds)];
    for (const id of unique) parseUserId(id, 'userIds');
    if (unique.length === 0) return [];
    return this.searchUsers(
      'search-users',
      `user_id:(${unique.map(quoteLucene).join(' OR ')})`,
      unique.length,
    );
  }

  /**
   * `GET /api/v2/users?q=identities.provider:"p" AND identities.user_id:"u"`: users holding that
   * identity, as their main one or a linked one. Both terms may match different identities of one
   * user: callers keep only a user one of whose identities has both.
   */
  async findUsersByIdentity(provider: string, identityUserId: string): Promise<WireUser[]> {
    // The two halves of a user id that parseUserId accepted: they go into a quoted Lucene phrase,
    // never a path, so the path-segment rules (no "." or "..") do not apply to them.
    parseUserId(`${provider}|${identityUserId}`, 'id');
    const q = `identities.provider:${quoteLucene(provider)} AND identities.user_id:${quoteLucene(identityUserId)}`;
    return this.searchUsers('search-identity', q, 10);
  }

  /** `GET /api/v2/users?q=…` with the service token (search engine v3): one page of `perPage`. */
  private searchUsers(endpoint: string, q: string, perPage: number): Promise<WireUser[]> {
    return this.call({
      operation: 'read',
      endpoint,
      method: 'GET',
      route: '/api/v2/users',
      path: 'api/v2/users',
      searchParams: { q, search_engine: 'v3', per_page: String(perPage) },
      auth: { kind: 'service' },
      expectedStatus: 200,
      parse: parseUsers,
    });
  }

  // ---- Bulk reads (DESIGN §16) ----

  /**
   * `GET /api/v2/users` one page at a time, service token, search engine v3: `page` from 0,
   * `perPage` ≤ 100, `sort` as `field:1` or `field:-1`. Auth0 answers a page reaching past its
   * first 1000 results with 400 (BAD_USER_INPUT here); above that, use the export job.
   * `includeTotals` adds `total` (and `start`, `limit`, `length`) to the answer.
   */
  async listUsers(options: ListUsersOptions = {}): Promise<WireUsersPage> {
    const searchParams: Record<string, string> = { search_engine: 'v3' };
    if (options.q !== undefined) searchParams.q = options.q;
    if (options.page !== undefined) searchParams.page = String(options.page);
    if (options.perPage !== undefined) searchParams.per_page = String(options.perPage);
    if (options.sort !== undefined) {
      if (!SORT.test(options.sort))
        throw new RangeError(`listUsers: sort must be field:1 or field:-1, got ${options.sort}`);
      searchParams.sort = options.sort;
    }
    if (options.includeTotals) searchParams.include_totals = 'true';
    return this.call({
      operation: 'read',
      endpoint: 'list-users',
      method: 'GET',
      route: '/api/v2/users',
      path: 'api/v2/users',
      searchParams,
      auth: { kind: 'service' },
      expectedStatus: 200,
      parse: (body) => parseUsersPage(body, options.includeTotals === true),
    });
  }

  /**
   * `POST /api/v2/jobs/users-exports` with the service token (`read:users`): the new job,
   * `pending`. Not retried after a 5xx or a lost answer (a second job would be created).
   */
  async createUsersExportJob(body: WireUsersExportRequest = {}): Promise<WireJob> {
    // Only the keys of the published request schema go to Auth0.
    const json: WireUsersExportRequest = {
      ...(body.connection_id === undefined ? {} : { connection_id: body.connection_id }),
      ...(body.format === undefined ? {} : { format: body.format }),
      ...(body.limit === undefined ? {} : { limit: body.limit }),
      ...(body.fields === undefined
        ? {}
        : {
            fields: body.fields.map((f) =>
              f.export_as === undefined ? { name: f.name } : { name: f.name, export_as: f.export_as },
            ),
          }),
    };
    return this.call({
      operation: 'read',
      endpoint: 'create-users-export',
      method: 'POST',
      route: '/api/v2/jobs/users-exports',
      path: 'api/v2/jobs/users-exports',
      json,
      auth: { kind: 'service' },
      // The published document says 200; 201 is accepted too, as the live API's status is unconfirmed.
      expectedStatus: [200, 201],
      parse: parseJob,
    });
  }

  /** `GET /api/v2/jobs/{jobId}`: the job's status, and `location` once `completed`. Retried like every read. */
  async getJob(jobId: string): Promise<WireJob> {
    if (!JOB_ID.test(jobId)) throw new RangeError('getJob: jobId must look like job_<alphanumerics>');
    return this.call({
      operation: 'read',
      endpoint: 'get-job',
      method: 'GET',
      route: '/api/v2/jobs/{id}',
      path: `api/v2/jobs/${jobId}`,
      auth: { kind: 'service' },
      expectedStatus: 200,
      parse: parseJob,
    });
  }

  /**
   * The users of a completed export (`format: "json"`), one object per NDJSON line as the file
   * arrives: see {@link streamUsersExport}. `location` is the job's; it is a credential (a signed
   * URL) and is never logged.
   */
  downloadUsersExport(location: string): AsyncGenerator<Record<string, unknown>> {
    return streamUsersExport(location, { idleTimeoutMs: this.timeoutMs });
  }

  /**
   * `GET /api/v2/users/{userId}/roles`, every page: the roles assigned to the user directly (not
   * those of its organization memberships). 404 → NOT_FOUND.
   */
  async getUserRoles(userId: string): Promise<WireRole[]> {
    parseUserId(userId, 'userId');
    return this.allPages({
      endpoint: 'get-user-roles',
      route: '/api/v2/users/{id}/roles',
      path: `api/v2/users/${encodeURIComponent(userId)}/roles`,
      parse: parseRolePage,
    });
  }

  /** `POST /api/v2/users/{userId}/roles` (204) `{ roles }`: assigns roles to the user directly. */
  async assignUserRoles(userId: string, roleIds: string[]): Promise<void> {
    parseUserId(userId, 'userId');
    await this.write(
      'POST',
      'assign-user-roles',
      '/api/v2/users/{id}/roles',
      `api/v2/users/${encodeURIComponent(userId)}/roles`,
      { roles: idList(roleIds, 'roleIds') },
    );
  }

  /** `DELETE /api/v2/users/{userId}/roles` (204) `{ roles }`: removes directly assigned roles. */
  async removeUserRoles(userId: string, roleIds: string[]): Promise<void> {
    parseUserId(userId, 'userId');
    await this.write(
      'DELETE',
      'remove-user-roles',
      '/api/v2/users/{id}/roles',
      `api/v2/users/${encodeURIComponent(userId)}/roles`,
      { roles: idList(roleIds, 'roleIds') },
    );
  }

  /** `GET /api/v2/users/{userId}/organizations`, every page: the user's memberships. 404 → NOT_FOUND. */
  async getUserOrganizations(userId: string): Promise<WireOrganization[]> {
    parseUserId(userId, 'userId');
    return this.allPages({
      endpoint: 'get-user-organizations',
      route: '/api/v2/users/{id}/organizations',
      path: `api/v2/users/${encodeURIComponent(userId)}/organizations`,
      parse: parseOrganizationPage,
    });
  }

  /** `GET /api/v2/organizations/{organizationId}/members/{userId}/roles`, every page: that membership's roles. */
  async getMemberRoles(organizationId: string, userId: string): Promise<WireRole[]> {
    parseUserId(userId, 'userId');
    return this.allPages({
      endpoint: 'get-member-roles',
      route: '/api/v2/organizations/{id}/members/{user_id}/roles',
      path: this.memberRolesPath(organizationId, userId),
      parse: parseRolePage,
    });
  }

  /** `POST /api/v2/organizations/{organizationId}/members` (204) `{ members }`: adds users as members. */
  async addOrganizationMembers(organizationId: string, userIds: string[]): Promise<void> {
    await this.write(
      'POST',
      'add-organization-members',
      '/api/v2/organizations/{id}/members',
      this.membersPath(organizationId),
      { members: this.memberIds(userIds) },
    );
  }

  /** `DELETE /api/v2/organizations/{organizationId}/members` (204) `{ members }`: ends memberships, with their roles. */
  async removeOrganizationMembers(organizationId: string, userIds: string[]): Promise<void> {
    await this.write(
      'DELETE',
      'remove-organization-members',
      '/api/v2/organizations/{id}/members',
      this.membersPath(organizationId),
      { members: this.memberIds(userIds) },
    );
  }

  /** `POST /api/v2/organizations/{organizationId}/members/{userId}/roles` (204) `{ roles }`. */
  async assignMemberRoles(organizationId: string, userId: string, roleIds: string[]): Promise<void> {
    parseUserId(userId, 'userId');
    await this.write(
      'POST',
      'assign-member-roles',
      '/api/v2/organizations/{id}/members/{user_id}/roles',
      this.memberRolesPath(organizationId, userId),
      { roles: idList(roleIds, 'roleIds') },
    );
  }

  /** `DELETE /api/v2/organizations/{organizationId}/members/{userId}/roles` (204) `{ roles }`. */
  async removeMemberRoles(organizationId: string, userId: string, roleIds: string[]): Promise<void> {
    parseUserId(userId, 'userId');
    await this.write(
      'DELETE',
      'remove-member-roles',
      '/api/v2/organizations/{id}/members/{user_id}/roles',
      this.memberRolesPath(organizationId, userId),
      { roles: idList(roleIds, 'roleIds') },
    );
  }

  private membersPath(organizationId: string): string {
    return `api/v2/organizations/${encodePathSegment(organizationId, 'organizationId')}/members`;
  }

  private memberRolesPath(organizationId: string, userId: string): string {
    return `${this.membersPath(organizationId)}/${encodeURIComponent(userId)}/roles`;
  }

  private memberIds(userIds: string[]): string[] {
    const unique = idList(userIds, 'userIds');
    for (const id of unique) parseUserId(id, 'userIds');
    return unique;
  }

  /**
   * A role or membership write with the service token. Not retried after a 5xx or a lost answer
   * (DESIGN §8: Auth0 may have acted); the caller reads back when it must know.
   */
  private write(
    method: 'POST' | 'DELETE',
    endpoint: string,
    route: string,
    path: string,
    json: { roles: string[] } | { members: string[] },
  ): Promise<void> {
    return this.call({
      operation: 'assign',
      endpoint,
      method,
      route,
      path,
      json,
      auth: { kind: 'service' },
      expectedStatus: 204,
      parse: parseNoContent,
    });
  }

  /**
   * Every page of a paged list (`per_page` {@link LIST_PAGE_SIZE}, `include_totals`), each page a
   * call of its own through the budget and read retries; stops at Auth0's total, at a short page,
   * or after {@link MAX_LIST_PAGES}.
   */
  private async allPages<T>(spec: {
    endpoint: string;
    route: string;
    path: string;
    parse(body: unknown): WirePage<T>;
  }): Promise<T[]> {
    const items: T[] = [];
    for (let page = 0; page < MAX_LIST_PAGES; page += 1) {
      const { items: pageItems, total } = await this.call({
        operation: 'read',
        endpoint: spec.endpoint,
        method: 'GET',
        route: spec.route,
        path: spec.path,
        searchParams: { page: String(page), per_page: String(LIST_PAGE_SIZE), include_totals: 'true' },
        auth: { kind: 'service' },
        expectedStatus: 200,
        parse: spec.parse,
      });
      items.push(...pageItems);
      if (pageItems.length < LIST_PAGE_SIZE || (total !== undefined && items.length >= total)) break;
    }
    return items;
  }

  /**
   * The users this request's link, unlink and PATCH calls touched, sent or not (primary,
   * secondary, and every identity in Auth0's answer): what the read cache must drop.
   */
  touchedUserIds(): string[] {
    return [...this.touched];
  }

  /** A link or unlink call; the identities of its answer count as touched. */
  private async touchIdentities(spec: CallSpec<WireIdentity[]>): Promise<WireIdentity[]> {
    const identities = await this.call(spec);
    for (const identity of identities) this.touched.add(`${identity.provider}|${String(identity.user_id)}`);
    return identities;
  }

  private call<T>(spec: CallSpec<T>): Promise<T> {
    return this.pipeline.call(spec);
  }
}
