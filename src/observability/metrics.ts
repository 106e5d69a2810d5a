import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one gateway process, on a registry of its own (not prom-client's global). */
export interface GatewayMetrics {
  readonly registry: Registry;
  readonly graphqlOperations: Counter<'operation_name' | 'operation_type' | 'outcome'>;
  readonly graphqlErrors: Counter<'code'>;
  readonly auth0Requests: Counter<'endpoint' | 'method' | 'status'>;
  readonly auth0RequestDuration: Histogram<'endpoint'>;
  readonly auth0BudgetQueueLength: Gauge;
  readonly auth0BudgetWait: Histogram;
  readonly auth0TokenFetches: Counter<'outcome'>;
  /** Present only when replicas share a Redis (`MetricsOptions.redis`). */
  readonly redisUp: Gauge | undefined;
  readonly webhookDeliveries: Counter<'type'>;
  readonly webhookFailedAttempts: Counter<'type'>;
  readonly webhookPending: Gauge;
  readonly webhookDead: Gauge;
  readonly userCacheLookups: Counter<'layer' | 'result'>;
  readonly readBacks: Counter<'operation' | 'outcome'>;
  readonly reconciliations: Counter<'operation' | 'outcome'>;
  /** Linking at login (DESIGN §14): each step's outcome (`step`: check, page, start, callback). */
  readonly loginLinkOutcomes: Counter<'step' | 'outcome'>;
}

export interface MetricsOptions {
  /** Also collect Node's process metrics (CPU, memory, event loop); default true. */
  defaultMetrics?: boolean;
  /** Replicas share a Redis (REDIS_URL is set): register `auth0_link_gateway_redis_up`. Default false. */
  redis?: boolean;
}

/** Fresh metrics and registry; expose `metrics.registry.metrics()` at `/metrics`. */
export function createMetrics(options: MetricsOptions = {}): GatewayMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    graphqlOperations: new Counter({
      name: 'graphql_operations_total',
      help: 'GraphQL operations executed, by name, type and outcome (success or error).',
      labelNames: ['operation_name', 'operation_type', 'outcome'] as const,
      registers,
    }),
    graphqlErrors: new Counter({
      name: 'graphql_errors_total',
      help: 'Errors sent in GraphQL responses, by extensions.code.',
      labelNames: ['code'] as const,
      registers,
    }),
    auth0Requests: new Counter({
      name: 'auth0_requests_total',
      help: 'Requests sent to Auth0, by endpoint, method and HTTP status (or network/timeout).',
      labelNames: ['endpoint', 'method', 'status'] as const,
      registers,
    }),
    auth0RequestDuration: new Histogram({
      name: 'auth0_request_duration_seconds',
      help: 'Duration of requests to Auth0, by endpoint.',
      labelNames: ['endpoint'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    auth0BudgetQueueLength: new Gauge({
      name: 'auth0_budget_queue_length',
      help: 'Calls waiting for Auth0 rate-limit budget or a concurrency slot.',
      registers,
    }),
    auth0BudgetWait: new Histogram({
      name: 'auth0_budget_wait_seconds',
      help: 'Time calls waited for Auth0 rate-limit budget.',
      buckets: [0, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    auth0TokenFetches: new Counter({
      name: 'auth0_token_fetches_total',
      help: 'Service token requests to Auth0, by outcome.',
      labelNames: ['outcome'] as const,
      registers,
    }),
    // Only with a Redis to watch: a gauge stuck at 0 in every single-process deployment would fire
    // any alert on it. Prefixed: a bare `redis_up` is the Redis exporter's own metric.
    redisUp: options.redis
      ? new Gauge({
          name: 'auth0_link_gateway_redis_up',
          help: 'Whether the Redis shared by replicas is reachable (1) or not (0); absent without REDIS_URL.',
          registers,
        })
      : undefined,
    webhookDeliveries: new Counter({
      name: 'webhook_deliveries_total',
      help: 'Link and unlink events delivered (the receiver answered 2xx), by event type.',
      labelNames: ['type'] as const,
      registers,
    }),
    webhookFailedAttempts: new Counter({
      name: 'webhook_failed_attempts_total',
      help: 'Delivery attempts that failed (non-2xx, timeout, network), by event type.',
      labelNames: ['type'] as const,
      registers,
    }),
    webhookPending: new Gauge({
      name: 'webhook_events_pending',
      help: 'Events written to the outbox and not yet delivered or dead-lettered (all replicas with Redis).',
      registers,
    }),
    webhookDead: new Gauge({
      name: 'webhook_events_dead',
      help: 'Dead-lettered events kept for `npm run webhooks -- replay` (all replicas with Redis).',
      registers,
    }),
    readBacks: new Counter({
      name: 'account_read_backs_total',
      help: 'Primaries read back after a link or unlink whose answer did not prove its outcome (or a link Auth0 refused as already made), by operation (link, unlink) and outcome (applied, not_applied, unknown: the read failed too).',
      labelNames: ['operation', 'outcome'] as const,
      registers,
    }),
    reconciliations: new Counter({
      name: 'account_reconciliations_total',
      help: 'Links and unlinks of unknown outcome checked again later (DESIGN §8), by operation (link, unlink) and how each ended: applied (its event recorded then), not_applied (still unchanged at the last check), unknown (the primary could not be read).',
      labelNames: ['operation', 'outcome'] as const,
      registers,
    }),
    loginLinkOutcomes: new Counter({
      name: 'login_link_outcomes_total',
      help: 'Linking at login, by step (check, page, start, callback) and outcome.',
      labelNames: ['step', 'outcome'] as const,
      registers,
    }),
    userCacheLookups: new Counter({
      name: 'user_cache_lookups_total',
      help: 'Read cache lookups (users, aliases, email lists), by layer (memory, redis) and result (hit, miss); memory misses go to Redis, Redis misses to Auth0.',
      labelNames: ['layer', 'result'] as const,
      registers,
    }),
  };
}
