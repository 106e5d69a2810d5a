import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { DEMO } from './auth0-emulator/demo-seed.js';

export type AdminLinkPolicy = 'verified-email' | 'trust';

export interface RateLimitSetting {
  /** Sustained calls per second. */
  perSecond: number;
  /** Bucket size: calls that may go at once after a quiet period. */
  burst: number;
}

/** Typed, frozen configuration (DESIGN §5). */
export interface Config {
  readonly auth0: {
    /** `https://tenant.eu.auth0.com` or a loopback `http://127.0.0.1:4010`; no trailing slash. */
    readonly origin: string;
    /** `<origin>/`, the `iss` of every token the tenant signs. */
    readonly issuer: string;
    readonly clientId: string;
    readonly clientSecret: string;
    /** Management API audience, `<origin>/api/v2/` by default. */
    readonly audience: string;
    readonly timeoutMs: number;
    /** Configured budget; `null` when it is learned from `x-ratelimit-*` headers. */
    readonly rateLimit: RateLimitSetting | null;
    readonly maxWaitMs: number;
  };
  readonly admin: {
    readonly audience: string;
    readonly permission: string;
    readonly linkPolicy: AdminLinkPolicy;
  };
  readonly server: {
    readonly host: string;
    readonly port: number;
    readonly corsOrigins: readonly string[];
    readonly introspection: boolean;
  };
  /** What the service shows browsers (DESIGN §6). */
  readonly frontend: {
    /** The demo page at `/`. */
    readonly demoPage: boolean;
    /** SPA application the demo page signs in with. */
    readonly demoClientId: string;
    /** GraphiQL at `GET /graphql` for requests that prefer HTML. */
    readonly graphiql: boolean;
  };
  /** Where state shared by replicas lives (DESIGN §10). */
  readonly shared: {
    /** `REDIS_URL`: `redis://` (loopback) or `rediss://` URL; `null` when unset (another shape, or memory). */
    readonly redisUrl: string | null;
    /** The Redis to open, whichever its shape (REDIS_URL, REDIS_CLUSTER_NODES, REDIS_SENTINELS); `null`: process memory. */
    readonly redis: RedisTarget | null;
    /** Prefix of every key written to Redis. */
    readonly keyPrefix: string;
  };
  /** Link/unlink attempts one end-user caller (token `sub`) may make per window (CALLER_RATE_LIMIT). */
  readonly callerRateLimit: CallerRateLimitSetting;
  /** The same for client-credentials callers (ADMIN_CALLER_RATE_LIMIT); `null`: only the tenant budget. */
  readonly adminCallerRateLimit: CallerRateLimitSetting | null;
  /** The read cache (DESIGN §11). */
  readonly userCache: {
    /** How long a user read may be served from the cache; 0 turns the cache off. */
    readonly ttlMs: number;
    /** Users kept in each process's in-memory layer. */
    readonly max: number;
  };
  /** Longest a SIGTERM/SIGINT drain waits for requests in flight. */
  readonly shutdownTimeoutMs: number;
  /**
   * Shortest time the listener stays open after SIGTERM/SIGINT, even when idle, so a load balancer
   * sees `/readyz` 503 before connections are refused; bounded by `shutdownTimeoutMs`.
   */
  readonly shutdownMinDrainMs: number;
  /** Path of the trusted documents manifest (`{ "<sha256 hex>": "<document>" }`); `null`: any document. */
  readonly trustedDocumentsPath: string | null;
  /** Link and unlink events (DESIGN §12); `null`: no events. */
  readonly webhook: WebhookSetting | null;
  /**
   * LINK_UNDO_WINDOW: how long a link made through the service can be undone (DESIGN §15); 0: no
   * undo. Link records are kept this long, and at least LINK_RECORD_MIN_MS for retries (DESIGN §12).
   */
  readonly linkUndoWindowMs: number;
  /** Linking at login (DESIGN §14); `null` when LOGIN_LINK is off. */
  readonly loginLink: LoginLinkSetting | null;
  /** OTLP endpoint for traces; `null`: no tracing. */
  readonly otlpEndpoint: string | null;
  readonly logLevel: string;
}

export interface CallerRateLimitSetting {
  count: number;
  windowSeconds: number;
}

export interface WebhookSetting {
  /** `https` URL (plain `http` only for loopback hosts). */
  readonly url: string;
  /** Standard Webhooks signing secret, `whsec_<base64>`. */
  readonly secret: string;
  /** Delays between delivery attempts; after the last, the event is dead-lettered. */
  readonly retryDelaysMs: readonly number[];
}

