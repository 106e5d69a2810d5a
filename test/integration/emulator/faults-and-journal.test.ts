import { DEMO, journalFingerprint, type FaultRule } from '../../../src/auth0-emulator/index.js';
import type { RouteName } from '../../../src/auth0-emulator/types.js';
import { call, useEmulator, userPath, type CallResult } from '../../support/emulator-fixture.js';
import { waitFor } from '../../support/gateway-process.js';

describe('fault injection', () => {
  const emulator = useEmulator();

  it.each([
    ['a status and body', { route: 'get-user', status: 503, body: { statusCode: 503, error: 'Service Unavailable' } },
      503, { statusCode: 503, error: 'Service Unavailable' }],
    ['headers alone (500)', { route: 'get-user', headers: { 'retry-after': '7' } }, 500, null],
    ['a 429 with Retry-After', { route: '*', status: 429, headers: { 'retry-after': '2' },
      body: { statusCode: 429, error: 'Too Many Requests', message: 'Global limit has been reached' } },
      429, { statusCode: 429, error: 'Too Many Requests', message: 'Global limit has been reached' }],
  ] as [string, FaultRule, number, unknown][])('answers with %s instead of the route', async (_t, rule, status, body) => {
    const e = emulator();
    e.faults.add(rule);
    const token = await e.tokens.adminToken();
    // The rule scripts the answer: it is not the emulator's to hold to Auth0's contract.
    const faulted = await call(e, 'GET', userPath(DEMO.users.bob), { token, contract: false });
    expect(faulted.status).toBe(status);
    expect(faulted.body).toEqual(body);
    for (const [name, value] of Object.entries(rule.headers ?? {})) expect(faulted.headers.get(name)).toBe(value);
    expect((await call(e, 'GET', userPath(DEMO.users.bob), { token })).status).toBe(200);
  }); // prettier-ignore

  it('applies a rule `times` times, only to its route, in the order rules were added', async () => {
    const e = emulator();
    e.faults.add({ route: 'link', status: 502, times: 2 });
    e.faults.add({ route: 'link', status: 504 });
    const token = await e.tokens.adminToken();
    const statuses = [];
    expect((await call(e, 'GET', userPath(DEMO.users.bob), { token })).status).toBe(200);
    for (let i = 0; i < 4; i += 1) {
      const res = await call(e, 'POST', userPath(DEMO.users.alice, '/identities'), {
        token,
        json: { provider: 'auth0', user_id: '6650a1b2c3d4e5f600000002' },
        contract: false,
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([502, 502, 504, 201]);
    expect(e.journal.entries({ route: 'link' }).map((entry) => entry.status)).toEqual([502, 502, 504, 201]);
  });

  it.each([
    ['a 503', { status: 503 }, 503],
    ['a reset before headers', { destroy: 'before-headers' }, 0],
    ['bad JSON', { malformedJson: true }, 201],
  ] as [string, Partial<FaultRule>, number][])(
    'applies first, then fails with %s: the link is in the tenant, the journal says so',
    async (_t, fault, wireStatus) => {
      const e = emulator();
      e.faults.add({ route: 'link', applyFirst: true, ...fault });
      const token = await e.tokens.adminToken();
      const secondary = DEMO.users.aliceGithub;
      const [provider, userId] = [
        secondary.slice(0, secondary.indexOf('|')),
        secondary.slice(secondary.indexOf('|') + 1),
      ];
      await call(e, 'POST', userPath(DEMO.users.alice, '/identities'), {
        token,
        json: { provider, user_id: userId },
        contract: false,
      }).catch(() => undefined);
      expect(e.journal.entries({ route: 'link' })).toEqual([
        expect.objectContaining({ status: wireStatus, appliedStatus: 201 }),
      ]);
      const primary = await call(e, 'GET', userPath(DEMO.users.alice), { token });
      expect(
        (primary.body as { identities: { provider: string }[] }).identities.map((i) => i.provider),
      ).toContain(provider);
      expect((await call(e, 'GET', userPath(secondary), { token })).status).toBe(404);
    },
  );

  // Long enough that an undelayed request answered meanwhile cannot lose the race on a busy machine.
  const LATENCY_MS = 800;

  /**
   * Asserts `pending` is held back: its journal entry exists with no answer yet (status 0) while an
   * undelayed request to another route is answered. Returns the held-back response.
   */
  async function expectHeldBack(pending: Promise<CallResult>, route: RouteName): Promise<CallResult> {
    const e = emulator();
    let settled = false;
    const tracked = pending.finally(() => {
      settled = true;
    });
    await waitFor(async () => e.journal.count(route) === 1, 5000, `${route} request received`);
    expect(e.journal.entries({ route })[0].status).toBe(0);
    expect((await call(e, 'GET', '/.well-known/openid-configuration')).status).toBe(200);
    expect(settled).toBe(false);
    expect(e.journal.entries({ route })[0].status).toBe(0);
    return tracked;
  }

  it('applies first, then answers the real response after latencyMs', async () => {
    const e = emulator();
    e.faults.add({ route: 'update-user', applyFirst: true, latencyMs: LATENCY_MS });
    const token = await e.tokens.adminToken();
    const pending = call(e, 'PATCH', userPath(DEMO.users.bob), {
      token,
      json: { user_metadata: { k: 1 } },
    });
    const res = await expectHeldBack(pending, 'update-user');
    expect(res.status).toBe(200);
    expect(e.journal.entries({ route: 'update-user' })).toEqual([
      expect.objectContaining({ status: 200, appliedStatus: 200 }),
    ]);
    expect(e.tenant.getUser(DEMO.users.bob)?.user_metadata).toEqual({ k: 1 });
  });

  it('delays the normal response by latencyMs and still answers', async () => {
    const e = emulator();
    e.faults.add({ route: 'jwks', latencyMs: LATENCY_MS });
    const res = await expectHeldBack(call(e, 'GET', '/.well-known/jwks.json'), 'jwks');
    expect(res.status).toBe(200);
    expect((res.body as { keys: unknown[] }).keys).toHaveLength(1);
    expect(e.journal.entries({ route: 'jwks' })[0].status).toBe(200);
  });

  it('delays a faulted response too', async () => {
    const e = emulator();
    e.faults.add({ route: 'token', latencyMs: LATENCY_MS, status: 500, body: { error: 'server_error' } });
    const pending = call(e, 'POST', '/oauth/token', { form: { grant_type: 'client_credentials' } });
    const res = await expectHeldBack(pending, 'token');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: 'server_error' });
  });

  it('destroys the socket before headers: the client sees a socket error', async () => {
    const e = emulator();
    e.faults.add({ route: 'token', destroy: 'before-headers' });
    await expect(fetch(`${e.origin}/oauth/token`, { method: 'POST' })).rejects.toThrow('fetch failed');
    expect(e.journal.entries({ route: 'token' })).toEqual([expect.objectContaining({ status: 0 })]);
    expect((await call(e, 'POST', '/oauth/token', { form: {} })).status).toBe(400);
  });

  it('destroys the socket after headers: the status arrives but the body fails', async () => {
    const e = emulator();
    e.faults.add({ route: 'get-user', destroy: 'after-headers' });
    const token = await e.tokens.adminToken();
    const res = await fetch(`${e.origin}${userPath(DEMO.users.bob)}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
  });

  it.each([
    ['get-user', 'GET', 200],
    ['link', 'POST', 201],
  ] as const)(
    'answers %s with a body that is not JSON when malformedJson is set',
    async (route, method, status) => {
      const e = emulator();
      e.faults.add({ route, malformedJson: true });
      const token = await e.tokens.adminToken();
      const path = route === 'link' ? userPath(DEMO.users.alice, '/identities') : userPath(DEMO.users.bob);
      const res = await call(e, method, path, {
        token,
        json: method === 'POST' ? { link_with: 'x' } : undefined,
        contract: false,
      });
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(() => JSON.parse(res.text)).toThrow(SyntaxError);
      expect(e.tenant.getUser(DEMO.users.bob)).toBeDefined();
    },
  );

  it('forgets its rules on clear() and on tenant.reset()', async () => {
    const e = emulator();
    e.faults.add({ route: '*', status: 500 });
    e.faults.clear();
    expect((await call(e, 'GET', '/.well-known/jwks.json')).status).toBe(200);
    e.faults.add({ route: '*', status: 500 });
    e.tenant.reset();
    expect((await call(e, 'GET', '/.well-known/jwks.json')).status).toBe(200);
  });

  it('refuses a rule with a non-positive times', () => {
    expect(() => emulator().faults.add({ route: 'token', status: 500, times: 0 })).toThrow(/times/);
  });
});

describe('request journal', () => {
  const emulator = useEmulator();

  it('records route, method, raw path, query, headers, parsed body and status', async () => {
    const e = emulator();
    const token = await e.tokens.adminToken();
    await call(e, 'POST', userPath(DEMO.users.alice, '/identities'), {
      token,
      json: { provider: 'github', user_id: 4031337 },
    });
    await call(e, 'GET', '/api/v2/users-by-email?email=bob%40example.com&fields=user_id', { token });
    await call(e, 'POST', '/oauth/token', { form: { grant_type: 'client_credentials', client_id: 'x' } });
    await call(e, 'POST', '/oauth/token', { rawJson: '{oops' });

    const [link] = e.journal.entries({ route: 'link' });
    expect(link).toEqual({
      route: 'link',
      method: 'POST',
      path: '/api/v2/users/auth0%7C6650a1b2c3d4e5f600000001/identities',
      query: {},
      headers: expect.objectContaining({
        authorization: `Bearer ${journalFingerprint(token)}`,
        'content-type': 'application/json',
      }),
      body: { provider: 'github', user_id: 4031337 },
      status: 201,
    });
    expect(e.journal.entries({ route: 'users-by-email' })[0]).toMatchObject({
      method: 'GET',
      query: { email: 'bob@example.com', fields: 'user_id' },
      body: undefined,
      status: 200,
    });
    expect(e.journal.entries({ route: 'token' }).map((entry) => entry.body)).toEqual([
      { grant_type: 'client_credentials', client_id: 'x' },
      '{oops',
    ]);
    expect(e.journal.count()).toBe(4);
    expect(e.journal.count('token')).toBe(2);
    expect(e.journal.entries({ method: 'get' })).toHaveLength(1);
    e.journal.clear();
    expect(e.journal.count()).toBe(0);
  });
});
