import { DEFAULT_RATE_LIMIT, DEMO } from '../../../src/auth0-emulator/index.js';
import { call, useEmulator, userPath } from '../../support/emulator-fixture.js';

// A controllable clock: the bucket's arithmetic is asserted, never wall time.
let nowMs = 1_750_000_000_000;

function rateHeaders(headers: Headers) {
  return {
    limit: headers.get('x-ratelimit-limit'),
    remaining: headers.get('x-ratelimit-remaining'),
    reset: headers.get('x-ratelimit-reset'),
    retryAfter: headers.get('retry-after'),
  };
}

describe('Management API rate limiting', () => {
  const emulator = useEmulator({ rateLimit: { perSecond: 2, burst: 3 }, now: () => nowMs });

  beforeEach(() => {
    nowMs = 1_750_000_000_000;
    emulator().tenant.reset();
  });

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

  it('can be switched to the default bucket and back at runtime; reset refills the bucket', async () => {
    const e = emulator();
    const token = await e.tokens.adminToken();
    e.setRateLimit(false);
    const open = await call(e, 'GET', '/api/v2/users', { token });
    expect(open.headers.get('x-ratelimit-limit')).toBe('10000');
    e.setRateLimit({ perSecond: 1, burst: 1 });
    expect((await call(e, 'GET', '/api/v2/users', { token })).status).toBe(200);
    expect((await call(e, 'GET', '/api/v2/users', { token })).status).toBe(429);
    e.tenant.reset();
    expect((await call(e, 'GET', '/api/v2/users', { token })).status).toBe(200);
    expect(e.journal.count('search-users')).toBe(1);
    e.setRateLimit({ perSecond: 2, burst: 3 });
  });
});

let clock = 1_760_000_000_000;

describe('Management API with no configured limit (the default bucket)', () => {
  const emulator = useEmulator({ now: () => clock });

  it('is generous: 10,000 per second with a burst of 10,000', () => {
    expect(DEFAULT_RATE_LIMIT).toEqual({ perSecond: 10_000, burst: 10_000 });
  });

  it('sends truthful x-ratelimit headers on every Management API response, errors included', async () => {
    const e = emulator();
    const admin = await e.tokens.adminToken();
    const alice = await e.tokens.userAccessToken({ sub: DEMO.users.alice });
    const googleIdToken = await e.tokens.idToken({ sub: DEMO.users.aliceGoogle });
    const requests: [string, string, string, Parameters<typeof call>[3], number][] = [
      ['GET user', 'GET', userPath(DEMO.users.bob), { token: admin }, 200],
      ['search', 'GET', `/api/v2/users?q=${encodeURIComponent('email:"bob@example.com"')}`, { token: admin }, 200],
      ['by email', 'GET', '/api/v2/users-by-email?email=bob%40example.com', { token: admin }, 200],
      ['link', 'POST', userPath(DEMO.users.alice, '/identities'), { token: alice, json: { link_with: googleIdToken } }, 201],
      ['unlink', 'DELETE', userPath(DEMO.users.alice, '/identities/google-oauth2/108000000000000000001'), { token: alice }, 200],
      ['update user', 'PATCH', userPath(DEMO.users.bob), { token: admin, json: { user_metadata: { a: 1 } } }, 200],
      ['401 without a token', 'GET', userPath(DEMO.users.bob), {}, 401],
      ['403 for a missing scope', 'GET', '/api/v2/users', { token: alice }, 403],
      ['404 for a missing user', 'GET', userPath('auth0|nobody'), { token: admin }, 404],
      ['400 for a bad link body', 'POST', userPath(DEMO.users.alice, '/identities'), { token: admin, json: {} }, 400],
      ['409 for a link already made', 'POST', userPath(DEMO.users.alice, '/identities'),
        { token: admin, json: { provider: 'github', user_id: '4031337' } }, 201],
      ['409 for a link already made', 'POST', userPath(DEMO.users.alice, '/identities'),
        { token: admin, json: { provider: 'github', user_id: '4031337' } }, 409],
      ['404 for an unknown Management route', 'GET', '/api/v2/clients', { token: admin }, 404],
    ]; // prettier-ignore
    for (const [i, [title, method, path, options, status]] of requests.entries()) {
      clock += 10_000; // the bucket is full again: each response shows one token spent
      const res = await call(e, method, path, options);
      expect([title, res.status]).toEqual([title, status]);
      expect([title, rateHeaders(res.headers)]).toEqual([
        title,
        {
          limit: '10000',
          remaining: '9999',
          // One token refills in 0.1 ms: full again within the current second, rounded up.
          reset: String(Math.ceil(clock / 1000 + 1 / 10_000)),
          retryAfter: null,
        },
      ]);
      expect(e.journal.entries()[i].status).toBe(status);
    }
  });

  it('counts down within a burst', async () => {
    const e = emulator();
    const token = await e.tokens.adminToken();
    const remaining = [];
    for (let i = 0; i < 3; i += 1) {
      remaining.push((await call(e, 'GET', '/api/v2/users', { token })).headers.get('x-ratelimit-remaining'));
    }
    expect(remaining).toEqual(['9999', '9998', '9997']);
  });

  it('leaves the authentication endpoints without x-ratelimit headers', async () => {
    const e = emulator();
    for (const path of ['/.well-known/jwks.json', '/.well-known/openid-configuration']) {
      expect((await call(e, 'GET', path)).headers.get('x-ratelimit-limit')).toBeNull();
    }
  });
});
