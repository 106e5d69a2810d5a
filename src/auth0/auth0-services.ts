import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { SharedState } from '../shared-state/shared-state.js';
import type { Tracer } from '@opentelemetry/api';
import { createAuth0HttpClient, type Auth0HttpClient } from './http-client.js';
import { createReadinessCheck } from './readiness.js';
import { systemClock, UpstreamBudget, type BudgetClock } from './rate-budget.js';
import { ServiceTokenProvider } from './token-provider.js';

export interface Auth0RetryOptions {
  /** Attempts for a GET or a metadata PATCH (429, 5xx, network errors); default 3. */
  readAttempts: number;
  /** Attempts for a POST/DELETE, retried only on ECONNREFUSED (and 429, below); default 3. */
  writeAttempts: number;
  /**
   * Attempts for any call Auth0 keeps answering 429, each at the budget's pace and within
   * AUTH0_MAX_WAIT_MS; default 8. A 429 proves Auth0 did nothing, and replicas that share one
   * tenant under load can meet several in a row: the wait, not a count of three, is the bound.
   */
  rateLimitedAttempts: number;
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
  /** Spans for Auth0 calls when tracing is on. */
  readonly tracer?: Tracer;
  readonly retry: Auth0RetryOptions;
  readonly clock: BudgetClock;
  /** Waits between retries; injectable so tests do not wait for backoff. */
  readonly delay: (ms: number) => Promise<void>;
  /**
   * Aborted when a drain cuts the operations still running (SHUTDOWN_TIMEOUT_MS): from then on no
   * call is sent, so a cut link or unlink makes no further write. Absent: never aborted.
   */
  readonly stopCalls?: AbortSignal;
  /** Can the tenant's JWKS be reached? Bounded by the timeout; never throws, never fetches a token. */
  checkReadiness(): Promise<{ jwks: boolean }>;
  close(): Promise<void>;
}

export interface Auth0ServicesOptions {
  config: Config['auth0'];
  /** Where replicas share the rate budget and the service token; default: this process only. */
  shared?: SharedState;
  tracer?: Tracer;
  logger: Logger;
  metrics?: GatewayMetrics;
  /** Most calls in flight to Auth0 at once; default 20. */
  maxConcurrency?: number;
  clock?: BudgetClock;
  delay?: (ms: number) => Promise<void>;
  retry?: Partial<Auth0RetryOptions>;
  /** See `Auth0Services.stopCalls`. */
  stopCalls?: AbortSignal;
}

const DEFAULT_RETRY: Auth0RetryOptions = {
  readAttempts: 3,
  writeAttempts: 3,
  rateLimitedAttempts: 8,
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
    // One bucket per tenant: the key prefix already carries the origin's tag (no origin in clear).
    store: options.shared?.bucket('tenant'),
    onQueueChange: (length) => metrics?.auth0BudgetQueueLength.set(length),
    warn: (message) => logger.warn({ variable: 'AUTH0_RATE_LIMIT' }, message),
  });
  const tokens = new ServiceTokenProvider({
    http,
    clientId: config.clientId,
    clientSecret: config.clientSecret,
    audience: config.audience,
    now: () => clock.now(),
    slot: options.shared?.serviceTokenSlot({
      name: `${config.clientId}|${config.audience}`,
      secret: config.clientSecret,
    }),
    onFetch: (outcome) => metrics?.auth0TokenFetches.inc({ outcome }),
    tracer: options.tracer,
  });

  const checkReadiness = createReadinessCheck({ http });

  return {
    config,
    http,
    budget,
    tokens,
    logger,
    metrics,
    tracer: options.tracer,
    clock,
    retry: { ...DEFAULT_RETRY, ...options.retry },
    delay: options.delay ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    ...(options.stopCalls ? { stopCalls: options.stopCalls } : {}),
    checkReadiness,
    async close() {
      http.close();
    },
  };
}
