import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer, type HTTPGraphQLResponse } from '@apollo/server';
import type { Logger } from 'pino';
import type { Tracer } from '@opentelemetry/api';
import type { GatewayContext } from './context.js';
import type { BrowserRoute } from './frontend/browser-routes.js';
import type { LoginLinkRoute } from './login-link/index.js';
import {
  contextWithSpan,
  endHttpSpan,
  SpanKind,
  startSpan,
  type TraceParent,
} from './observability/tracing.js';

/** Largest accepted GraphQL request body: ample for an operation with an ID token. */
export const MAX_BODY_BYTES = 256 * 1024;

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const CORS_ALLOWED_HEADERS =
  'authorization, content-type, apollo-require-preflight, x-apollo-operation-name, x-request-id';

export interface HttpServerOptions {
  apollo: ApolloServer<GatewayContext>;
  createContext: (request: {
    requestId: string;
    authorization: string | undefined;
    trace: TraceParent;
  }) => Promise<GatewayContext>;
  checkReadiness: () => Promise<{ ready: boolean; checks: Record<string, boolean> }>;
  metrics: { contentType: string; render: () => Promise<string> };
  corsOrigins: readonly string[];
  /** Pages for browsers (demo page, GraphiQL), asked first; answers true when it served one. */
  browserRoutes?: BrowserRoute;
  /** `/login-link/*` with LOGIN_LINK on (DESIGN §14); answers true when the path was its own. */
  loginLink?: LoginLinkRoute;
  logger: Logger;
  /** Traces each request (OTEL_EXPORTER_OTLP_ENDPOINT); absent: no spans. */
  tracer?: Tracer;
  /** Counts requests in flight and says when a drain started (DESIGN §8). */
  drain?: DrainState;
}

/**
 * Requests in flight and the drain flag of one server (DESIGN §8). A request is in flight until its
 * response has closed and its handler has returned: a client that hangs up does not stop the link
 * it asked for, so a drain waits for the handler too, not only for the socket. A drain turns
 * `/readyz` to 503 at once, whatever its cached answer, while the listener keeps serving.
 */
export class DrainState {
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  /** Responses not yet closed: those whose headers are not sent yet get `Connection: close` at a drain. */
  private readonly open = new Set<ServerResponse>();
  private drainStarted = false;

  /** Set once a drain started (`startDraining`); never cleared. */
  get draining(): boolean {
    return this.drainStarted;
  }

  /**
   * Starts the drain: `/readyz` answers 503, and every response not yet written, including those of
   * requests already running, asks the client to close its connection (its next request then goes to
   * another replica).
   */
  startDraining(): void {
    this.drainStarted = true;
    for (const res of this.open) if (!res.headersSent) res.setHeader('connection', 'close');
  }

  /** Counts one request until its response has closed and `handled` has settled. */
  track(res: ServerResponse, handled: Promise<unknown>): void {
    this.inFlight++;
    this.open.add(res);
    let pending = 2;
    const done = () => {
      if (--pending > 0) return;
      this.inFlight--;
      if (this.inFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    };
    res.once('close', () => {
      this.open.delete(res);
      done();
    });
    void handled.finally(done);
  }

  get requestsInFlight(): number {
    return this.inFlight;
  }

  /** Resolves true once no request is in flight, or false after `timeoutMs`. */
  whenIdle(timeoutMs: number): Promise<boolean> {
    if (this.inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((w) => w !== wake);
        resolve(false);
      }, timeoutMs);
      this.idleWaiters.push(wake);
    });
  }
}

// Span names use these paths only: any other path could carry anything.
const ROUTES = new Set([
  '/graphql',
  '/healthz',
  '/readyz',
  '/metrics',
  '/login-link',
  '/login-link/check',
  '/login-link/start',
  '/login-link/callback',
]);

class BodyTooLargeError extends Error {}

// Media ranges that let Apollo Server answer JSON (it offers these two types).
const JSON_RANGES = new Set([
  'application/json',
  'application/graphql-response+json',
  'application/*',
  '*/*',
]);

/** The `accept` header lets the response be JSON (no header, or an empty one, does). */
function acceptsJson(accept: string | undefined): boolean {
  if (!accept?.trim()) return true;
  return accept.split(',').some((range) => {
    const [type, ...params] = range.split(';').map((part) => part.trim().toLowerCase());
    const quality = params.find((param) => param.startsWith('q='));
    return JSON_RANGES.has(type) && (quality === undefined || Number(quality.slice(2)) > 0);
  });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (declared > MAX_BODY_BYTES) return reject(new BodyTooLargeError());
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLargeError());
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

/** GraphQL-over-HTTP error body for failures before Apollo Server sees the request. */
function requestError(message: string, code: string) {
  return { errors: [{ message, extensions: { code } }] };
}

async function writeApolloResponse(res: ServerResponse, response: HTTPGraphQLResponse) {
  for (const [name, value] of response.headers) res.setHeader(name, value);
  res.statusCode = response.status ?? 200;
  if (response.body.kind === 'complete') {
    res.end(response.body.string);
    return;
  }
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}