/** Linking at login (DESIGN §14): the secret shared with the Action and the service's own application. */
export interface LoginLinkSetting {
  /** LOGIN_LINK_SECRET: HS256 key of every token between the Action and the service (≥ 32 characters). */
  readonly secret: string;
  /** LOGIN_LINK_CLIENT_ID / _SECRET: the Regular Web Application candidates sign in with. */
  readonly clientId: string;
  readonly clientSecret: string;
  /**
   * PUBLIC_URL: the service's origin as browsers and the Action reach it; no trailing slash.
   * `null`: `http://<HOST>:<PORT>`, the port as bound (PORT=0 picks one at start).
   */
  readonly publicUrl: string | null;
  /** LOGIN_LINK_MERGE_METADATA: merge the secondary's user_metadata into the primary. */
  readonly mergeMetadata: boolean;
}

/** Standard Webhooks' own retry schedule. */
export const DEFAULT_WEBHOOK_RETRY_DELAYS = '5s,5m,30m,2h,5h,10h,10h';

export interface LoadConfigOptions {
  /** `AUTH0_DOMAIN` points at the emulator `main` started in-process: the demo page is on by default. */
  embeddedEmulator?: boolean;
}

/** Bad configuration: the message names the variable and is meant to be printed alone. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    detail: string,
  ) {
    super(`${variable}: ${detail}`);
    this.name = 'ConfigError';
  }
}

const LOOPBACK_HOST = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/** `AUTH0_DOMAIN` → origin: https implied; plain http only for loopback hosts. */
export function toAuth0Origin(domain: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(domain) ? domain : `https://${domain}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ConfigError(
      'AUTH0_DOMAIN',
      'must be a tenant domain or an origin such as http://127.0.0.1:4010',
    );
  }
  if (url.pathname !== '/' || url.search || url.hash || url.username || url.password) {
    throw new ConfigError(
      'AUTH0_DOMAIN',
      'must be a domain or an origin, without path, query or credentials',
    );
  }
  if (url.protocol === 'http:' && !LOOPBACK_HOST.test(url.hostname)) {
    // The client secret and users' tokens would cross a network unencrypted.
    throw new ConfigError('AUTH0_DOMAIN', 'plain http is allowed only for loopback hosts; use https');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError('AUTH0_DOMAIN', 'must use https (or http for a loopback emulator)');
  }
  return url.origin;
}

/** `REDIS_URL` → URL: plain redis:// only for loopback hosts, as for AUTH0_DOMAIN. */
export function toRedisUrl(value: string, variable = 'REDIS_URL'): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(variable, 'must be a URL such as rediss://redis.example.com:6380');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigError(variable, 'must use rediss:// (or redis:// for a loopback host)');
  }
  if (!url.hostname) throw new ConfigError(variable, 'must name a host');
  if (url.protocol === 'redis:' && !LOOPBACK_HOST.test(url.hostname)) {
    // The stored service token is encrypted, but a Redis password and every key would not be.
    throw new ConfigError(variable, 'plain redis:// is allowed only for loopback hosts; use rediss://');
  }
  if (url.pathname !== '' && url.pathname !== '/' && !/^\/\d{1,2}$/.test(url.pathname)) {
    throw new ConfigError(variable, 'the path may only be a database number, e.g. /0');
  }
  return value;
}

/** One Redis node or Sentinel as configured. */
export interface RedisNode {
  readonly host: string;
  readonly port: number;
}

/**
 * The Redis the replicas share, in one of three shapes (DESIGN §10). `tls`: `rediss://` (plain only
 * to loopback hosts). `username`/`password`: REDIS_USERNAME/REDIS_PASSWORD, else the URL's.
 */
export type RedisTarget = (
  | { readonly kind: 'standalone'; readonly url: string }
  | { readonly kind: 'cluster'; readonly nodes: readonly RedisNode[] }
  | { readonly kind: 'sentinel'; readonly sentinels: readonly RedisNode[]; readonly masterName: string }
) & { readonly tls: boolean; readonly username?: string; readonly password?: string };

