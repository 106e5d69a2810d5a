import type { Auth0HttpClient, Auth0HttpRequest, Auth0HttpResponse } from '../../../src/auth0/http-client.js';
import { ServiceTokenProvider } from '../../../src/auth0/token-provider.js';
import { GatewayError } from '../../../src/errors.js';
import type { ServiceTokenSlot, SharedToken } from '../../../src/shared-state/shared-state.js';

const SECRET = 'client-secret-that-must-not-leak';

/** An Auth0HttpClient answering from a script, recording what was sent. */
class ScriptedHttp implements Auth0HttpClient {
  readonly origin = 'http://127.0.0.1:1';
  readonly sent: Auth0HttpRequest[] = [];
  private pending: ((response: Auth0HttpResponse) => void)[] = [];
  constructor(private readonly answer?: (n: number) => Auth0HttpResponse | Error) {}

  send(request: Auth0HttpRequest): Promise<Auth0HttpResponse> {
    this.sent.push(request);
    if (this.answer) {
      const a = this.answer(this.sent.length);
      return a instanceof Error ? Promise.reject(a) : Promise.resolve(a);
    }
    return new Promise((resolve) => this.pending.push(resolve));
  }

  /** Answers every request still waiting. */
  answerPending(response: Auth0HttpResponse): void {
    for (const resolve of this.pending.splice(0)) resolve(response);
  }

  close(): void {}
}

const tokenResponse = (token: string, expiresIn = 86400): Auth0HttpResponse => ({
  statusCode: 200,
  headers: {},
  body: JSON.stringify({
    access_token: token,
    expires_in: expiresIn,
    token_type: 'Bearer',
    scope: 'read:users',
  }),
});