// Most request targets are a plain path with maybe a query: split those by hand (WHATWG URL
// parsing is a measurable share of a `{ __typename }` request); anything with dot segments,
// escapes or backslashes goes through URL so paths are normalised exactly as before.
// (A query is only ever read through URLSearchParams, which decodes escaped and raw characters alike.)
const PLAIN_TARGET = /^\/(?!\/)[A-Za-z0-9/_-]*(?:\?[^#]*)?$/;

function splitTarget(target: string): { pathname: string; search: string } {
  if (PLAIN_TARGET.test(target)) {
    const query = target.indexOf('?');
    if (query === -1) return { pathname: target, search: '' };
    return {
      pathname: target.slice(0, query),
      search: query === target.length - 1 ? '' : target.slice(query),
    };
  }
  const url = new URL(target, 'http://gateway.invalid');
  return { pathname: url.pathname, search: url.search };
}

/**
 * The HTTP surface (DESIGN §6): `/graphql`, `/healthz`, `/readyz`, `/metrics`; CORS for the
 * configured origins; an `x-request-id` taken or made and returned on every response.
 */
export function createHttpServer(options: HttpServerOptions): Server {
  const allowedOrigins = new Set(options.corsOrigins);

  async function handleGraphQL(
    req: IncomingMessage,
    res: ServerResponse,
    search: string,
    requestId: string,
    trace: TraceParent,
  ) {
    // Apollo Server looks at `accept` only once the operation has run: its 406 would follow a
    // mutation that already reached Auth0. Refused here, nothing runs.
    if (!acceptsJson(req.headers.accept)) {
      sendJson(
        res,
        406,
        requestError(
          'The accept header allows neither application/json nor application/graphql-response+json.',
          'BAD_REQUEST',
        ),
      );
      return;
    }
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    let body: unknown = undefined;
    if (req.method === 'POST') {
      const raw = await readBody(req);
      const contentType = headers.get('content-type') ?? '';
      if (contentType.toLowerCase().startsWith('application/json')) {
        try {
          body = raw === '' ? undefined : JSON.parse(raw);
        } catch {
          sendJson(res, 400, requestError('The request body is not valid JSON.', 'BAD_REQUEST'));
          return;
        }
      } else body = raw;
    }
    const response = await options.apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method ?? 'GET', headers, search, body },
      context: () => options.createContext({ requestId, authorization: req.headers.authorization, trace }),
    });
    await writeApolloResponse(res, response);
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    // Draining: answer, then let the client open its next connection to another replica.
    if (options.drain?.draining) res.setHeader('connection', 'close');
    const incomingId = req.headers['x-request-id'];
    const requestId =
      typeof incomingId === 'string' && REQUEST_ID.test(incomingId) ? incomingId : randomUUID();
    res.setHeader('x-request-id', requestId);
    const { pathname, search } = splitTarget(req.url ?? '/');
    const trace: TraceParent = {};
    if (options.tracer) {
      const method = req.method ?? 'GET';
      const route = ROUTES.has(pathname) ? pathname : 'other';
      const span = startSpan(options.tracer, `${method} ${route}`, {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': method,
          'http.route': route,
          'http.request.header.x-request-id': [requestId],
        },
      });
      if (span) {
        res.once('close', () => endHttpSpan(span, res.statusCode, 500));
        trace.context = contextWithSpan(span);
      }
    }

    const origin = req.headers.origin;
    if (origin && allowedOrigins.has(origin)) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('access-control-expose-headers', 'x-request-id');
    }
    res.setHeader('vary', 'Origin');

    if (req.method === 'OPTIONS') {
      if (origin && allowedOrigins.has(origin)) {
        res.writeHead(204, {
          'access-control-allow-methods': 'GET, POST, OPTIONS',
          'access-control-allow-headers': CORS_ALLOWED_HEADERS,
          'access-control-max-age': '600',
        });
      } else res.writeHead(403);
      res.end();
      return;
    }
    if (options.browserRoutes?.(req, res, { pathname, search })) return;
    if (options.loginLink && (await options.loginLink(req, res, { pathname, search }, requestId))) return;
    switch (pathname) {
      case '/healthz':
        return sendJson(res, 200, { status: 'ok' });
      case '/readyz': {
        // Checked before (and apart from) the readiness checks: a drain wins over their answer.
        if (options.drain?.draining) {
          return sendJson(res, 503, { status: 'draining', checks: { draining: true } });
        }
        const { ready, checks } = await options.checkReadiness();
        return sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks });
      }
      case '/metrics': {
        res.writeHead(200, { 'content-type': options.metrics.contentType });
        res.end(await options.metrics.render());
        return;
      }
      case '/graphql':
        if (req.method !== 'GET' && req.method !== 'POST') {
          return sendJson(res, 405, requestError('Use GET or POST.', 'BAD_REQUEST'), { allow: 'GET, POST' });
        }
        return handleGraphQL(req, res, search, requestId, trace);
      default:
        return sendJson(res, 404, { error: 'Not found. GraphQL is served at /graphql.' });
    }
  }

  return createServer((req, res) => {
    const handled = handle(req, res).catch((error: unknown) => {
      if (error instanceof BodyTooLargeError) {
        sendJson(res, 413, requestError(`The request body exceeds ${MAX_BODY_BYTES} bytes.`, 'BAD_REQUEST'), {
          connection: 'close',
        });
        return;
      }
      options.logger.error({ err: error }, 'unexpected error while handling an HTTP request');
      if (!res.headersSent)
        sendJson(res, 500, requestError('Internal server error.', 'INTERNAL_SERVER_ERROR'));
      else res.destroy();
    });
    options.drain?.track(res, handled);
  });
}