/** `host:port` or `redis(s)://host:port` → node; `rediss:` says TLS. Loopback-only plain. */
function toRedisNode(entry: string, variable: string, defaultPort: number): RedisNode & { tls: boolean } {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(entry) ? entry : `redis://${entry}`;
  toRedisUrl(withScheme, variable);
  const url = new URL(withScheme);
  if (url.pathname !== '' && url.pathname !== '/') {
    throw new ConfigError(variable, 'a node is host:port (a cluster has no database number)');
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { host, port: url.port === '' ? defaultPort : Number(url.port), tls: url.protocol === 'rediss:' };
}

function toRedisNodes(value: string, variable: string, defaultPort: number) {
  const nodes = value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => toRedisNode(entry, variable, defaultPort));
  if (nodes.length === 0) throw new ConfigError(variable, 'must list at least one host:port');
  if (new Set(nodes.map((node) => node.tls)).size > 1) {
    throw new ConfigError(variable, 'must use rediss:// for every node or for none');
  }
  return nodes;
}

/** REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS (+ REDIS_SENTINEL_MASTER), with the credentials. */
export function toRedisTarget(e: {
  REDIS_URL?: string;
  REDIS_CLUSTER_NODES?: string;
  REDIS_SENTINELS?: string;
  REDIS_SENTINEL_MASTER?: string;
  REDIS_USERNAME?: string;
  REDIS_PASSWORD?: string;
}): RedisTarget | null {
  const set = (['REDIS_URL', 'REDIS_CLUSTER_NODES', 'REDIS_SENTINELS'] as const).filter(
    (name) => e[name] !== undefined,
  );
  if (set.length > 1) throw new ConfigError(set[1], `set only one of ${set.join(', ')}`);
  if (e.REDIS_SENTINEL_MASTER !== undefined && e.REDIS_SENTINELS === undefined) {
    throw new ConfigError('REDIS_SENTINEL_MASTER', 'needs REDIS_SENTINELS');
  }
  if (set.length === 0) {
    if (e.REDIS_USERNAME !== undefined || e.REDIS_PASSWORD !== undefined) {
      const name = e.REDIS_USERNAME !== undefined ? 'REDIS_USERNAME' : 'REDIS_PASSWORD';
      throw new ConfigError(name, 'needs REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS');
    }
    return null;
  }
  const credentials = {
    ...(e.REDIS_USERNAME !== undefined ? { username: e.REDIS_USERNAME } : {}),
    ...(e.REDIS_PASSWORD !== undefined ? { password: e.REDIS_PASSWORD } : {}),
  };
  if (e.REDIS_URL !== undefined) {
    const url = toRedisUrl(e.REDIS_URL);
    return { kind: 'standalone', url, tls: url.startsWith('rediss:'), ...credentials };
  }
  if (e.REDIS_CLUSTER_NODES !== undefined) {
    const nodes = toRedisNodes(e.REDIS_CLUSTER_NODES, 'REDIS_CLUSTER_NODES', 6379);
    // Credentials in a seed's URL stand for the whole cluster (the first seed's), unless set apart.
    const first = new URL(
      /^[a-z]+:\/\//i.test(e.REDIS_CLUSTER_NODES.split(',')[0].trim())
        ? e.REDIS_CLUSTER_NODES.split(',')[0].trim()
        : 'redis://x',
    );
    const fromUrl = {
      ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
      ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
    };
    return {
      kind: 'cluster',
      nodes: nodes.map(({ host, port }) => ({ host, port })),
      tls: nodes[0].tls,
      ...fromUrl,
      ...credentials,
    };
  }
  const sentinels = toRedisNodes(e.REDIS_SENTINELS!, 'REDIS_SENTINELS', 26379);
  const masterName = e.REDIS_SENTINEL_MASTER;
  if (masterName === undefined || masterName.trim() === '') {
    throw new ConfigError('REDIS_SENTINEL_MASTER', 'must name the master group the Sentinels watch');
  }
  return {
    kind: 'sentinel',
    sentinels: sentinels.map(({ host, port }) => ({ host, port })),
    masterName,
    tls: sentinels[0].tls,
    ...credentials,
  };
}

const boolean = z.enum(['true', 'false']).transform((v) => v === 'true');
const positiveInt = z.coerce.number().int().positive();

