// The tenant's signing keys over real HTTP: the gateway's key set against the emulator's
// `/.well-known/jwks.json`, counting JWKS fetches in the emulator's journal.
import { jest } from '@jest/globals';
import { decodeProtectedHeader } from 'jose';
import {
  createAccessTokenVerifier,
  createLinkTokenVerifier,
  createRemoteKeySet,
  type Caller,
} from '../../../src/auth/index.js';
import { DEMO } from '../../../src/auth0-emulator/index.js';
import { BadUserInputError } from '../../../src/errors.js';
import { useEmulator } from '../../support/emulator-fixture.js';

// Only Date is faked, so the key set's cool-down can be crossed without waiting while sockets,
// timers and the emulator keep running for real.
const REAL_TIMERS = [
  'hrtime',
  'nextTick',
  'performance',
  'queueMicrotask',
  'requestAnimationFrame',
  'cancelAnimationFrame',
  'requestIdleCallback',
  'cancelIdleCallback',
  'setImmediate',
  'clearImmediate',
  'setInterval',
  'clearInterval',
  'setTimeout',
  'clearTimeout',
] as const;
const PAST_COOLDOWN_MS = 31_000;

describe('signing keys fetched from the tenant', () => {
  const emulator = useEmulator();

  afterEach(() => {
    jest.useRealTimers();
  });

  function verifiers() {
    const e = emulator();
    const keys = createRemoteKeySet(e.origin, { timeoutMs: 2000 });
    return {
      accessTokens: createAccessTokenVerifier({
        issuer: e.issuer,
        managementAudience: e.managementAudience,
        adminAudience: e.managementAudience,
        adminPermission: 'update:users',
        keys,
      }),
      linkTokens: createLinkTokenVerifier({ issuer: e.issuer, keys }),
    };
  }

  async function callerFor(verifier: ReturnType<typeof verifiers>): Promise<Caller> {
    const token = await emulator().tokens.userAccessToken({ sub: DEMO.users.alice });
    const { caller, error } = await verifier.accessTokens.verifyAuthorizationHeader(`Bearer ${token}`);
    expect(error).toBeNull();
    return caller!;
  }

  const jwksFetches = () => emulator().journal.count('jwks');

  it('refetches the key set once for an unknown kid after the cool-down, then refuses the token', async () => {
    jest.useFakeTimers({ doNotFake: [...REAL_TIMERS], now: Date.now() });
    const e = emulator();
    const verifier = verifiers();
    await callerFor(verifier);
    expect(jwksFetches()).toBe(1);

    const forged = await e.tokens.sign(
      { sub: DEMO.users.alice, aud: e.managementAudience, iss: e.issuer },
      { alg: 'foreign-RS256', kid: 'withdrawn-key' },
    );
    const refuse = async () => {
      const { caller, error } = await verifier.accessTokens.verifyAuthorizationHeader(`Bearer ${forged}`);
      expect(caller).toBeNull();
      expect(error?.extensions).toEqual({ code: 'UNAUTHENTICATED' });
      expect(error?.message).toMatch(/not signed with any/);
    };

    // Within the cool-down of the first fetch: refused from the cached set, no new fetch.
    await refuse();
    expect(jwksFetches()).toBe(1);

    jest.setSystemTime(Date.now() + PAST_COOLDOWN_MS);
    await refuse();
    expect(jwksFetches()).toBe(2);

    // The refetch started a new cool-down: a flood of unknown kids costs the tenant nothing more.
    for (let i = 0; i < 5; i += 1) await refuse();
    expect(jwksFetches()).toBe(2);
  });

  it('refuses a linkWith with an unknown kid as INVALID_LINK_TOKEN, refetching at most once per cool-down', async () => {
    jest.useFakeTimers({ doNotFake: [...REAL_TIMERS], now: Date.now() });
    const e = emulator();
    const verifier = verifiers();
    const caller = await callerFor(verifier);
    const linkWith = await e.tokens.sign(
      { sub: DEMO.users.bob, aud: caller.authorizedParty, iss: e.issuer },
      { alg: 'foreign-RS256', kid: 'withdrawn-key' },
    );
    const refuse = async () => {
      const error = await verifier.linkTokens.verifyLinkToken(linkWith, caller).then(
        () => undefined,
        (failure: unknown) => failure,
      );
      expect(error).toBeInstanceOf(BadUserInputError);
      expect((error as BadUserInputError).extensions).toEqual({
        code: 'BAD_USER_INPUT',
        reason: 'INVALID_LINK_TOKEN',
      });
      expect((error as Error).message).toMatch(/not signed with any/);
    };

    await refuse();
    expect(jwksFetches()).toBe(1);
    jest.setSystemTime(Date.now() + PAST_COOLDOWN_MS);
    await refuse();
    await refuse();
    expect(jwksFetches()).toBe(2);
  });

  it('refuses tokens signed by a foreign key, by alg none and by HS256, fetching the key set once', async () => {
    const e = emulator();
    const verifier = verifiers();
    const claims = { sub: DEMO.users.alice, aud: e.managementAudience, iss: e.issuer };
    // The tenant's own kid, so only the signature (or the algorithm) can give the forgery away.
    const { kid } = decodeProtectedHeader(await e.tokens.userAccessToken({ sub: DEMO.users.alice }));
    for (const [alg, mentions] of [
      ['foreign-RS256', /signature/],
      ['none', /RS256/],
      ['HS256', /RS256/],
    ] as const) {
      const token = await e.tokens.sign(claims, { alg, kid });
      const { error } = await verifier.accessTokens.verifyAuthorizationHeader(`Bearer ${token}`);
      expect(error?.extensions).toEqual({ code: 'UNAUTHENTICATED' });
      expect(error?.message).toMatch(mentions);
    }
    expect(jwksFetches()).toBe(1);
  });
});
