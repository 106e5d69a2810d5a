import net from 'node:net';
import { Writable } from 'node:stream';
import type { Config } from '../../../src/config.js';
import { GatewayError } from '../../../src/errors.js';
import { Auth0ManagementApi } from '../../../src/auth0/management-api.js';
import {
  createAuth0Services,
  type Auth0Services,
  type Auth0ServicesOptions,
} from '../../../src/auth0/auth0-services.js';
import { createLogger } from '../../../src/observability/logger.js';
import { createMetrics } from '../../../src/observability/metrics.js';
import {
  DEMO,
  DEMO_SEED,
  journalFingerprint,
  startAuth0Emulator,
  type Auth0Emulator,
} from '../../../src/auth0-emulator/index.js';

const { alice, aliceGoogle, aliceGithub, bob, carol } = DEMO.users;
const silent = createLogger({ level: 'silent' });

let emulator: Auth0Emulator;
const opened: Auth0Services[] = [];

beforeAll(async () => {
  emulator = await startAuth0Emulator({ port: 0 });
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(() => emulator.tenant.reset());
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

function auth0Config(
  target: { origin: string; managementAudience?: string },
  overrides: Partial<Config['auth0']> = {},
) {
  return {
    origin: target.origin,
    issuer: `${target.origin}/`,
    clientId: DEMO.serviceClientId,
    clientSecret: DEMO.serviceClientSecret,
    audience: target.managementAudience ?? `${target.origin}/api/v2/`,
    timeoutMs: 2000,
    rateLimit: null,
    maxWaitMs: 10_000,
    ...overrides,
  };
}

/** Services against the emulator with instant backoff; `delays` records each backoff asked for. */
function setup(overrides: Partial<Config['auth0']> = {}, options: Partial<Auth0ServicesOptions> = {}) {
  const delays: number[] = [];
  const services = createAuth0Services({
    config: auth0Config(emulator, overrides),
    logger: silent,
    delay: async (ms) => {
      delays.push(ms);
    },
    ...options,
  });
  opened.push(services);
  const api = new Auth0ManagementApi(services, { requestId: 'req-1' });
  return { services, api, delays };
}

async function refusal(promise: Promise<unknown>): Promise<GatewayError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(GatewayError);
    return error as GatewayError;
  }
  throw new Error('expected a GatewayError');
}

const service = { kind: 'service' } as const;
const googleBody = { provider: 'google-oauth2', user_id: '108000000000000000001' };
const auth0Error = (statusCode: number, message: string) => ({ statusCode, error: 'Error', message });

