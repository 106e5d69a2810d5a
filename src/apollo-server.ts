import { GraphQLError } from 'graphql';
import { InMemoryLRUCache, type KeyValueCache } from '@apollo/utils.keyvaluecache';
import type { Tracer } from '@opentelemetry/api';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import {
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloServerPluginInlineTrace } from '@apollo/server/plugin/inlineTrace';
import { unwrapResolverError } from '@apollo/server/errors';
import type { GraphQLFormattedError, GraphQLSchema } from 'graphql';
import type { Span } from '@opentelemetry/api';
import { contextWithSpan, SpanKind, SpanStatusCode, startSpan } from './observability/tracing.js';
import type { Logger } from 'pino';
import type { GatewayContext } from './context.js';
import { GatewayError } from './errors.js';
import type { GatewayMetrics } from './observability/metrics.js';
import { createBoundedLabel } from './observability/bounded-label.js';
import { documentLimits, PARSE_LIMITS } from './documents/document-limits.js';
import { APQ_LIMITS, boundedApqCache } from './documents/persisted-queries.js';
import {
  PERSISTED_QUERY_NOT_IN_LIST,
  QUERY_NOT_IN_PERSISTED_QUERY_LIST,
  trustedDocumentsPlugin,
  type TrustedDocuments,
} from './documents/trusted-documents.js';

/**
 * Codes Apollo Server and graphql-js give to malformed requests: their messages describe the
 * request, never server internals, so they pass through (without stack traces). The README's
 * request-level codes table lists these (but BAD_USER_INPUT, a DESIGN §4 code of the first table).
 */
export const REQUEST_ERROR_CODES: ReadonlySet<string> = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  PERSISTED_QUERY_NOT_IN_LIST,
  QUERY_NOT_IN_PERSISTED_QUERY_LIST,
]);

/**
 * Errors leave with a DESIGN §4 code (or the request-shape codes above) and nothing else:
 * anything unexpected is a bug, logged with its cause and sent as INTERNAL_SERVER_ERROR.
 */
export function createFormatError(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    if (original instanceof GatewayError) {
      const extensions: Record<string, unknown> = { code: original.code };
      if (original.reason) extensions.reason = original.reason;
      if (original.auth0) extensions.auth0 = original.auth0;
      if (original.retryAfter !== undefined) extensions.retryAfter = original.retryAfter;
      return { message: original.message, locations: formatted.locations, path: formatted.path, extensions };
    }
    const code = formatted.extensions?.code;
    if (typeof code === 'string' && REQUEST_ERROR_CODES.has(code)) {
      return {
        message: formatted.message,
        locations: formatted.locations,
        path: formatted.path,
        extensions: { code },
      };
    }
    // Apollo's own request errors that carry no code but an HTTP 400 (a persisted-query hash that
    // does not match its query, an unsupported persisted-query version): the request was wrong.
    if (
      original instanceof GraphQLError &&
      original.extensions.code === undefined &&
      (original.extensions.http as { status?: number } | undefined)?.status === 400
    ) {
      return { message: formatted.message, extensions: { code: 'BAD_REQUEST' } };
    }
    logger.error({ err: original }, 'unexpected error while serving a GraphQL request');
    return {
      message: 'Internal server error.',
      path: formatted.path,
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    };
  };
}

function metricsPlugin(metrics: GatewayMetrics): ApolloServerPlugin<GatewayContext> {
  // Operation names come from the client's document: at most 100 of them become label values.
  const operationName = createBoundedLabel(100);
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ operation, operationName: requestOperationName, errors }) {
          const codes = (errors ?? []).map((e) => {
            const original = unwrapResolverError(e);
            return original instanceof GatewayError
              ? original.code
              : String(e.extensions?.code ?? 'INTERNAL');
          });
          metrics.graphqlOperations.inc({
            operation_name: operationName(requestOperationName ?? 'anonymous'),
            operation_type: operation?.operation ?? 'unknown',
            outcome: codes.length === 0 ? 'success' : 'error',
          });
          for (const code of codes) metrics.graphqlErrors.inc({ code });
        },
      };
    },
  };
}