function setup(
  answer?: (n: number) => Auth0HttpResponse | Error,
  refreshMarginSeconds?: number,
  slot?: ServiceTokenSlot,
) {
  let now = 1_700_000_000_000;
  const http = new ScriptedHttp(answer);
  const outcomes: string[] = [];
  const provider = new ServiceTokenProvider({
    http,
    clientId: 'service-client',
    clientSecret: SECRET,
    audience: 'http://127.0.0.1:1/api/v2/',
    refreshMarginSeconds,
    now: () => now,
    onFetch: (o) => outcomes.push(o),
    slot,
  });
  return { http, provider, outcomes, advance: (ms: number) => (now += ms) };
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

describe('ServiceTokenProvider', () => {
  it('sends a client-credentials request as JSON', async () => {
    const { http, provider } = setup(() => tokenResponse('t1'));
    await expect(provider.getToken()).resolves.toBe('t1');
    expect(http.sent).toEqual([
      {
        method: 'POST',
        path: 'oauth/token',
        json: {
          grant_type: 'client_credentials',
          client_id: 'service-client',
          client_secret: SECRET,
          audience: 'http://127.0.0.1:1/api/v2/',
        },
      },
    ]);
  });

  it('caches the token until expiry minus the margin, then refreshes', async () => {
    const { http, provider, advance } = setup((n) => tokenResponse(`t${n}`, 3600), 60);
    expect(await provider.getToken()).toBe('t1');
    advance((3600 - 60) * 1000 - 1);
    expect(await provider.getToken()).toBe('t1');
    expect(http.sent).toHaveLength(1);
    advance(1);
    expect(await provider.getToken()).toBe('t2');
    expect(http.sent).toHaveLength(2);
  });

  it('caps the margin at half the lifetime of a short-lived token', async () => {
    // A 60 s token with a 60 s margin: refreshed at 30 s, not at once and not at expiry.
    const { http, provider, advance } = setup((n) => tokenResponse(`t${n}`, 60), 60);
    expect(await provider.getToken()).toBe('t1');
    advance(30_000 - 1);
    expect(await provider.getToken()).toBe('t1');
    expect(http.sent).toHaveLength(1);
    advance(1);
    expect(await provider.getToken()).toBe('t2');
    expect(http.sent).toHaveLength(2);
  });

  it('makes one token request however many callers wait', async () => {
    const { http, provider, outcomes } = setup();
    const callers = Array.from({ length: 50 }, () => provider.getToken());
    expect(http.sent).toHaveLength(1);
    http.answerPending(tokenResponse('shared'));
    expect(await Promise.all(callers)).toEqual(Array(50).fill('shared'));
    expect(http.sent).toHaveLength(1);
    expect(outcomes).toEqual(['success']);
  });

  it('refreshes exactly once when many requests invalidate the same token', async () => {
    const { http, provider } = setup((n) => tokenResponse(`t${n}`));
    const old = await provider.getToken();
    for (let i = 0; i < 10; i++) provider.invalidate(old);
    const fresh = await Promise.all(Array.from({ length: 10 }, () => provider.getToken()));
    expect(new Set(fresh)).toEqual(new Set(['t2']));
    provider.invalidate(old); // a late 401 for the old token does not drop the new one
    expect(await provider.getToken()).toBe('t2');
    expect(http.sent).toHaveLength(2);
  });

  it('maps a bad secret (401 access_denied) to UPSTREAM_ERROR without the secret', async () => {
    const { provider, outcomes } = setup(() => ({
      statusCode: 401,
      headers: {},
      body: JSON.stringify({ error: 'access_denied', error_description: 'Unauthorized' }),
    }));
    const error = await refusal(provider.getToken());
    expect(error.code).toBe('UPSTREAM_ERROR');
    expect(error.extensions.auth0).toEqual({ statusCode: 401, errorCode: 'access_denied' });
    expect(error.message).not.toContain(SECRET);
    expect(JSON.stringify(error.extensions)).not.toContain(SECRET);
    expect(JSON.stringify(error.cause)).not.toContain(SECRET);
    expect(outcomes).toEqual(['error']);
  });

  it('maps 429 to RATE_LIMITED and a timeout to UPSTREAM_TIMEOUT', async () => {
    const limited = setup(() => ({
      statusCode: 429,
      headers: { 'retry-after': '4' },
      body: '{"error":"too_many_requests"}',
    }));
    const error = await refusal(limited.provider.getToken());
    expect(error.code).toBe('RATE_LIMITED');
    expect(error.retryAfter).toBe(4);

    const slow = setup(() =>
      Object.assign(new Error('Timeout awaiting request'), { name: 'TimeoutError', code: 'ETIMEDOUT' }),
    );
    expect((await refusal(slow.provider.getToken())).code).toBe('UPSTREAM_TIMEOUT');
  });

  it('maps a 200 without a usable token to UPSTREAM_ERROR, and retries on the next call', async () => {
    const { http, provider } = setup((n) =>
      n === 1 ? { statusCode: 200, headers: {}, body: 'not json' } : tokenResponse('t2'),
    );
    expect((await refusal(provider.getToken())).code).toBe('UPSTREAM_ERROR');
    expect(await provider.getToken()).toBe('t2');
    expect(http.sent).toHaveLength(2);
  });

  it('rejects every waiting caller when the single request fails', async () => {
    const { http, provider } = setup();
    const callers = Array.from({ length: 5 }, () => refusal(provider.getToken()));
    http.answerPending({ statusCode: 500, headers: {}, body: '{"error":"server_error"}' });
    const errors = await Promise.all(callers);
    expect(errors.map((e) => e.code)).toEqual(Array(5).fill('UPSTREAM_ERROR'));
    expect(http.sent).toHaveLength(1);
  });

  describe('with a slot shared by replicas', () => {
    /** A slot holding one token in memory, as Redis would for every replica. */
    function sharedSlot(initial?: SharedToken) {
      let stored = initial;
      const calls = { fetchOnce: 0, invalidated: [] as string[] };
      const slot: ServiceTokenSlot = {
        read: async () => stored ?? null,
        fetchOnce: async (fetch) => {
          calls.fetchOnce += 1;
          stored = await fetch();
          return stored;
        },
        invalidate: async (token) => {
          calls.invalidated.push(token);
          if (stored?.token === token) stored = undefined;
        },
      };
      return { slot, calls };
    }

    it('takes the token another replica stored, with no token request', async () => {
      const { slot, calls } = sharedSlot({
        token: 'from-another-replica',
        refreshAt: Number.MAX_SAFE_INTEGER,
      });
      const { http, provider } = setup(() => tokenResponse('own'), undefined, slot);
      expect(await provider.getToken()).toBe('from-another-replica');
      expect(http.sent).toHaveLength(0);
      expect(calls.fetchOnce).toBe(0);
    });

    it('fetches through the slot when nothing is stored, and forgets a refused token for everyone', async () => {
      const { slot, calls } = sharedSlot();
      const { http, provider } = setup((n) => tokenResponse(`t${n}`), undefined, slot);
      expect(await provider.getToken()).toBe('t1');
      expect(calls.fetchOnce).toBe(1);

      await provider.invalidate('t1');
      expect(calls.invalidated).toEqual(['t1']);
      expect(await provider.getToken()).toBe('t2');
      expect(http.sent).toHaveLength(2);
    });
  });
});
