import { ConfigError, loadConfig, toAuth0Origin } from '../../../src/config.js';

const base = { AUTH0_DOMAIN: 'tenant.eu.auth0.com', AUTH0_CLIENT_ID: 'cid', AUTH0_CLIENT_SECRET: 'shh' };

function errorOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies the defaults of DESIGN §5', () => {
    const config = loadConfig(base);
    expect(config.auth0).toEqual({
      origin: 'https://tenant.eu.auth0.com',
      issuer: 'https://tenant.eu.auth0.com/',
      clientId: 'cid',
      clientSecret: 'shh',
      audience: 'https://tenant.eu.auth0.com/api/v2/',
      timeoutMs: 10000,
      rateLimit: null,
      maxWaitMs: 10000,
    });
    expect(config.admin).toEqual({
      audience: 'https://tenant.eu.auth0.com/api/v2/',
      permission: 'update:users',
      linkPolicy: 'verified-email',
    });
    expect(config.server).toEqual({ host: '127.0.0.1', port: 4000, corsOrigins: [], introspection: true });
    expect(config.frontend).toEqual({ demoPage: false, demoClientId: 'demo-spa', graphiql: true });
    expect(config.logLevel).toBe('info');
    expect(config.shared).toEqual({ redisUrl: null, redis: null, keyPrefix: 'auth0-link-gateway:' });
    expect(config.callerRateLimit).toEqual({ count: 30, windowSeconds: 60 });
    expect(config.otlpEndpoint).toBeNull();
    expect(Object.isFrozen(config.auth0)).toBe(true);
  });

  it('reads every variable', () => {
    const config = loadConfig({
      ...base,
      AUTH0_DOMAIN: 'http://127.0.0.1:4010',
      AUTH0_AUDIENCE: 'https://api.example.com/',
      ADMIN_AUDIENCE: 'https://admin.example.com',
      ADMIN_PERMISSION: 'link:accounts',
      ADMIN_LINK_POLICY: 'trust',
      HOST: '0.0.0.0',
      PORT: '8080',
      CORS_ORIGINS: 'https://app.example.com, http://localhost:5173',
      INTROSPECTION: 'false',
      AUTH0_TIMEOUT_MS: '2500',
      AUTH0_RATE_LIMIT: '16/50',
      AUTH0_MAX_WAIT_MS: '0',
      LOG_LEVEL: 'debug',
      NODE_ENV: 'production',
      DEMO_PAGE: 'true',
      DEMO_CLIENT_ID: 'aBcD1234_spa-client.x',
      GRAPHIQL: 'true',
    });
    expect(config.frontend).toEqual({
      demoPage: true,
      demoClientId: 'aBcD1234_spa-client.x',
      graphiql: true,
    });
    expect(config.auth0.origin).toBe('http://127.0.0.1:4010');
    expect(config.auth0.audience).toBe('https://api.example.com/');
    expect(config.admin).toEqual({
      audience: 'https://admin.example.com',
      permission: 'link:accounts',
      linkPolicy: 'trust',
    });
    expect(config.server).toEqual({
      host: '0.0.0.0',
      port: 8080,
      corsOrigins: ['https://app.example.com', 'http://localhost:5173'],
      introspection: false,
    });
    expect(config.auth0.timeoutMs).toBe(2500);
    expect(config.auth0.rateLimit).toEqual({ perSecond: 16, burst: 50 });
    expect(config.auth0.maxWaitMs).toBe(0);
    expect(config.logLevel).toBe('debug');
  });

  it('reads the cache, drain, trusted-document, admin-limit and webhook variables', () => {
    const config = loadConfig({
      ...base,
      ADMIN_CALLER_RATE_LIMIT: '600/60',
      USER_CACHE_TTL_MS: '0',
      USER_CACHE_MAX: '50',
      SHUTDOWN_TIMEOUT_MS: '3000',
      TRUSTED_DOCUMENTS: 'persisted-documents.json',
      WEBHOOK_URL: 'http://127.0.0.1:9999/hooks',
      WEBHOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      WEBHOOK_RETRY_DELAYS: '500ms,2s,1m,1h,10',
    });
    expect(config.adminCallerRateLimit).toEqual({ count: 600, windowSeconds: 60 });
    expect(config.userCache).toEqual({ ttlMs: 0, max: 50 });
    expect(config.shutdownTimeoutMs).toBe(3000);
    expect(config.trustedDocumentsPath).toBe('persisted-documents.json');
    expect(config.webhook).toEqual({
      url: 'http://127.0.0.1:9999/hooks',
      secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      retryDelaysMs: [500, 2000, 60_000, 3_600_000, 10],
    });
  });

  it('defaults: no admin caller limit, a 30 s read cache, a 25 s drain, no events', () => {
    const config = loadConfig(base);
    expect(config.adminCallerRateLimit).toBeNull();
    expect(config.userCache).toEqual({ ttlMs: 30000, max: 10000 });
    expect(config.shutdownTimeoutMs).toBe(25000);
    expect(config.trustedDocumentsPath).toBeNull();
    expect(config.webhook).toBeNull();
  });

  it('reads the replica variables (DESIGN §10)', () => {
    const config = loadConfig({
      ...base,
      REDIS_URL: 'rediss://:pw@redis.example.com:6380/2',
      REDIS_KEY_PREFIX: 'links-eu:',
      CALLER_RATE_LIMIT: '5/10',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
    });
    expect(config.shared).toEqual({
      redisUrl: 'rediss://:pw@redis.example.com:6380/2',
      redis: { kind: 'standalone', url: 'rediss://:pw@redis.example.com:6380/2', tls: true },
      keyPrefix: 'links-eu:',
    });
    expect(config.callerRateLimit).toEqual({ count: 5, windowSeconds: 10 });
    expect(config.otlpEndpoint).toBe('http://127.0.0.1:4318');
  });

  it.each(['redis://127.0.0.1:6379', 'redis://localhost', 'redis://[::1]:6379/0', 'rediss://10.0.0.5:6380'])(
    'accepts REDIS_URL %s',
    (url) => {
      expect(loadConfig({ ...base, REDIS_URL: url }).shared.redisUrl).toBe(url);
    },
  );

  it('reads a Redis Cluster (REDIS_CLUSTER_NODES) with TLS and an ACL user (DESIGN §10)', () => {
    const config = loadConfig({
      ...base,
      REDIS_CLUSTER_NODES: 'rediss://node-1.example.com:6379, rediss://node-2.example.com',
      REDIS_USERNAME: 'gateway',
      REDIS_PASSWORD: 'pw',
    });
    expect(config.shared.redis).toEqual({
      kind: 'cluster',
      nodes: [
        { host: 'node-1.example.com', port: 6379 },
        { host: 'node-2.example.com', port: 6379 },
      ],
      tls: true,
      username: 'gateway',
      password: 'pw',
    });
    expect(config.shared.redisUrl).toBeNull();
  });

  it('reads Sentinels (REDIS_SENTINELS, REDIS_SENTINEL_MASTER): host:port on loopback, rediss:// elsewhere', () => {
    expect(
      loadConfig({ ...base, REDIS_SENTINELS: '127.0.0.1:26379,localhost', REDIS_SENTINEL_MASTER: 'gw' })
        .shared.redis,
    ).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: '127.0.0.1', port: 26379 },
        { host: 'localhost', port: 26379 },
      ],
      masterName: 'gw',
      tls: false,
    });
    expect(
      loadConfig({ ...base, REDIS_SENTINELS: 'rediss://10.0.0.5:26380', REDIS_SENTINEL_MASTER: 'gw' }).shared
        .redis,
    ).toMatchObject({ kind: 'sentinel', tls: true, sentinels: [{ host: '10.0.0.5', port: 26380 }] });
  });

  it.each([
    [{ REDIS_CLUSTER_NODES: 'redis://10.0.0.5:6379' }, 'REDIS_CLUSTER_NODES'],
    [{ REDIS_CLUSTER_NODES: ' , ' }, 'REDIS_CLUSTER_NODES'],
    [{ REDIS_CLUSTER_NODES: 'rediss://a.example.com,redis://127.0.0.1:7000' }, 'REDIS_CLUSTER_NODES'],
    [{ REDIS_CLUSTER_NODES: 'rediss://a.example.com/2' }, 'REDIS_CLUSTER_NODES'],
    [{ REDIS_SENTINELS: '10.0.0.5:26379', REDIS_SENTINEL_MASTER: 'gw' }, 'REDIS_SENTINELS'],
    [{ REDIS_SENTINELS: '127.0.0.1:26379' }, 'REDIS_SENTINEL_MASTER'],
    [{ REDIS_SENTINEL_MASTER: 'gw' }, 'REDIS_SENTINEL_MASTER'],
    [
      { REDIS_URL: 'redis://127.0.0.1', REDIS_CLUSTER_NODES: 'redis://127.0.0.1:7000' },
      'REDIS_CLUSTER_NODES',
    ],
    [{ REDIS_PASSWORD: 'pw' }, 'REDIS_PASSWORD'],
  ])('refuses the Redis shape %j naming %s', (env, variable) => {
    expect(errorOf({ ...base, ...env }).variable).toBe(variable);
  });

  it('never puts a Redis password in an error message', () => {
    const error = errorOf({ ...base, REDIS_URL: 'redis://:hunter2@redis.example.com:6379' });
    expect(error.variable).toBe('REDIS_URL');
    expect(error.message).not.toContain('hunter2');
  });

  it.each([
    [{ AUTH0_DOMAIN: '' }, 'AUTH0_DOMAIN'],
    [{ AUTH0_CLIENT_ID: '' }, 'AUTH0_CLIENT_ID'],
    [{ AUTH0_CLIENT_SECRET: '' }, 'AUTH0_CLIENT_SECRET'],
    [{ AUTH0_DOMAIN: 'http://tenant.eu.auth0.com' }, 'AUTH0_DOMAIN'],
    [{ AUTH0_DOMAIN: 'https://tenant.eu.auth0.com/some/path' }, 'AUTH0_DOMAIN'],
    [{ AUTH0_DOMAIN: 'ftp://127.0.0.1' }, 'AUTH0_DOMAIN'],
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ INTROSPECTION: 'yes' }, 'INTROSPECTION'],
    [{ ADMIN_LINK_POLICY: 'anything' }, 'ADMIN_LINK_POLICY'],
    [{ ADMIN_PERMISSION: 'two words' }, 'ADMIN_PERMISSION'],
    [{ AUTH0_RATE_LIMIT: '16' }, 'AUTH0_RATE_LIMIT'],
    [{ AUTH0_RATE_LIMIT: '0/50' }, 'AUTH0_RATE_LIMIT'],
    [{ AUTH0_TIMEOUT_MS: '-1' }, 'AUTH0_TIMEOUT_MS'],
    [{ CORS_ORIGINS: 'not a url' }, 'CORS_ORIGINS'],
    [{ CORS_ORIGINS: 'https://app.example.com/path' }, 'CORS_ORIGINS'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ AUTH0_AUDIENCE: 'not a url' }, 'AUTH0_AUDIENCE'],
    [{ DEMO_PAGE: 'on' }, 'DEMO_PAGE'],
    [{ DEMO_CLIENT_ID: 'two words' }, 'DEMO_CLIENT_ID'],
    [{ DEMO_CLIENT_ID: '"><script>' }, 'DEMO_CLIENT_ID'],
    [{ GRAPHIQL: '1' }, 'GRAPHIQL'],
    [{ REDIS_URL: 'not a url' }, 'REDIS_URL'],
    [{ REDIS_URL: 'http://127.0.0.1:6379' }, 'REDIS_URL'],
    [{ REDIS_URL: 'redis://redis.example.com:6379' }, 'REDIS_URL'],
    [{ REDIS_URL: 'rediss://redis.example.com/keys' }, 'REDIS_URL'],
    [{ REDIS_KEY_PREFIX: 'has space' }, 'REDIS_KEY_PREFIX'],
    [{ CALLER_RATE_LIMIT: '30' }, 'CALLER_RATE_LIMIT'],
    [{ CALLER_RATE_LIMIT: '0/60' }, 'CALLER_RATE_LIMIT'],
    [{ CALLER_RATE_LIMIT: '30/0' }, 'CALLER_RATE_LIMIT'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'nope' }, 'OTEL_EXPORTER_OTLP_ENDPOINT'],
    [{ WEBHOOK_URL: 'http://hooks.example.com/x', WEBHOOK_SECRET: 'whsec_abc=' }, 'WEBHOOK_URL'],
    [{ WEBHOOK_URL: 'https://hooks.example.com/x' }, 'WEBHOOK_SECRET'],
    [{ WEBHOOK_SECRET: 'whsec_abc=' }, 'WEBHOOK_URL'],
    [{ WEBHOOK_URL: 'https://h.example.com/', WEBHOOK_SECRET: 'not-a-secret' }, 'WEBHOOK_SECRET'],
    [
      {
        WEBHOOK_URL: 'https://h.example.com/',
        WEBHOOK_SECRET: 'whsec_abc=',
        WEBHOOK_RETRY_DELAYS: '5s,soon',
      },
      'WEBHOOK_RETRY_DELAYS',
    ],
    [{ ADMIN_CALLER_RATE_LIMIT: '0/60' }, 'ADMIN_CALLER_RATE_LIMIT'],
    [{ USER_CACHE_MAX: '0' }, 'USER_CACHE_MAX'],
    [{ SHUTDOWN_TIMEOUT_MS: '-1' }, 'SHUTDOWN_TIMEOUT_MS'],
  ])('refuses %j naming %s', (override, variable) => {
    const error = errorOf({ ...base, ...override });
    expect(error.variable).toBe(variable);
    expect(error.message.startsWith(`${variable}: `)).toBe(true);
  });

  it('keeps the listener open 5 s after a signal by default, 0 s with the embedded emulator', () => {
    expect(loadConfig(base, { embeddedEmulator: false }).shutdownMinDrainMs).toBe(5000);
    expect(loadConfig(base, { embeddedEmulator: true }).shutdownMinDrainMs).toBe(0);
    expect(
      loadConfig({ ...base, SHUTDOWN_MIN_DRAIN_MS: '1500' }, { embeddedEmulator: true }).shutdownMinDrainMs,
    ).toBe(1500);
  });

  it('turns the demo page on by default only with the embedded emulator', () => {
    expect(loadConfig(base, { embeddedEmulator: true }).frontend.demoPage).toBe(true);
    expect(loadConfig(base, { embeddedEmulator: false }).frontend.demoPage).toBe(false);
    expect(loadConfig({ ...base, DEMO_PAGE: 'false' }, { embeddedEmulator: true }).frontend.demoPage).toBe(
      false,
    );
    expect(loadConfig({ ...base, DEMO_PAGE: 'true' }).frontend.demoPage).toBe(true);
  });

  it.each([
    [{}, true],
    [{ INTROSPECTION: 'false' }, false],
    [{ NODE_ENV: 'production' }, false],
    [{ NODE_ENV: 'production', GRAPHIQL: 'true' }, true],
    [{ GRAPHIQL: 'false' }, false],
  ])('GRAPHIQL defaults to INTROSPECTION outside production: %j gives %s', (override, graphiql) => {
    expect(loadConfig({ ...base, ...override }).frontend.graphiql).toBe(graphiql);
  });

  it('never puts the client secret in an error message', () => {
    const error = errorOf({ ...base, AUTH0_CLIENT_SECRET: 'super-secret-value', PORT: 'x' });
    expect(error.message).not.toContain('super-secret-value');
  });
});

describe('toAuth0Origin', () => {
  it.each([
    ['tenant.eu.auth0.com', 'https://tenant.eu.auth0.com'],
    ['https://tenant.eu.auth0.com/', 'https://tenant.eu.auth0.com'],
    ['http://localhost:4010', 'http://localhost:4010'],
    ['http://127.0.0.1:4010', 'http://127.0.0.1:4010'],
    ['http://[::1]:4010', 'http://[::1]:4010'],
  ])('turns %s into %s', (domain, origin) => {
    expect(toAuth0Origin(domain)).toBe(origin);
  });
});
