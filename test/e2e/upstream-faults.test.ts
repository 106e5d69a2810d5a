import { DEMO } from '../../src/auth0-emulator/index.js';
import { LinkAccountsDocument, UserDocument } from '../generated/graphql.js';
import { codesOf, execute } from '../support/graphql-client.js';
import { startHarness, type Harness } from '../support/harness.js';

const { alice, aliceGithub } = DEMO.users;

describe('upstream faults end as DESIGN §4 codes and the server keeps serving', () => {
  let h: Harness;

  beforeEach(async () => {
    // A fresh gateway each time: no cached service token or signing keys.
    h = await startHarness({ env: { AUTH0_TIMEOUT_MS: '500' } });
  });
  afterEach(() => h.close());

  const adminLink = async () =>
    execute(
      h.url,
      LinkAccountsDocument,
      { primaryId: alice, input: { admin: { provider: 'github', userId: aliceGithub } } },
      { token: await h.emulator.tokens.adminToken({ scope: 'update:users' }) },
    );

  it.each<[string, string, Parameters<Harness['emulator']['faults']['add']>[0]]>([
    ['a 500', 'UPSTREAM_ERROR', { route: 'token', status: 500, body: { error: 'server_error' }, times: 10 }],
    [
      'a 401 (bad client secret)',
      'UPSTREAM_ERROR',
      {
        route: 'token',
        status: 401,
        body: { error: 'access_denied', error_description: 'Unauthorized' },
        times: 10,
      },
    ],
    ['a reset socket', 'UPSTREAM_ERROR', { route: 'token', destroy: 'before-headers', times: 10 }],
    ['no answer in time', 'UPSTREAM_TIMEOUT', { route: 'token', latencyMs: 3000, times: 10 }],
  ])(
    'maps a token endpoint failing with %s to %s NOT_APPLIED, then recovers',
    async (_title, code, fault) => {
      h.emulator.faults.add(fault);
      const failed = await adminLink();
      expect(codesOf(failed)).toEqual([code]);
      // The link was never sent: the client may retry as it is (DESIGN §4).
      expect(failed.body.errors?.[0]?.extensions?.reason).toBe('NOT_APPLIED');
      expect(failed.text).not.toContain(DEMO.serviceClientSecret);
      expect(h.emulator.journal.count('link')).toBe(0);

      h.emulator.faults.clear();
      const recovered = await adminLink();
      expect(recovered.body.errors).toBeUndefined();
    },
  );

  it.each<[string, string, Parameters<Harness['emulator']['faults']['add']>[0]]>([
    [
      'a 503',
      'UPSTREAM_ERROR',
      { route: 'get-user', status: 503, body: { statusCode: 503, error: 'x', message: 'y' }, times: 10 },
    ],
    ['no answer in time', 'UPSTREAM_TIMEOUT', { route: 'get-user', latencyMs: 3000, times: 10 }],
  ])(
    'answers an admin link whose policy reads fail with %s as %s NOT_APPLIED, sending no link',
    async (_title, code, fault) => {
      h.emulator.faults.add(fault);
      const failed = await adminLink();
      expect(failed.body.errors?.map((e) => [e.extensions?.code, e.extensions?.reason])).toEqual([
        [code, 'NOT_APPLIED'],
      ]);
      expect(h.emulator.journal.count('get-user')).toBeGreaterThan(1);
      expect(h.emulator.journal.count('link')).toBe(0);
    },
  );

  it('answers UNAUTHENTICATED while the JWKS is unreachable, and recovers', async () => {
    const token = await h.emulator.tokens.userAccessToken({ sub: alice });
    h.emulator.faults.add({ route: 'jwks', status: 503, body: { error: 'down' }, times: 100 });
    const failed = await execute(h.url, UserDocument, { id: alice }, { token });
    expect(codesOf(failed)).toEqual(['UNAUTHENTICATED']);
    expect(failed.body.errors?.[0]?.message).toMatch(/signing keys/i);

    h.emulator.faults.clear();
    const recovered = await execute(h.url, UserDocument, { id: alice }, { token });
    expect(recovered.body.data?.user?.id).toBe(alice);
  });

  it.each<[string, string, Parameters<Harness['emulator']['faults']['add']>[0]]>([
    [
      'a 503',
      'UPSTREAM_ERROR',
      { route: 'get-user', status: 503, body: { statusCode: 503, error: 'x', message: 'y' }, times: 10 },
    ],
    ['no answer in time', 'UPSTREAM_TIMEOUT', { route: 'get-user', latencyMs: 3000, times: 10 }],
  ])('maps a read failing with %s to %s after its retries', async (_title, code, fault) => {
    const token = await h.emulator.tokens.userAccessToken({ sub: alice });
    h.emulator.faults.add(fault);
    const result = await execute(h.url, UserDocument, { id: alice }, { token });
    expect(codesOf(result)).toEqual([code]);
    // Reads are retried (DESIGN §8): more than one attempt reached the emulator.
    expect(h.emulator.journal.count('get-user')).toBeGreaterThan(1);
  });

  it('maps an unreadable 200 to UPSTREAM_ERROR without retrying it (not a 429, 5xx or network error)', async () => {
    const token = await h.emulator.tokens.userAccessToken({ sub: alice });
    h.emulator.faults.add({ route: 'get-user', malformedJson: true });
    const result = await execute(h.url, UserDocument, { id: alice }, { token });
    expect(codesOf(result)).toEqual(['UPSTREAM_ERROR']);
    expect(h.emulator.journal.count('get-user')).toBe(1);
  });

  it('retries a read that fails once and succeeds', async () => {
    const token = await h.emulator.tokens.userAccessToken({ sub: alice });
    h.emulator.faults.add({
      route: 'get-user',
      status: 502,
      body: { statusCode: 502, error: 'x', message: 'y' },
    });
    const result = await execute(h.url, UserDocument, { id: alice }, { token });
    expect(result.body.data?.user?.id).toBe(alice);
    expect(h.emulator.journal.entries({ route: 'get-user' }).map((e) => e.status)).toEqual([502, 200]);
  });
});