/**
 * One span per GraphQL operation, named by its type (`graphql mutation`), with the Auth0 calls it
 * makes as children: it becomes the request's trace parent while it runs.
 */
function tracingPlugin(tracer: Tracer): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart({ contextValue }) {
      const parent = contextValue.trace;
      const outer = parent.context;
      const span = startSpan(tracer, 'graphql', { kind: SpanKind.INTERNAL, parent: outer }) as Span;
      parent.context = contextWithSpan(span, outer);
      return {
        async didResolveOperation({ operation, operationName }) {
          if (operation) {
            span.updateName(`graphql ${operation.operation}`);
            span.setAttribute('graphql.operation.type', operation.operation);
          }
          if (operationName) span.setAttribute('graphql.operation.name', operationName);
        },
        async willSendResponse({ response }) {
          const errors = response.body.kind === 'single' ? response.body.singleResult.errors : undefined;
          if (errors?.length) {
            span.setStatus({ code: SpanStatusCode.ERROR });
            const codes = [...new Set(errors.map((e) => String(e.extensions?.code ?? 'INTERNAL')))];
            span.setAttribute('graphql.error.codes', codes);
          }
          span.end();
          parent.context = outer;
        },
      };
    },
  };
}

/**
 * Federated traces (`ftv1`) for the routers that ask for them, as Apollo Server does for a
 * subgraph by default, but without its per-request cost for everyone else: its implicit plugin
 * builds a trace tree for every request before it looks at the header (docs/benchmark.md).
 */
function inlineTraceWhenAsked(): ApolloServerPlugin {
  const trace = ApolloServerPluginInlineTrace();
  return {
    async requestDidStart(requestContext) {
      if (requestContext.request.http?.headers.get('apollo-federation-include-trace') !== 'ftv1') return;
      return trace.requestDidStart?.(requestContext);
    },
  };
}

export interface ApolloServerOptions {
  schema: GraphQLSchema;
  introspection: boolean;
  logger: Logger;
  metrics: GatewayMetrics;
  /**
   * Where automatic persisted queries are kept (bounded by APQ_LIMITS); default: an in-memory LRU
   * cache of Apollo's.
   */
  cache?: KeyValueCache<string>;
  tracer?: Tracer;
  /** TRUSTED_DOCUMENTS: only these run, and automatic persisted queries are off. */
  trustedDocuments?: TrustedDocuments;
}

/**
 * Apollo Server with CSRF prevention on, no CDN landing page, masked errors, bounded parsing,
 * document limits, automatic persisted queries that expire and stay small and, with a list,
 * trusted documents only.
 */
export function createApolloServer(options: ApolloServerOptions): ApolloServer<GatewayContext> {
  const limits = documentLimits({ introspection: options.introspection });
  return new ApolloServer<GatewayContext>({
    schema: options.schema,
    introspection: options.introspection,
    // With a list the list is the only store of documents: an APQ registration would let a client
    // name an unlisted document by hash. Without one, anyone may register (no token needed), so
    // what a registration leaves in the store is bounded in time and size (review H2).
    persistedQueries: options.trustedDocuments
      ? false
      : {
          cache: boundedApqCache(options.cache ?? new InMemoryLRUCache<string>()),
          ttl: APQ_LIMITS.ttlSeconds,
        },
    parseOptions: PARSE_LIMITS,
    validationRules: limits.validationRules,
    csrfPrevention: true,
    // main.ts owns shutdown (stop accepting, drain, then stop Apollo); Apollo's own signal
    // handlers would race it and leave the process hanging.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: false,
    formatError: createFormatError(options.logger),
    logger: options.logger,
    plugins: [
      ...(options.trustedDocuments ? [trustedDocumentsPlugin(options.trustedDocuments)] : []),
      ...limits.plugins,
      ApolloServerPluginLandingPageDisabled(),
      // Replaced by inlineTraceWhenAsked: Apollo would otherwise install its own for a subgraph.
      ApolloServerPluginInlineTraceDisabled(),
      inlineTraceWhenAsked(),
      metricsPlugin(options.metrics),
      ...(options.tracer ? [tracingPlugin(options.tracer)] : []),
    ],
  });
}
