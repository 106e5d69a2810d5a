import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  DEFAULT_RATE_LIMIT,
  DEMO,
  parseRateLimit,
  RATE_LIMIT_PLANS,
  startAuth0Emulator,
} from '../../../src/auth0-emulator/index.js';
import { call, useEmulator, userPath } from '../../support/emulator-fixture.js';

const CLI = resolve('dist/src/auth0-emulator/cli.js');

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

describe("Auth0's published plan limits", () => {
  it('has the free, enterprise and enterprise-nonprod presets', () => {
    expect(RATE_LIMIT_PLANS).toEqual({
      free: { perSecond: 2, burst: 2 },
      enterprise: { perSecond: 16, burst: 50 },
      'enterprise-nonprod': { perSecond: 2, burst: 10 },
    });
  });

  it.each([
    ['16/50', { perSecond: 16, burst: 50 }],
    ['0.5/3', { perSecond: 0.5, burst: 3 }],
    [' 2 / 10 ', { perSecond: 2, burst: 10 }],
  ])('parses --rate-limit %j', (text, limit) => {
    expect(parseRateLimit(text)).toEqual(limit);
  });

  it.each(['', '16', '16/', '/50', '0/5', '5/0', '5/1.5', 'x/y', '-1/5', '16/50/2'])(
    'refuses --rate-limit %j',
    (text) => {
      expect(() => parseRateLimit(text)).toThrow('expected <per second>/<burst>');
    },
  );

  it('starts in-process with a plan: the free plan answers 429 after its burst of 2', async () => {
    const emulator = await startAuth0Emulator({ plan: 'free', now: () => 1_770_000_000_000 });
    try {
      const token = await emulator.tokens.adminToken();
      const statuses = [];
      for (let i = 0; i < 3; i += 1) {
        const res = await call(emulator, 'GET', '/api/v2/users', { token });
        expect(res.headers.get('x-ratelimit-limit')).toBe('2');
        statuses.push(res.status);
      }
      expect(statuses).toEqual([200, 200, 429]);
    } finally {
      await emulator.close();
    }
  });

  it('refuses a plan together with a rate limit, and an unknown plan', async () => {
    await expect(
      startAuth0Emulator({ plan: 'enterprise', rateLimit: { perSecond: 1, burst: 1 } }),
    ).rejects.toThrow('a plan or a rateLimit, not both');
    await expect(startAuth0Emulator({ plan: 'gold' as 'free' })).rejects.toThrow('unknown plan "gold"');
  });

  /** Runs the CLI; resolves with its output and exit code, or with the origin once it listens. */
  function runCli(args: string[]) {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
    const child = spawn(process.execPath, [CLI, '--port', '0', ...args], {
      env: { PATH: process.env.PATH ?? '' },
    });
    let out = '';
    const collect = (chunk: Buffer) => {
      out += chunk.toString();
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const listening = new Promise<{ origin?: string; code?: number | null; out: string }>((done) => {
      child.stdout.on('data', () => {
        const match = /listening on (http:\/\/\S+)[\s\S]*Management API limit: [^\n]*\n/.exec(out);
        if (match) done({ origin: match[1], out });
      });
      child.on('exit', (code) => done({ code, out }));
    });
    const stop = async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((done) => child.on('exit', done));
      child.kill('SIGTERM');
      await exited;
    };
    return { listening, stop };
  }

  it.each([
    [['--plan', 'enterprise'], '16/s, burst 50 (enterprise plan)', '50'],
    [['--plan', 'enterprise-nonprod'], '2/s, burst 10 (enterprise-nonprod plan)', '10'],
    [['--rate-limit', '3/7'], '3/s, burst 7', '7'],
  ])('runs from the CLI with %j', async (args, printed, header) => {
    const cli = runCli(args);
    try {
      const { origin, out } = await cli.listening;
      expect(out).toContain(`Management API limit: ${printed}`);
      const res = await fetch(`${origin}/api/v2/users`);
      expect(res.status).toBe(401);
      expect(res.headers.get('x-ratelimit-limit')).toBe(header);
    } finally {
      await cli.stop();
    }
  });

  it.each([
    [['--plan', 'gold'], '--plan: one of free, enterprise, enterprise-nonprod, got "gold"'],
    [['--rate-limit', 'fast'], '--rate-limit: expected <per second>/<burst>'],
    [['--plan', 'free', '--rate-limit', '1/1'], 'give --plan or --rate-limit, not both'],
  ])('the CLI refuses %j', async (args, message) => {
    const cli = runCli(args);
    const { code, out } = await cli.listening;
    expect(code).toBe(1);
    expect(out).toContain(message);
  });
});
