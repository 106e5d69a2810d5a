import type { Tracer } from '@opentelemetry/api';
import type { GatewayError } from '../errors.js';
import { endHttpSpan, SpanKind, SpanStatusCode, startSpan } from '../observability/tracing.js';
import { processTokenSlot } from '../shared-state/memory.js';
import type { ServiceTokenSlot, SharedToken } from '../shared-state/shared-state.js';
import type { Auth0HttpClient } from './http-client.js';
import { fromRequestFailure, tokenEndpointError, unexpectedResponse } from './to-gateway-error.js';

export type TokenFetchOutcome = 'success' | 'error';

export interface ServiceTokenProviderOptions {
  /** The shared client; its origin is the tenant's, so `/oauth/token` is relative to it. */
  http: Auth0HttpClient;
  clientId: string;
  clientSecret: string;
  /** Management API audience, `<origin>/api/v2/`. */
  audience: string;
  /** Refresh this long before `exp`; default 60 (capped at half the lifetime). */
  refreshMarginSeconds?: number;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
  /** Told the outcome of every token request (for metrics). */
  onFetch?: (outcome: TokenFetchOutcome) => void;
  /** Where replicas share the token (DESIGN §10); default: this process only. */
  slot?: ServiceTokenSlot;
  /** A span per token request when tracing is on (no request's child: one request serves many). */
  tracer?: Tracer;
}

/**
 * The service's client-credentials token for the Management API (DESIGN §7): cached until
 * shortly before it expires, and at most one token request in flight however many callers wait.
 * With a shared slot, replicas take the token another one stored, and at most one of them asks
 * Auth0 at a time (DESIGN §10); the process keeps its own copy either way.
 */
export class ServiceTokenProvider {
  private readonly options: ServiceTokenProviderOptions;
  private readonly now: () => number;
  private readonly slot: ServiceTokenSlot;
  private cached?: SharedToken;
  private inFlight?: Promise<string>;

  constructor(options: ServiceTokenProviderOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    this.slot = options.slot ?? processTokenSlot;
  }

  /** A valid token, cached or fresh. Rejects with UPSTREAM_ERROR, UPSTREAM_TIMEOUT or RATE_LIMITED. */
  getToken(): Promise<string> {
    if (this.cached && this.now() < this.cached.refreshAt) return Promise.resolve(this.cached.token);
    this.inFlight ??= this.obtain().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /**
   * Forgets `token` after Auth0 refused it (401), here and for every replica. Only the token that
   * failed is dropped, so many requests failing with the same old token cause exactly one refresh.
   */
  async invalidate(token: string): Promise<void> {
    if (this.cached?.token === token) this.cached = undefined;
    await this.slot.invalidate(token);
  }

  private obtain(): Promise<string> {
    const keep = (token: SharedToken) => {
      this.cached = token;
      return token.token;
    };
    const fetch = () => this.slot.fetchOnce(() => this.fetchToken()).then(keep);
    const stored = this.slot.read();
    // In-process only: nothing to read, and the request goes out at once.
    if (stored === null) return fetch();
    return stored.then((token) => (token ? keep(token) : fetch()));
  }

  private async fetchToken(): Promise<SharedToken> {
    const { http, clientId, clientSecret, audience } = this.options;
    const span = startSpan(this.options.tracer, 'POST /oauth/token', {
      kind: SpanKind.CLIENT,
      attributes: { 'http.request.method': 'POST', 'url.template': '/oauth/token' },
    });
    let response;
    try {
      response = await http.send({
        method: 'POST',
        path: 'oauth/token',
        json: {
          grant_type: 'client_credentials',
          client_id: clientId,
          client_secret: clientSecret,
          audience,
        },
      });
    } catch (error) {
      span?.setStatus({ code: SpanStatusCode.ERROR });
      span?.end();
      throw this.failed(fromRequestFailure('token', error));
    }
    endHttpSpan(span, response.statusCode, 400);
    if (response.statusCode !== 200) {
      throw this.failed(
        tokenEndpointError(
          { statusCode: response.statusCode, headers: response.headers, body: response.body },
          { secret: clientSecret, nowMs: this.now() },
        ),
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(response.body);
    } catch {
      throw this.failed(unexpectedResponse('token', 200, 'body is not JSON'));
    }
    const { access_token: token, expires_in: expiresIn } = (body ?? {}) as Record<string, unknown>;
    if (typeof token !== 'string' || token === '' || typeof expiresIn !== 'number' || !(expiresIn > 0)) {
      throw this.failed(unexpectedResponse('token', 200, 'no access_token or expires_in'));
    }
    const marginSeconds = Math.min(this.options.refreshMarginSeconds ?? 60, expiresIn / 2);
    this.options.onFetch?.('success');
    return { token, refreshAt: this.now() + (expiresIn - marginSeconds) * 1000 };
  }

  private failed(error: GatewayError): GatewayError {
    this.options.onFetch?.('error');
    return error;
  }
}
