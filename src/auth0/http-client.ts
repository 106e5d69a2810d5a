import http from 'node:http';
import https from 'node:https';
import got, { type Got } from 'got';
import type { HeaderBag } from './to-gateway-error.js';
import { installFastNativeRequestOptions } from './got-native-options.js';

export interface Auth0HttpClientOptions {
  /** `https://tenant.eu.auth0.com` or a loopback emulator origin; no trailing slash. */
  origin: string;
  /** Total time for one exchange, from start to the last body byte. */
  timeoutMs: number;
  /** Time to establish the TCP connection; default min(timeoutMs, 3000). */
  connectTimeoutMs?: number;
  /** Sockets per host; default 32 (the budget caps requests in flight below that). */
  maxSockets?: number;
}

export interface Auth0HttpRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Path below the origin without a leading slash, already encoded: `api/v2/users/auth0%7C1`. */
  path: string;
  searchParams?: Record<string, string>;
  headers?: Record<string, string>;
  /** Sent as JSON. */
  json?: unknown;
  /** Total time for this exchange when shorter than the client's own `timeoutMs`. */
  timeoutMs?: number;
}

export interface Auth0HttpResponse {
  statusCode: number;
  headers: HeaderBag;
  /** The raw body text: callers parse it themselves so that bad JSON is an upstream error. */
  body: string;
}

/** The one HTTP client for everything the gateway sends to Auth0 (DESIGN §7). */
export interface Auth0HttpClient {
  readonly origin: string;
  /** Resolves for any status; rejects (got RequestError) only when no complete answer arrived. */
  send(request: Auth0HttpRequest): Promise<Auth0HttpResponse>;
  /** Destroys the keep-alive agents; in-flight requests fail. */
  close(): void;
}

/**
 * One got instance with keep-alive agents. Retries are off (got's defaults would retry a
 * link after a 5xx and double-act): the management API decides what may be retried. No hooks:
 * nothing here logs, so no header or body can leak through this layer.
 */
export function createAuth0HttpClient(options: Auth0HttpClientOptions): Auth0HttpClient {
  installFastNativeRequestOptions();
  const maxSockets = options.maxSockets ?? 32;
  // Keep every socket the budget may use open between calls: reconnecting costs more than a call.
  const agentOptions = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets };
  const agent = { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) };
  const connectTimeoutMs = options.connectTimeoutMs ?? Math.min(options.timeoutMs, 3000);

  const client: Got = got.extend({
    prefixUrl: options.origin,
    agent,
    retry: { limit: 0 },
    throwHttpErrors: false,
    // A redirect from Auth0 is unexpected; following it could carry the bearer elsewhere.
    followRedirect: false,
    responseType: 'text',
    timeout: { connect: connectTimeoutMs, secureConnect: connectTimeoutMs, request: options.timeoutMs },
    headers: { 'user-agent': 'auth0-link-gateway', accept: 'application/json' },
  });

  return {
    origin: options.origin,
    async send(request) {
      const response = await client(request.path, {
        method: request.method,
        ...(request.headers ? { headers: request.headers } : {}),
        ...(request.searchParams ? { searchParams: request.searchParams } : {}),
        ...(request.json !== undefined ? { json: request.json } : {}),
        ...(request.timeoutMs !== undefined
          ? {
              timeout: {
                connect: connectTimeoutMs,
                secureConnect: connectTimeoutMs,
                request: request.timeoutMs,
              },
            }
          : {}),
      });
      return { statusCode: response.statusCode, headers: response.headers, body: response.body };
    },
    close() {
      agent.http.destroy();
      agent.https.destroy();
    },
  };
}
