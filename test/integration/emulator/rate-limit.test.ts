import { DEMO } from '../../../src/auth0-emulator/index.js';
import { call, useEmulator, userPath } from '../../support/emulator-fixture.js';

// A controllable clock: the bucket's arithmetic is asserted, never wall time.
let nowMs = 1_750_000_000_000;

describe('Management API rate limiting', () => {
  const emulator = useEmulator({ rateLimit: { perSecond: 2, burst: 3 }, now: () => nowMs });

  beforeEach(() => {
    nowMs = 1_750_000_000_000;
    emulator().tenant.reset();
  });

  function rateHeaders(headers: Headers) {
    return {
      limit: headers.get('x-ratelimit-limit'),
      remaining: headers.get('x-ratelimit-remaining'),
      reset: headers.get('x-ratelimit-reset'),
      retryAfter: headers.get('retry-after'),
    };
  }

  it('counts down the burst, then answers 429 with Auth0 headers and body on every route', async () => {
    const e = emulator();
    const token = await e.tokens.adminToken();
    const nowSeconds = nowMs / 1000;
    const paths = [
      userPath(DEMO.users.bob),
      '/api/v2/users-by-email?email=bob%40example.com',
      '/api/v2/users',
    ];
    const seen = [];
    for (const path of paths) seen.push(rateHeaders((await call(e, 'GET', path, { token })).headers));
    // Each call empties one token; the bucket is full again after (burst - tokens) / perSecond seconds.
    expect(seen).toEqual([
      { limit: '3', remaining: '2', reset: String(nowSeconds + 1), retryAfter: null },
      { limit: '3', remaining: '1', reset: String(nowSeconds + 1), retryAfter: null },
      { limit: '3', remaining: '0', reset: String(nowSeconds + 2), retryAfter: null },
    ]);
    const limited = await call(e, 'GET', userPath(DEMO.users.bob), { token });
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({
      statusCode: 429,
      error: 'Too Many Requests',
      message: 'Global limit has been reached',
      errorCode: 'too_many_requests',
    });
    expect(rateHeaders(limited.headers)).toEqual({
      limit: '3',
      remaining: '0',
      reset: String(nowSeconds + 2),
      retryAfter: null,
    });
    expect(e.journal.entries().map((entry) => entry.status)).toEqual([200, 200, 200, 429]);
  });

  it('refills at perSecond and never above the burst', async () => {
    const e = emulator();
    const token = await e.tokens.adminToken();
    for (let i = 0; i < 3; i += 1) await call(e, 'GET', '/api/v2/users', { token });
    nowMs += 500; // one token back
    const refilled = await call(e, 'GET', '/api/v2/users', { token });
    expect(refilled.status).toBe(200);
    expect(refilled.headers.get('x-ratelimit-remaining')).toBe('0');
    nowMs += 60_000;
    const full = await call(e, 'GET', '/api/v2/users', { token });
    expect(full.headers.get('x-ratelimit-remaining')).toBe('2');
  });

  it('puts the headers on error responses too, and counts unauthenticated calls', async () => {
    const e = emulator();
    const res = await call(e, 'GET', userPath(DEMO.users.bob));
    expect(res.status).toBe(401);
    expect(res.headers.get('x-ratelimit-remaining')).toBe('2');
  });

  it('leaves /oauth/token and discovery out of the Management bucket', async () => {
    const e = emulator();
    for (let i = 0; i < 5; i += 1) {
      const res = await call(e, 'GET', '/.well-known/jwks.json');
      expect(res.status).toBe(200);
      expect(res.headers.get('x-ratelimit-limit')).toBeNull();
    }
    const token = await e.tokens.adminToken();
    expect((await call(e, 'GET', '/api/v2/users', { token })).headers.get('x-ratelimit-remaining')).toBe('2');
  });

  it('can be switched off and on at runtime; reset refills the bucket', async () => {
    const e = emulator();
    const token = await e.tokens.adminToken();
    e.setRateLimit(false);
    const open = await call(e, 'GET', '/api/v2/users', { token });
    expect(open.headers.get('x-ratelimit-limit')).toBeNull();
    e.setRateLimit({ perSecond: 1, burst: 1 });
    expect((await call(e, 'GET', '/api/v2/users', { token })).status).toBe(200);
    expect((await call(e, 'GET', '/api/v2/users', { token })).status).toBe(429);
    e.tenant.reset();
    expect((await call(e, 'GET', '/api/v2/users', { token })).status).toBe(200);
    expect(e.journal.count('search-users')).toBe(1);
    e.setRateLimit({ perSecond: 2, burst: 3 });
  });
});

describe('Management API without rate limiting', () => {
  const emulator = useEmulator();

  it('sends no x-ratelimit headers by default', async () => {
    const e = emulator();
    const res = await call(e, 'GET', '/api/v2/users', { token: await e.tokens.adminToken() });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-ratelimit-limit')).toBeNull();
    expect(res.headers.get('x-ratelimit-remaining')).toBeNull();
    expect(res.headers.get('x-ratelimit-reset')).toBeNull();
  });
});