describe('Auth0ManagementApi against the emulator', () => {
  describe('each method', () => {
    it('links in admin mode with the service token, encoding the primary id', async () => {
      const { api } = setup();
      const identities = await api.linkIdentity(alice, googleBody, service);
      expect(identities.map((i) => `${i.provider}|${i.user_id}`)).toEqual([alice, aliceGoogle]);
      const [entry] = emulator.journal.entries({ route: 'link' });
      expect(entry.path).toBe('/api/v2/users/auth0%7C6650a1b2c3d4e5f600000001/identities');
      expect(entry.body).toEqual(googleBody);
      expect(entry.status).toBe(201);
    });

    it("links in JWT mode with the caller's token; a numeric GitHub user_id comes through", async () => {
      const { api } = setup();
      const token = await emulator.tokens.userAccessToken({
        sub: alice,
        azp: DEMO.spaClientId,
        scope: 'update:current_user_identities',
      });
      const linkWith = await emulator.tokens.idToken({ sub: aliceGithub, aud: DEMO.spaClientId });
      const identities = await api.linkIdentity(alice, { link_with: linkWith }, { kind: 'user', token });
      const github = identities.find((i) => i.provider === 'github');
      expect(github?.user_id).toBe(4031337);
      expect(emulator.journal.count('token')).toBe(0);
      expect(emulator.journal.entries({ route: 'link' })[0].headers.authorization).toBe(
        `Bearer ${journalFingerprint(token)}`,
      );
    });

    it('unlinks, sending provider and identity id as their own segments', async () => {
      const { api } = setup();
      await api.linkIdentity(alice, { provider: 'github', user_id: '4031337' }, service);
      const remaining = await api.unlinkIdentity(alice, 'github', '4031337', service);
      expect(remaining.map((i) => i.provider)).toEqual(['auth0']);
      const [entry] = emulator.journal.entries({ route: 'unlink' });
      expect(entry.method).toBe('DELETE');
      expect(entry.path).toBe('/api/v2/users/auth0%7C6650a1b2c3d4e5f600000001/identities/github/4031337');
      expect(entry.status).toBe(200);
    });

    it('reads a user, and maps a missing one to NOT_FOUND', async () => {
      const { api } = setup();
      const user = await api.getUser(bob);
      expect(user).toMatchObject({ user_id: bob, email: 'bob@example.com' });
      const error = await refusal(api.getUser('auth0|nobody'));
      expect(error.code).toBe('NOT_FOUND');
      expect(error.extensions.auth0).toEqual({ statusCode: 404, errorCode: 'inexistent_user' });
    });

    it('patches metadata with the service token and answers the updated user', async () => {
      const { api } = setup();
      const user = await api.updateUser(bob, {
        user_metadata: { theme: 'dark' },
        app_metadata: { plan: 'pro' },
      });
      expect(user).toMatchObject({
        user_id: bob,
        user_metadata: { theme: 'dark' },
        app_metadata: { plan: 'pro' },
      });
      const [patch] = emulator.journal.entries({ route: 'update-user' });
      expect(patch).toMatchObject({
        method: 'PATCH',
        path: `/api/v2/users/${encodeURIComponent(bob)}`,
        status: 200,
      });
      expect(patch.body).toEqual({ user_metadata: { theme: 'dark' }, app_metadata: { plan: 'pro' } });
      expect((await refusal(api.updateUser('auth0|nobody', { user_metadata: { a: 1 } }))).code).toBe(
        'NOT_FOUND',
      );
    });

    it('never sends an empty metadata object (Auth0 would wipe it) nor an empty body', async () => {
      const { api } = setup();
      await expect(api.updateUser(bob, { user_metadata: {} })).rejects.toThrow(RangeError);
      await expect(api.updateUser(bob, { user_metadata: { a: 1 }, app_metadata: {} })).rejects.toThrow(
        RangeError,
      );
      await expect(api.updateUser(bob, {})).rejects.toThrow(RangeError);
      expect(emulator.journal.count()).toBe(0);
    });

    it('searches users by email in one query that Auth0 matches regardless of case', async () => {
      emulator.tenant.addUser({
        user_id: 'apple|000111.abc',
        email: 'Alice@Example.com',
        email_verified: true,
      });
      const { api } = setup();
      const users = await api.searchUsersByEmail('ALICE@example.com');
      expect(users.map((u) => u.user_id)).toEqual(
        expect.arrayContaining([alice, aliceGoogle, aliceGithub, 'apple|000111.abc']),
      );
      expect(emulator.journal.entries({ route: 'search-users' })[0].query).toMatchObject({
        q: 'email:"ALICE@example.com"',
        search_engine: 'v3',
      });
    });

    it('searches users by ids in one grouped query', async () => {
      const { api } = setup();
      const users = await api.searchUsersByIds([alice, bob, alice]);
      expect(users.map((u) => u.user_id).sort()).toEqual([alice, bob].sort());
      const [entry] = emulator.journal.entries({ route: 'search-users' });
      expect(entry.query).toMatchObject({
        q: `user_id:("${alice}" OR "${bob}")`,
        search_engine: 'v3',
        per_page: '2',
      });
    });

    it('escapes quotes and backslashes in searched ids, and refuses more than 50 ids', async () => {
      const { api } = setup();
      await api.searchUsersByIds(['auth0|a"b\\c']);
      expect(emulator.journal.entries({ route: 'search-users' })[0].query.q).toBe(
        'user_id:("auth0|a\\"b\\\\c")',
      );
      await expect(api.searchUsersByIds(Array.from({ length: 51 }, (_, i) => `auth0|${i}`))).rejects.toThrow(
        RangeError,
      );
      await expect(api.searchUsersByIds([])).resolves.toEqual([]);
      expect(emulator.journal.count('search-users')).toBe(1);
    });
  });

  describe('validation before any call', () => {
    it.each([
      ['not an Auth0 id', () => setup().api.getUser('nobar')],
      ['dot-dot provider', () => setup().api.unlinkIdentity(alice, '..', '1', service)],
      ['control character', () => setup().api.unlinkIdentity(alice, 'github', '1\n2', service)],
      ['empty identity id', () => setup().api.unlinkIdentity(alice, 'github', '', service)],
      ['bad primary', () => setup().api.linkIdentity('|x', googleBody, service)],
    ])('refuses %s with BAD_USER_INPUT and sends nothing', async (_name, run) => {
      expect((await refusal(run())).code).toBe('BAD_USER_INPUT');
      expect(emulator.journal.count()).toBe(0);
    });

    it('keeps /, ?, # and %2F inside one encoded path segment', async () => {
      const { api } = setup();
      const error = await refusal(api.getUser('auth0|a/b?c#d%2Fe'));
      expect(error.code).toBe('NOT_FOUND');
      expect(emulator.journal.entries({ route: 'get-user' })[0].path).toBe(
        '/api/v2/users/auth0%7Ca%2Fb%3Fc%23d%252Fe',
      );
    });
  });

  describe('Auth0 errors', () => {
    it('maps a self-link to BAD_USER_INPUT / SAME_ACCOUNT', async () => {
      const { api } = setup();
      const error = await refusal(
        api.linkIdentity(alice, { provider: 'auth0', user_id: alice.split('|')[1] }, service),
      );
      expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'SAME_ACCOUNT' });
      expect(error.message).toBe('Auth0 refused the link (400): Main identity and the new one are the same.');
    });

    it('maps a missing secondary to SECONDARY_NOT_FOUND and unlinking the main identity to MAIN_IDENTITY', async () => {
      const { api } = setup();
      const missing = await refusal(api.linkIdentity(alice, { provider: 'github', user_id: '999' }, service));
      expect(missing.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'SECONDARY_NOT_FOUND' });
      const main = await refusal(api.unlinkIdentity(alice, 'auth0', alice.split('|')[1], service));
      expect(main.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'MAIN_IDENTITY' });
    });

    it('maps a user token acting on someone else to FORBIDDEN / SUBJECT_MISMATCH', async () => {
      const { api } = setup();
      const token = await emulator.tokens.userAccessToken({
        sub: bob,
        scope: 'update:current_user_identities',
      });
      const error = await refusal(api.unlinkIdentity(alice, 'github', '4031337', { kind: 'user', token }));
      expect(error.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'SUBJECT_MISMATCH' });
      expect(error.message).not.toContain(token);
    });

    it('maps linking an identity the primary already has to CONFLICT / ALREADY_LINKED', async () => {
      const { api } = setup();
      await api.linkIdentity(alice, googleBody, service);
      const error = await refusal(api.linkIdentity(alice, googleBody, service));
      expect(error.extensions).toMatchObject({
        code: 'CONFLICT',
        reason: 'ALREADY_LINKED',
        auth0: { statusCode: 409, errorCode: null },
      });
    });
  });

  describe('retries', () => {
    it.each([
      ['a 500', { status: 500, body: auth0Error(500, 'Internal error') }],
      ['a socket reset before headers', { destroy: 'before-headers' as const }],
      ['a socket reset after headers', { destroy: 'after-headers' as const }],
    ])('never retries a link after %s', async (_name, fault) => {
      const { api } = setup();
      emulator.faults.add({ route: 'link', times: 3, ...fault });
      const error = await refusal(api.linkIdentity(alice, googleBody, service));
      expect(error.code).toBe('UPSTREAM_ERROR');
      expect(emulator.journal.count('link')).toBe(1);
    });

    it('never retries a link after a timeout', async () => {
      const { api } = setup({ timeoutMs: 300 });
      emulator.faults.add({ route: 'link', latencyMs: 5000 });
      const error = await refusal(api.linkIdentity(alice, googleBody, service));
      expect(error.code).toBe('UPSTREAM_TIMEOUT');
      expect(error.extensions.auth0).toBeUndefined();
      expect(emulator.journal.count('link')).toBe(1);
    });

    it('maps a 201 with unreadable JSON to UPSTREAM_ERROR without retrying', async () => {
      const { api } = setup();
      emulator.faults.add({ route: 'link', malformedJson: true });
      const error = await refusal(api.linkIdentity(alice, googleBody, service));
      expect(error.extensions).toMatchObject({ code: 'UPSTREAM_ERROR', auth0: { statusCode: 201 } });
      expect(emulator.journal.count('link')).toBe(1);
    });

    it('retries a link after a 429 and succeeds', async () => {
      const { api } = setup();
      emulator.faults.add({
        route: 'link',
        status: 429,
        headers: { 'retry-after': '0' },
        body: auth0Error(429, 'Global limit has been reached'),
      });
      const identities = await api.linkIdentity(alice, googleBody, service);
      expect(identities).toHaveLength(2);
      expect(emulator.journal.entries({ route: 'link' }).map((e) => e.status)).toEqual([429, 201]);
    });

    it('gives up with RATE_LIMITED and retryAfter when 429 persists, after eight sends (not the three of other faults)', async () => {
      const { api } = setup();
      emulator.faults.add({
        route: 'link',
        times: 10,
        status: 429,
        headers: { 'retry-after': '0' },
        body: { ...auth0Error(429, 'Global limit has been reached'), errorCode: 'too_many_requests' },
      });
      const error = await refusal(api.linkIdentity(alice, googleBody, service));
      expect(error.extensions).toMatchObject({
        code: 'RATE_LIMITED',
        retryAfter: 1,
        auth0: { statusCode: 429, errorCode: 'too_many_requests' },
      });
      expect(emulator.journal.count('link')).toBe(8);
    });

    it('refuses with RATE_LIMITED / TENANT_LIMIT and retryAfter, sending nothing, when the wait for the tenant budget exceeds maxWaitMs', async () => {
      // One call, then one every 20 s: the second call would wait far longer than 1 s.
      const { api } = setup({ rateLimit: { perSecond: 0.05, burst: 1 }, maxWaitMs: 1000 });
      await api.getUser(bob);
      const error = await refusal(api.getUser(alice));
      expect(error.extensions).toMatchObject({ code: 'RATE_LIMITED', reason: 'TENANT_LIMIT' });
      expect(error.extensions.retryAfter).toBeGreaterThan(1);
      expect(error.extensions.retryAfter).toBeLessThanOrEqual(20);
      expect(emulator.journal.entries({ route: 'get-user' }).map((e) => e.status)).toEqual([200]);
    });

    it('refuses at once with RATE_LIMITED when the Retry-After exceeds the allowed wait', async () => {
      const { api } = setup({ maxWaitMs: 1000 });
      emulator.faults.add({ route: 'get-user', status: 429, headers: { 'retry-after': '30' } });
      const error = await refusal(api.getUser(bob));
      expect(error.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 30 });
      expect(emulator.journal.count('get-user')).toBe(1);
    });

    it('retries a read on 5xx with a backoff that doubles up to its cap, jittered, then succeeds', async () => {
      const { api, delays } = setup(
        {},
        { retry: { readAttempts: 6, backoffBaseMs: 100, backoffMaxMs: 300 } },
      );
      emulator.faults.add({ route: 'get-user', times: 5, status: 503, body: auth0Error(503, 'Unavailable') });
      await expect(api.getUser(bob)).resolves.toMatchObject({ user_id: bob });
      expect(emulator.journal.entries({ route: 'get-user' }).map((e) => e.status)).toEqual([
        503, 503, 503, 503, 503, 200,
      ]);
      // Steps 100, 200, then capped at 300; each delay is 50–100% of its step.
      const steps = [100, 200, 300, 300, 300];
      expect(delays).toHaveLength(steps.length);
      delays.forEach((ms, i) => {
        expect(ms).toBeGreaterThanOrEqual(steps[i] / 2);
        expect(ms).toBeLessThanOrEqual(steps[i]);
      });
      expect(delays[2]).toBeGreaterThan(delays[0]);
    });

    it('retries a read after a reset socket, and stops after three attempts', async () => {
      const { api } = setup();
      emulator.faults.add({ route: 'search-users', destroy: 'before-headers' });
      await expect(api.searchUsersByEmail('bob@example.com')).resolves.toHaveLength(1);
      emulator.journal.clear();
      emulator.faults.add({ route: 'get-user', times: 5, status: 500 });
      expect((await refusal(api.getUser(bob))).code).toBe('UPSTREAM_ERROR');
      expect(emulator.journal.count('get-user')).toBe(3);
    });

    it('retries a metadata PATCH after a 5xx or a lost answer: sending it twice leaves the same user', async () => {
      const { api } = setup();
      emulator.faults.add({ route: 'update-user', destroy: 'after-headers' });
      emulator.faults.add({ route: 'update-user', status: 503 });
      await expect(api.updateUser(bob, { user_metadata: { a: 1 } })).resolves.toMatchObject({
        user_metadata: { a: 1 },
      });
      expect(emulator.journal.entries({ route: 'update-user' }).map((e) => e.status)).toEqual([
        200, 503, 200,
      ]);
    });

    it('retries a write only while the connection is refused', async () => {
      const port = await closedPort();
      const { api, delays } = setup({ origin: `http://127.0.0.1:${port}` } as Partial<Config['auth0']>);
      const error = await refusal(api.linkIdentity(alice, googleBody, { kind: 'user', token: 'user-token' }));
      expect(error.code).toBe('UPSTREAM_ERROR');
      expect(error.message).toContain('ECONNREFUSED');
      expect(delays).toHaveLength(2);
    });
  });

  describe('service token', () => {
    it('fetches one token for many concurrent calls', async () => {
      const { api } = setup();
      await Promise.all([api.getUser(bob), api.getUser(alice), api.searchUsersByEmail('bob@example.com')]);
      expect(emulator.journal.count('token')).toBe(1);
      expect(emulator.journal.entries({ route: 'token' })[0].body).toMatchObject({
        grant_type: 'client_credentials',
        client_id: DEMO.serviceClientId,
        audience: emulator.managementAudience,
      });
    });

    it('gives up a bounded read (the read-back) at its deadline while the service token is still coming', async () => {
      const { api } = setup({ timeoutMs: 2000 });
      emulator.faults.add({ route: 'token', latencyMs: 1500 });
      const error = await refusal(api.getUser(bob, service, { withinMs: 200 }));
      expect(error.code).toBe('UPSTREAM_TIMEOUT');
      // Refused while the token request was unanswered: the read did not wait for it.
      const [tokenRequest] = emulator.journal.entries({ route: 'token' });
      expect(tokenRequest.status).toBe(0);
      expect(emulator.journal.count('get-user')).toBe(0);
    });

    it('refreshes the token once after a 401 and retries', async () => {
      const { api } = setup();
      await api.getUser(bob);
      emulator.faults.add({ route: 'get-user', status: 401, body: auth0Error(401, 'Invalid token') });
      await expect(api.getUser(bob)).resolves.toMatchObject({ user_id: bob });
      expect(emulator.journal.count('token')).toBe(2);
      expect(emulator.journal.entries({ route: 'get-user' }).map((e) => e.status)).toEqual([200, 401, 200]);
    });

    it('gives up after the refreshed token is refused too, as an upstream fault', async () => {
      const { api } = setup();
      emulator.faults.add({
        route: 'get-user',
        times: 2,
        status: 401,
        body: auth0Error(401, 'Invalid token'),
      });
      const error = await refusal(api.getUser(bob));
      expect(error.extensions).toMatchObject({ code: 'UPSTREAM_ERROR', auth0: { statusCode: 401 } });
      expect(emulator.journal.count('token')).toBe(2);
      expect(emulator.journal.count('get-user')).toBe(2);
    });

    it('maps a wrong client secret to UPSTREAM_ERROR without the secret', async () => {
      const { api } = setup({ clientSecret: 'wrong-secret-value-0123456789' });
      const error = await refusal(api.getUser(bob));
      expect(error.code).toBe('UPSTREAM_ERROR');
      expect(error.extensions.auth0).toMatchObject({ statusCode: 401 });
      expect(JSON.stringify({ m: error.message, e: error.extensions, c: error.cause })).not.toContain(
        'wrong-secret',
      );
      expect(emulator.journal.count('get-user')).toBe(0);
    });
  });

  it('strips provider tokens from identities even when Auth0 sends them', async () => {
    const seed = structuredClone(DEMO_SEED);
    const gateway = seed.clients.find((c) => c.client_id === DEMO.serviceClientId);
    gateway?.scopes?.push('read:user_idp_tokens');
    const withTokens = await startAuth0Emulator({ port: 0, seed });
    try {
      const services = createAuth0Services({ config: auth0Config(withTokens), logger: silent });
      opened.push(services);
      const api = new Auth0ManagementApi(services, { requestId: 'r' });
      const user = await api.getUser(aliceGoogle);
      expect(user.identities?.[0]).toMatchObject({
        provider: 'google-oauth2',
        user_id: '108000000000000000001',
      });
      const text = JSON.stringify(user);
      for (const key of ['access_token', 'refresh_token', 'access_token_secret'])
        expect(text).not.toContain(key);
      expect(withTokens.tenant.getUser(aliceGoogle)?.identities[0].access_token).toBeDefined();
      const [fromSearch] = await api.searchUsersByIds([aliceGithub]);
      expect(JSON.stringify(fromSearch)).not.toContain('gho_');
    } finally {
      await withTokens.close();
    }
  });

  it('rejects an identities answer of an unexpected shape as UPSTREAM_ERROR', async () => {
    const { api } = setup();
    emulator.faults.add({ route: 'link', status: 201, body: [{ provider: 'auth0' }] });
    expect((await refusal(api.linkIdentity(alice, googleBody, service))).code).toBe('UPSTREAM_ERROR');
    emulator.faults.add({ route: 'get-user', status: 200, body: { email: 'x' } });
    expect((await refusal(api.getUser(bob))).code).toBe('UPSTREAM_ERROR');
  });

  it('paces calls with a configured budget so that Auth0 never answers 429', async () => {
    emulator.setRateLimit({ perSecond: 100, burst: 5 });
    try {
      const { api } = setup({ rateLimit: { perSecond: 100, burst: 5 } });
      await api.getUser(bob); // the service token first, outside the budget
      const users = await Promise.all(Array.from({ length: 15 }, () => api.getUser(bob)));
      expect(users).toHaveLength(15);
      const statuses = emulator.journal.entries({ route: 'get-user' }).map((e) => e.status);
      expect(statuses.filter((s) => s === 429)).toEqual([]);
    } finally {
      emulator.setRateLimit(false);
    }
  });

  it('learns the bucket from x-ratelimit headers', async () => {
    emulator.setRateLimit({ perSecond: 50, burst: 10 });
    try {
      const { api, services } = setup();
      await api.getUser(bob);
      await api.getUser(alice);
      expect(services.budget.stats()).toMatchObject({ burst: 10 });
      expect(services.budget.stats().ratePerSecond).toBeGreaterThan(0);
    } finally {
      emulator.setRateLimit(false);
    }
  });

  it('logs each call at debug with the route template, never ids or tokens', async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _e, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger({ level: 'debug', destination });
    const metrics = createMetrics({ defaultMetrics: false });
    const { api } = setup({}, { logger, metrics });
    const token = await emulator.tokens.userAccessToken({
      sub: alice,
      scope: 'update:current_user_identities',
    });
    await api
      .linkIdentity(
        alice,
        { link_with: await emulator.tokens.idToken({ sub: bob, aud: DEMO.spaClientId }) },
        {
          kind: 'user',
          token,
        },
      )
      .catch(() => undefined);
    await api.getUser(carol);
    const text = lines.join('');
    expect(text).toContain('/api/v2/users/{id}/identities');
    expect(text).toContain('"requestId":"req-1"');
    for (const secret of [alice, bob, carol, token, DEMO.serviceClientSecret, 'Bearer'])
      expect(text).not.toContain(secret);
    const exposition = await metrics.registry.metrics();
    expect(exposition).toContain('auth0_requests_total{endpoint="get-user",method="GET",status="200"} 1');
    expect(exposition).toContain('auth0_token_fetches_total{outcome="success"} 1');
  });

  describe('checkReadiness', () => {
    it('reports JWKS availability without asking for a token', async () => {
      const { services } = setup();
      await expect(services.checkReadiness()).resolves.toEqual({ jwks: true });
      expect(emulator.journal.count('token')).toBe(0);
    });

    it('reports failures without throwing', async () => {
      const { services } = setup();
      emulator.faults.add({ route: 'jwks', status: 500 });
      await expect(services.checkReadiness()).resolves.toEqual({ jwks: false });
    });

    it('reports an unreachable origin as not ready', async () => {
      const port = await closedPort();
      const { services } = setup({ origin: `http://127.0.0.1:${port}` } as Partial<Config['auth0']>);
      await expect(services.checkReadiness()).resolves.toEqual({ jwks: false });
    });
  });
});

/** A loopback port nobody listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