const schema = z.object({
  NODE_ENV: z.string().optional(),
  AUTH0_DOMAIN: z.string().min(1),
  AUTH0_CLIENT_ID: z.string().min(1),
  AUTH0_CLIENT_SECRET: z.string().min(1),
  AUTH0_AUDIENCE: z.url().optional(),
  ADMIN_AUDIENCE: z.string().min(1).optional(),
  ADMIN_PERMISSION: z
    .string()
    .regex(/^\S+$/, 'must be one permission name without spaces')
    .default('update:users'),
  ADMIN_LINK_POLICY: z.enum(['verified-email', 'trust']).default('verified-email'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  CORS_ORIGINS: z.string().default(''),
  INTROSPECTION: boolean.default(true),
  AUTH0_TIMEOUT_MS: positiveInt.default(10000),
  AUTH0_RATE_LIMIT: z
    .string()
    .regex(/^\d+(\.\d+)?\/\d+$/, 'must be <per second>/<burst>, e.g. 16/50')
    .optional(),
  AUTH0_MAX_WAIT_MS: z.coerce.number().int().min(0).default(10000),
  DEMO_PAGE: boolean.optional(),
  DEMO_CLIENT_ID: z
    .string()
    .regex(/^[\w.-]+$/, 'must be a client id (letters, digits, "_", "-", ".")')
    .default(DEMO.spaClientId),
  GRAPHIQL: boolean.optional(),
  REDIS_URL: z.string().optional(),
  REDIS_CLUSTER_NODES: z.string().optional(),
  REDIS_SENTINELS: z.string().optional(),
  REDIS_SENTINEL_MASTER: z.string().optional(),
  REDIS_USERNAME: z.string().min(1).optional(),
  REDIS_PASSWORD: z.string().min(1).optional(),
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[\x21-\x7e]{1,64}$/, 'must be 1 to 64 printable characters without spaces')
    .default('auth0-link-gateway:'),
  CALLER_RATE_LIMIT: z
    .string()
    .regex(/^\d+\/\d+$/, 'must be <count>/<seconds>, e.g. 30/60')
    .default('30/60'),
  ADMIN_CALLER_RATE_LIMIT: z
    .string()
    .regex(/^\d+\/\d+$/, 'must be <count>/<seconds>, e.g. 600/60')
    .optional(),
  USER_CACHE_TTL_MS: z.coerce.number().int().min(0).default(30000),
  USER_CACHE_MAX: positiveInt.default(10000),
  SHUTDOWN_TIMEOUT_MS: positiveInt.default(25000),
  SHUTDOWN_MIN_DRAIN_MS: z.coerce.number().int().min(0).optional(),
  TRUSTED_DOCUMENTS: z.string().optional(),
  WEBHOOK_URL: z.string().optional(),
  WEBHOOK_SECRET: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'must be a Standard Webhooks secret, whsec_<base64>')
    .optional(),
  WEBHOOK_RETRY_DELAYS: z.string().default(DEFAULT_WEBHOOK_RETRY_DELAYS),
  LINK_UNDO_WINDOW: z.string().default('24h'),
  LOGIN_LINK: boolean.optional(),
  LOGIN_LINK_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  LOGIN_LINK_CLIENT_ID: z
    .string()
    .regex(/^[\w.-]+$/, 'must be a client id (letters, digits, "_", "-", ".")')
    .optional(),
  LOGIN_LINK_CLIENT_SECRET: z.string().min(1).optional(),
  PUBLIC_URL: z.string().optional(),
  LOGIN_LINK_MERGE_METADATA: boolean.default(true),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** Every environment variable the service reads, in the order of its schema (the README's configuration table lists each). */
export const CONFIG_VARIABLES: readonly string[] = Object.freeze(Object.keys(schema.shape));

function parseRateLimit(value: string | undefined): RateLimitSetting | null {
  if (value === undefined) return null;
  const [perSecond, burst] = value.split('/').map(Number);
  if (!(perSecond > 0) || !(burst >= 1)) {
    throw new ConfigError('AUTH0_RATE_LIMIT', 'rate and burst must be positive, e.g. 16/50');
  }
  return { perSecond, burst };
}

function parseCallerRateLimit(value: string, variable: string): CallerRateLimitSetting {
  const [count, windowSeconds] = value.split('/').map(Number);
  if (!(count >= 1) || !(windowSeconds >= 1)) {
    throw new ConfigError(variable, 'count and seconds must be at least 1, e.g. 30/60');
  }
  return { count, windowSeconds };
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `5s,5m,30m` → milliseconds; a bare number is milliseconds. */
export function parseRetryDelays(value: string): number[] {
  const delays = value.split(',').map((part) => {
    const match = /^(\d+)(ms|s|m|h)?$/.exec(part.trim());
    if (!match) {
      throw new ConfigError('WEBHOOK_RETRY_DELAYS', `"${part.trim()}" is not a delay such as 5s, 30m or 2h`);
    }
    return Number(match[1]) * DURATION_UNITS_MS[match[2] ?? 'ms'];
  });
  if (delays.length === 0 || delays.length > 20) {
    throw new ConfigError('WEBHOOK_RETRY_DELAYS', 'must list 1 to 20 delays');
  }
  return delays;
}

/** LINK_UNDO_WINDOW: one duration (`24h`, `90m`; a bare number is ms), `0` for no undo. */
function parseUndoWindow(value: string): number {
  const match = /^(\d+)(ms|s|m|h)?$/.exec(value.trim());
  if (!match) throw new ConfigError('LINK_UNDO_WINDOW', `"${value}" is not a duration such as 24h, 90m or 0`);
  return Number(match[1]) * DURATION_UNITS_MS[match[2] ?? 'ms'];
}

function parseWebhook(e: { WEBHOOK_URL?: string; WEBHOOK_SECRET?: string; WEBHOOK_RETRY_DELAYS: string }) {
  if (e.WEBHOOK_URL === undefined) {
    if (e.WEBHOOK_SECRET !== undefined)
      throw new ConfigError('WEBHOOK_URL', 'is required with WEBHOOK_SECRET');
    return null;
  }
  let url: URL;
  try {
    url = new URL(e.WEBHOOK_URL);
  } catch {
    throw new ConfigError('WEBHOOK_URL', 'must be a URL such as https://hooks.example.com/auth0-links');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError('WEBHOOK_URL', 'must use https (or http for a loopback host)');
  }
  if (url.protocol === 'http:' && !LOOPBACK_HOST.test(url.hostname)) {
    // Events name users: they do not cross a network unencrypted.
    throw new ConfigError('WEBHOOK_URL', 'plain http is allowed only for loopback hosts; use https');
  }
  if (e.WEBHOOK_SECRET === undefined) throw new ConfigError('WEBHOOK_SECRET', 'is required with WEBHOOK_URL');
  return { url: url.href, secret: e.WEBHOOK_SECRET, retryDelaysMs: parseRetryDelays(e.WEBHOOK_RETRY_DELAYS) };
}

/** PUBLIC_URL → origin: https, plain http only for loopback hosts (as AUTH0_DOMAIN). */
function toPublicUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError('PUBLIC_URL', 'must be an origin such as https://accounts.example.com');
  }
  if (url.pathname !== '/' || url.search || url.hash || url.username || url.password) {
    throw new ConfigError('PUBLIC_URL', 'must be an origin, without path, query or credentials');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError('PUBLIC_URL', 'must use https (or http for a loopback host)');
  }
  if (url.protocol === 'http:' && !LOOPBACK_HOST.test(url.hostname)) {
    // Session cookies and the hand-back token would cross a network unencrypted.
    throw new ConfigError('PUBLIC_URL', 'plain http is allowed only for loopback hosts; use https');
  }
  return url.origin;
}

/**
 * LOGIN_LINK and its companions (DESIGN §5, §14). With the embedded emulator the block defaults on,
 * with the demo tenant's application and, unless LOGIN_LINK_SECRET is set, a secret generated at start.
 */
function parseLoginLink(
  e: {
    LOGIN_LINK?: boolean;
    LOGIN_LINK_SECRET?: string;
    LOGIN_LINK_CLIENT_ID?: string;
    LOGIN_LINK_CLIENT_SECRET?: string;
    PUBLIC_URL?: string;
    LOGIN_LINK_MERGE_METADATA: boolean;
    HOST: string;
  },
  options: LoadConfigOptions,
): LoginLinkSetting | null {
  const embedded = options.embeddedEmulator === true;
  if (!(e.LOGIN_LINK ?? embedded)) return null;
  // The embedded emulator's Action is deployed by this process with this same secret.
  const secret = e.LOGIN_LINK_SECRET ?? (embedded ? randomBytes(32).toString('base64url') : undefined);
  if (secret === undefined) throw new ConfigError('LOGIN_LINK_SECRET', 'is required with LOGIN_LINK=true');
  const clientId = e.LOGIN_LINK_CLIENT_ID ?? (embedded ? DEMO.loginLinkClientId : undefined);
  if (clientId === undefined)
    throw new ConfigError('LOGIN_LINK_CLIENT_ID', 'is required with LOGIN_LINK=true');
  const clientSecret =
    e.LOGIN_LINK_CLIENT_SECRET ??
    (embedded && clientId === DEMO.loginLinkClientId ? DEMO.loginLinkClientSecret : undefined);
  if (clientSecret === undefined) {
    throw new ConfigError('LOGIN_LINK_CLIENT_SECRET', 'is required with LOGIN_LINK=true');
  }
  if (e.PUBLIC_URL === undefined && !LOOPBACK_HOST.test(e.HOST.includes(':') ? `[${e.HOST}]` : e.HOST)) {
    // The default, http://<HOST>:<PORT>, would send cookies and tokens over plain http off loopback.
    throw new ConfigError('PUBLIC_URL', 'is required with LOGIN_LINK=true when HOST is not a loopback host');
  }
  return {
    secret,
    clientId,
    clientSecret,
    publicUrl: e.PUBLIC_URL === undefined ? null : toPublicUrl(e.PUBLIC_URL),
    mergeMetadata: e.LOGIN_LINK_MERGE_METADATA,
  };
}

function parseCorsOrigins(value: string): string[] {
  return value
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean)
    .map((o) => {
      try {
        const url = new URL(o);
        if (url.origin !== o.replace(/\/$/, '')) throw new Error('not an origin');
        return url.origin;
      } catch {
        throw new ConfigError('CORS_ORIGINS', `"${o}" is not an origin such as https://app.example.com`);
      }
    });
}

