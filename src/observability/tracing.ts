import {
  context as otelContext,
  trace,
  SpanKind,
  SpanStatusCode,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';

/** Where a request's spans hang: the HTTP span at first, the GraphQL operation's once it starts. */
export interface TraceParent {
  context?: Context;
}

/**
 * OpenTelemetry traces of the gateway (DESIGN §5): the incoming request, the GraphQL operation
 * and each Auth0 call. Span names and attributes carry methods, route templates and statuses,
 * never a user id or a token.
 */
export interface Tracing {
  readonly tracer: Tracer;
  /** Exports what is left and stops. */
  shutdown(): Promise<void>;
}

/**
 * Starts the trace SDK when `endpoint` (OTEL_EXPORTER_OTLP_ENDPOINT) is set; `null` otherwise.
 * The SDK and exporter are imported only then, so a service without tracing never loads them.
 */
export async function startTracing(endpoint: string | null, serviceName: string): Promise<Tracing | null> {
  if (endpoint === null) return null;
  const [{ BasicTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }] =
    await Promise.all([
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
    ]);
  // The standard variable names the collector's base URL; traces go to its /v1/traces (OTLP/HTTP).
  const exporter = new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, '')}/v1/traces` });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  return {
    tracer: provider.getTracer('auth0-link-gateway'),
    shutdown: () => provider.shutdown(),
  };
}

/** A child of `parent` (or a root span), or `undefined` without tracing. */
export function startSpan(
  tracer: Tracer | undefined,
  name: string,
  options: { kind: SpanKind; attributes?: Attributes; parent?: Context },
): Span | undefined {
  if (!tracer) return undefined;
  return tracer.startSpan(
    name,
    { kind: options.kind, attributes: options.attributes },
    options.parent ?? otelContext.active(),
  );
}

/** `parent` (default: the active context) with `span` as the current span: what its children hang on. */
export function contextWithSpan(span: Span, parent?: Context): Context {
  return trace.setSpan(parent ?? otelContext.active(), span);
}

/** Ends `span` with the HTTP status (an error status from 500 for servers, 400 for clients). */
export function endHttpSpan(span: Span | undefined, statusCode: number, errorFrom: 400 | 500): void {
  if (!span) return;
  span.setAttribute('http.response.status_code', statusCode);
  if (statusCode >= errorFrom) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}

export { SpanKind, SpanStatusCode };
