import type { Config } from '../config.js';
import { BadUserInputError, type GatewayError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { createAuth0HttpClient, type Auth0HttpClient, type Auth0HttpResponse } from './http-client.js';
import { systemClock, UpstreamBudget, type BudgetClock } from './rate-budget.js';
import {
  fromRequestFailure,
  isConnectionRefused,
  parseRetryAfter,
  toGatewayError,
  unexpectedResponse,
  type Auth0Operation,
} from './to-gateway-error.js';
import { ServiceTokenProvider } from './token-provider.js';
import { assertPathSegment, encodePathSegment, parseUserId } from './user-id.js';
import type { WireIdentity, WireLinkBody, WireUser, WireUserUpdate } from './wire.js';

/** Whose token goes to Auth0: the service's client-credentials token, or the caller's own (JWT mode). */
export type UpstreamAuth = { kind: 'service' } | { kind: 'user'; token: string };

export interface Auth0RetryOptions {
  /** Attempts for a GET or a metadata PATCH (429, 5xx, network errors); default 3. */
  readAttempts: number;
  /** Attempts for a POST/DELETE, retried only on 429 and ECONNREFUSED; default 3. */
  writeAttempts: number;
  /** First backoff delay; doubles per attempt up to `backoffMaxMs`, jittered. Default 100. */
  backoffBaseMs: number;
  /** Default 1000. */
  backoffMaxMs: number;
}

/** The per-process parts every request's Auth0ManagementApi shares. */
export interface Auth0Services {
  readonly config: Config['auth0'];
  readonly http: Auth0HttpClient;
  readonly budget: UpstreamBudget;
  readonly tokens: ServiceTokenProvider;
  readonly logger: Logger;
  readonly metrics?: GatewayMetrics;
  readonly retry: Auth0RetryOptions;
  readonly clock: BudgetClock;
  /** Waits between retries; injectable so tests do not wait for backoff. */
  readonly delay: (ms: number) => Promise<void>;
  /** Can the tenant be reached? Bounded by the timeout; never throws. */
  checkReadiness(): Promise<{ jwks: boolean; token: boolean }>;
  close(): Promise<void>;
}

export interface Auth0ServicesOptions {
  config: Config['auth0'];
  logger: Logger;
  metrics?: GatewayMetrics;
  /** Most calls in flight to Auth0 at once; default 20. */
  maxConcurrency?: number;
  clock?: BudgetClock;
  delay?: (ms: number) => Promise<void>;
  retry?: Partial<Auth0RetryOptions>;
}

const DEFAULT_RETRY: Auth0RetryOptions = {
  readAttempts: 3,
  writeAttempts: 3,
  backoffBaseMs: 100,
  backoffMaxMs: 1000,
};

export function createAuth0Services(options: Auth0ServicesOptions): Auth0Services {
  const { config, logger, metrics } = options;
  const clock = options.clock ?? systemClock;
  const http = createAuth0HttpClient({ origin: config.origin, timeoutMs: config.timeoutMs });
  const budget = new UpstreamBudget({
    rateLimit: config.rateLimit,
    maxConcurrency: options.maxConcurrency,
    clock,
    onQueueChange: (length) => metrics?.auth0BudgetQueueLength.set(length),
  });
  const tokens = new ServiceTokenProvider({
    http,
    clientId: config.clientId,
    clientSecret: config.clientSecret,
    audience: config.audience,
    now: () => clock.now(),
    onFetch: (outcome) => metrics?.auth0TokenFetches.inc({ outcome }),
  });

  async function jwksReachable(): Promise<boolean> {
    try {
      const response = await http.send({ method: 'GET', path: '.well-known/jwks.json' });
      if (response.statusCode !== 200) return false;
      const body = JSON.parse(response.body) as { keys?: unknown };
      return Array.isArray(body.keys) && body.keys.length > 0;
    } catch {
      return false;
    }
  }

  async function tokenAvailable(): Promise<boolean> {
    try {
      await tokens.getToken();
      return true;
    } catch (error) {
      logger.warn({ err: summarise(error) }, 'service token unavailable');
      return false;
    }
  }

  return {
    config,
    http,
    budget,
    tokens,
    logger,
    metrics,
    clock,
    retry: { ...DEFAULT_RETRY, ...options.retry },
    delay: options.delay ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    async checkReadiness() {
      const [jwks, token] = await Promise.all([jwksReachable(), tokenAvailable()]);
      return { jwks, token };
    },
    async close() {
      http.close();
    },
  };
}

function summarise(error: unknown): { code?: string; message: string } {
  const e = error as Partial<GatewayError>;
  return { code: e?.code, message: e instanceof Error ? e.message : String(error) };
}

interface CallSpec<T> {
  operation: Auth0Operation;
  /** Metrics label. */
  endpoint: string;
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Path with placeholders, for logs: never the raw ids. */
  route: string;
  path: string;
  searchParams?: Record<string, string>;
  json?: unknown;
  auth: UpstreamAuth;
  expectedStatus: number;
  parse(body: unknown): T;
}

/**
 * May the call be sent again after a 5xx or a lost answer? GETs, and PATCHes because the gateway
 * only PATCHes metadata with whole top-level values (a key set, or deleted with null): sending the
 * same body twice leaves the user as once did. A link or unlink POST/DELETE could double-act, so
 * those are retried only where Auth0 cannot have acted (DESIGN §8).
 */
function isRepeatable(spec: CallSpec<unknown>): boolean {
  return spec.method === 'GET' || spec.method === 'PATCH';
}

/** The wire body broke an assumption the gateway relies on. */
class ShapeError extends Error {}

const PROVIDER_TOKEN_KEYS = new Set(['access_token', 'access_token_secret', 'refresh_token']);

function parseIdentities(value: unknown): WireIdentity[] {
  if (!Array.isArray(value)) throw new ShapeError('identities is not an array');
  return value.map((item) => {
    if (!item || typeof item !== 'object') throw new ShapeError('identity is not an object');
    const identity = item as Record<string, unknown>;
    const userId = identity.user_id;
    if (
      typeof identity.provider !== 'string' ||
      typeof identity.connection !== 'string' ||
      !((typeof userId === 'string' && userId !== '') || typeof userId === 'number')
    ) {
      throw new ShapeError('identity lacks provider, connection or user_id');
    }
    // Provider tokens leave here, before anything can cache, log or expose them.
    return Object.fromEntries(
      Object.entries(identity).filter(([key]) => !PROVIDER_TOKEN_KEYS.has(key)),
    ) as WireIdentity;
  });
}

function parseUser(value: unknown): WireUser {
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new ShapeError('user is not an object');
  const user = value as Record<string, unknown>;
  if (typeof user.user_id !== 'string' || user.user_id === '') throw new ShapeError('user lacks user_id');
  if (user.identities === undefined) return user as WireUser;
  return { ...user, identities: parseIdentities(user.identities) } as WireUser;
}

function parseUsers(value: unknown): WireUser[] {
  if (!Array.isArray(value)) throw new ShapeError('users is not an array');
  return value.map(parseUser);
}

/** Most ids per `searchUsersByIds` call: keeps the Lucene query well below Auth0's URI limit. */
export const MAX_SEARCH_IDS = 50;

function quoteLucene(value: string): string {
  return `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/**
 * The Auth0 Management API as the gateway uses it: one object per GraphQL request, one method per
 * endpoint. Validates every path value before any call, paces calls through the shared budget,
 * retries only where it is safe (DESIGN §8) and turns every failure into a GatewayError.
 */
export class Auth0ManagementApi {
  private readonly logger: Logger;

  constructor(
    private readonly services: Auth0Services,
    private readonly request: { requestId: string; logger?: Logger },
  ) {
    this.logger = request.logger ?? services.logger;
  }

  /** `POST /api/v2/users/{primaryId}/identities` (201): the primary's identities after linking. */
  async linkIdentity(primaryId: string, body: WireLinkBody, auth: UpstreamAuth): Promise<WireIdentity[]> {
    parseUserId(primaryId, 'primaryId');
    let json: WireLinkBody;
    if ('link_with' in body) {
      if (typeof body.link_with !== 'string' || body.link_with === '') {
        throw new BadUserInputError('`linkWith` must be a non-empty ID token.');
      }
      json = { link_with: body.link_with };
    } else {
      assertPathSegment(body.provider, 'provider');
      assertPathSegment(body.user_id, 'userId');
      json = { provider: body.provider, user_id: body.user_id };
      if (body.connection_id !== undefined) json.connection_id = body.connection_id;
    }
    return this.call({
      operation: 'link',
      endpoint: 'link',
      method: 'POST',
      route: '/api/v2/users/{id}/identities',
      path: `api/v2/users/${encodePathSegment(primaryId, 'primaryId')}/identities`,
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
      `api/v2/users/${encodePathSegment(primaryId, 'primaryId')}/identities/` +
      `${encodePathSegment(provider, 'provider')}/${encodePathSegment(identityUserId, 'userId')}`;
    return this.call({
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

  /** `GET /api/v2/users/{userId}`; 404 → NOT_FOUND. Service token unless `auth` says otherwise. */
  async getUser(userId: string, auth: UpstreamAuth = { kind: 'service' }): Promise<WireUser> {
    parseUserId(userId, 'userId');
    return this.call({
      operation: 'read',
      endpoint: 'get-user',
      method: 'GET',
      route: '/api/v2/users/{id}',
      path: `api/v2/users/${encodePathSegment(userId, 'userId')}`,
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
    return this.call({
      operation: 'update',
      endpoint: 'update-user',
      method: 'PATCH',
      route: '/api/v2/users/{id}',
      path: `api/v2/users/${encodePathSegment(userId, 'userId')}`,
      json,
      auth: { kind: 'service' },
      expectedStatus: 200,
      parse: parseUser,
    });
  }

  /** `GET /api/v2/users-by-email?email=` (exact match; Auth0 stores database emails lowercased). */
  async findUsersByEmail(email: string): Promise<WireUser[]> {
    assertPathSegment(email, 'email');
    return this.call({
      operation: 'read',
      endpoint: 'users-by-email',
      method: 'GET',
      route: '/api/v2/users-by-email',
      path: 'api/v2/users-by-email',
      searchParams: { email },
      auth: { kind: 'service' },
      expectedStatus: 200,
      parse: parseUsers,
    });
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
    return this.call({
      operation: 'read',
      endpoint: 'search-users',
      method: 'GET',
      route: '/api/v2/users',
      path: 'api/v2/users',
      searchParams: {
        q: `user_id:(${unique.map(quoteLucene).join(' OR ')})`,
        search_engine: 'v3',
        per_page: String(unique.length),
      },
      auth: { kind: 'service' },
      expectedStatus: 200,
      parse: parseUsers,
    });
  }

  private async call<T>(spec: CallSpec<T>): Promise<T> {
    const { services } = this;
    const { budget, tokens, clock, retry } = services;
    const repeatable = isRepeatable(spec);
    const maxAttempts = repeatable ? retry.readAttempts : retry.writeAttempts;
    let waitLeftMs = services.config.maxWaitMs;
    let refreshed = false;

    for (let attempt = 1; ; attempt++) {
      const token = spec.auth.kind === 'service' ? await tokens.getToken() : spec.auth.token;

      const waitStart = clock.now();
      const release = await budget.acquire(Math.max(0, waitLeftMs));
      const waitedMs = clock.now() - waitStart;
      waitLeftMs -= waitedMs;
      services.metrics?.auth0BudgetWait.observe(waitedMs / 1000);

      const started = performance.now();
      let response: Auth0HttpResponse;
      try {
        response = await services.http.send({
          method: spec.method,
          path: spec.path,
          headers: { authorization: `Bearer ${token}` },
          ...(spec.searchParams ? { searchParams: spec.searchParams } : {}),
          ...(spec.json !== undefined ? { json: spec.json } : {}),
        });
      } catch (failure) {
        release();
        const error = fromRequestFailure(spec.operation, failure);
        this.record(spec, error.code === 'UPSTREAM_TIMEOUT' ? 'timeout' : 'network', started, attempt);
        // A write is retried only when the connection was refused: then Auth0 cannot have acted.
        const retryable = repeatable || isConnectionRefused(failure);
        if (retryable && attempt < maxAttempts) {
          await services.delay(this.backoffMs(attempt));
          continue;
        }
        throw error;
      }
      release();
      budget.observe(response.headers);
      this.record(spec, String(response.statusCode), started, attempt);

      const { statusCode } = response;
      if (statusCode === spec.expectedStatus) return this.parse(spec, response);

      if (statusCode === 429) {
        // Retried at the budget's pace; the next acquire refuses at once if that is too far off.
        budget.onRateLimited(parseRetryAfter(response.headers, clock.now()));
        if (attempt < maxAttempts) continue;
      } else if (statusCode === 401 && spec.auth.kind === 'service' && !refreshed) {
        // The cached service token may have been revoked or rotated: one fresh token, one retry.
        tokens.invalidate(token);
        refreshed = true;
        attempt--;
        continue;
      } else if (repeatable && statusCode >= 500 && attempt < maxAttempts) {
        await services.delay(this.backoffMs(attempt));
        continue;
      }
      throw toGatewayError(
        spec.operation,
        { statusCode, headers: response.headers, body: response.body },
        { auth: spec.auth.kind, nowMs: clock.now() },
      );
    }
  }

  private parse<T>(spec: CallSpec<T>, response: Auth0HttpResponse): T {
    let body: unknown;
    try {
      body = JSON.parse(response.body);
    } catch {
      throw unexpectedResponse(spec.operation, response.statusCode, 'body is not JSON');
    }
    try {
      return spec.parse(body);
    } catch (error) {
      if (error instanceof ShapeError)
        throw unexpectedResponse(spec.operation, response.statusCode, error.message);
      throw error;
    }
  }

  /** Capped exponential backoff with jitter (50–100% of the step), so replicas do not retry in step. */
  private backoffMs(attempt: number): number {
    const { backoffBaseMs, backoffMaxMs } = this.services.retry;
    const step = Math.min(backoffMaxMs, backoffBaseMs * 2 ** (attempt - 1));
    return Math.round(step * (0.5 + Math.random() * 0.5));
  }

  private record(spec: CallSpec<unknown>, status: string, started: number, attempt: number): void {
    const ms = Math.round(performance.now() - started);
    const { metrics } = this.services;
    metrics?.auth0Requests.inc({ endpoint: spec.endpoint, method: spec.method, status });
    metrics?.auth0RequestDuration.observe({ endpoint: spec.endpoint }, ms / 1000);
    this.logger.debug(
      { requestId: this.request.requestId, method: spec.method, route: spec.route, status, ms, attempt },
      'auth0 call',
    );
  }
}