/**
 * Reads configuration from `env` (process.env by default). Empty strings count as unset.
 * Throws ConfigError naming the first bad variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, options: LoadConfigOptions = {}): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue.path[0] ?? 'environment');
    const detail =
      issue.code === 'invalid_type' && cleaned[variable] === undefined ? 'is required' : issue.message;
    throw new ConfigError(variable, detail);
  }
  const e = parsed.data;
  const origin = toAuth0Origin(e.AUTH0_DOMAIN);
  const audience = e.AUTH0_AUDIENCE ?? `${origin}/api/v2/`;
  const config: Config = {
    auth0: {
      origin,
      issuer: `${origin}/`,
      clientId: e.AUTH0_CLIENT_ID,
      clientSecret: e.AUTH0_CLIENT_SECRET,
      audience,
      timeoutMs: e.AUTH0_TIMEOUT_MS,
      rateLimit: parseRateLimit(e.AUTH0_RATE_LIMIT),
      maxWaitMs: e.AUTH0_MAX_WAIT_MS,
    },
    admin: {
      audience: e.ADMIN_AUDIENCE ?? audience,
      permission: e.ADMIN_PERMISSION,
      linkPolicy: e.ADMIN_LINK_POLICY,
    },
    server: {
      host: e.HOST,
      port: e.PORT,
      corsOrigins: parseCorsOrigins(e.CORS_ORIGINS),
      introspection: e.INTROSPECTION,
    },
    frontend: {
      demoPage: e.DEMO_PAGE ?? options.embeddedEmulator === true,
      demoClientId: e.DEMO_CLIENT_ID,
      // The IDE reads the schema by introspection: without it the IDE would be empty.
      graphiql: e.GRAPHIQL ?? (e.INTROSPECTION && e.NODE_ENV !== 'production'),
    },
    shared: {
      redisUrl: e.REDIS_URL === undefined ? null : toRedisUrl(e.REDIS_URL),
      redis: toRedisTarget(e),
      keyPrefix: e.REDIS_KEY_PREFIX,
    },
    callerRateLimit: parseCallerRateLimit(e.CALLER_RATE_LIMIT, 'CALLER_RATE_LIMIT'),
    adminCallerRateLimit:
      e.ADMIN_CALLER_RATE_LIMIT === undefined
        ? null
        : parseCallerRateLimit(e.ADMIN_CALLER_RATE_LIMIT, 'ADMIN_CALLER_RATE_LIMIT'),
    userCache: { ttlMs: e.USER_CACHE_TTL_MS, max: e.USER_CACHE_MAX },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    // A load balancer needs a probe period to see the 503; a developer's Ctrl-C on the embedded
    // emulator has none to wait for.
    shutdownMinDrainMs: e.SHUTDOWN_MIN_DRAIN_MS ?? (options.embeddedEmulator === true ? 0 : 5000),
    trustedDocumentsPath: e.TRUSTED_DOCUMENTS ?? null,
    webhook: parseWebhook(e),
    linkUndoWindowMs: parseUndoWindow(e.LINK_UNDO_WINDOW),
    loginLink: parseLoginLink(e, options),
    otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT ?? null,
    logLevel: e.LOG_LEVEL,
  };
  return deepFreeze(config);
}

/** Loads `./.env` into process.env when present; variables already set win. */
export function loadDotEnv(path = '.env'): void {
  if (existsSync(path)) process.loadEnvFile(path);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
