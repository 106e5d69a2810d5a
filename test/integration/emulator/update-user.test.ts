import type { Auth0Emulator, EmulatorSeed } from '../../../src/auth0-emulator/index.js';
import { call, useEmulator, userPath } from '../../support/emulator-fixture.js';

const ANN = 'auth0|65f000000000000000000001';
const BEN = 'auth0|65f000000000000000000002';

const SEED: EmulatorSeed = {
  clients: [],
  users: [
    {
      user_id: ANN,
      email: 'ann@example.com',
      email_verified: true,
      user_metadata: { theme: 'dark', prefs: { lang: 'en', tz: 'UTC' }, tags: ['a'] },
      app_metadata: { plan: 'pro', crm: { id: 7 } },
    },
    { user_id: BEN, email: 'ben@example.com' },
  ],
};

type Metadata = Record<string, unknown>;
type Scope = 'update:users' | 'update:users_app_metadata' | 'update:current_user_metadata';

describe('PATCH /api/v2/users/{id}', () => {
  const emulator = useEmulator({ seed: SEED });

  const admin = (e: Auth0Emulator, scope: string = 'update:users') => e.tokens.adminToken({ scope });
  const patch = async (e: Auth0Emulator, json: unknown, token?: string, userId = ANN) =>
    call(e, 'PATCH', userPath(userId), { token: token ?? (await admin(e)), json });

  describe('merges metadata at the top level only', () => {
    it.each<[string, Metadata, Metadata]>([
      ['adds a root key', { color: 'blue' }, { theme: 'dark', prefs: { lang: 'en', tz: 'UTC' }, tags: ['a'], color: 'blue' }],
      ['replaces a root value', { theme: 'light' }, { theme: 'light', prefs: { lang: 'en', tz: 'UTC' }, tags: ['a'] }],
      ['replaces a nested object whole', { prefs: { lang: 'fr' } }, { theme: 'dark', prefs: { lang: 'fr' }, tags: ['a'] }],
      ['replaces an array whole', { tags: ['b'] }, { theme: 'dark', prefs: { lang: 'en', tz: 'UTC' }, tags: ['b'] }],
      ['deletes a root key set to null', { theme: null }, { prefs: { lang: 'en', tz: 'UTC' }, tags: ['a'] }],
      ['keeps a nested null as a value', { prefs: { lang: null } }, { theme: 'dark', prefs: { lang: null }, tags: ['a'] }],
      ['ignores null for a key it does not have', { nope: null }, { theme: 'dark', prefs: { lang: 'en', tz: 'UTC' }, tags: ['a'] }],
      ['wipes everything with an empty object', {}, {}],
    ])('user_metadata: %s', async (_title, userMetadata, expected) => {
      const e = emulator();
      const res = await patch(e, { user_metadata: userMetadata });
      expect(res.status).toBe(200);
      expect((res.body as Metadata).user_metadata).toEqual(expected);
      expect(e.tenant.getUser(ANN)?.user_metadata).toEqual(expected);
      expect(e.tenant.getUser(ANN)?.app_metadata).toEqual({ plan: 'pro', crm: { id: 7 } });
    }); // prettier-ignore

    it('merges app_metadata the same way and answers the whole user', async () => {
      const e = emulator();
      const res = await patch(e, { app_metadata: { crm: { id: 8, src: 'x' }, plan: null } });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        user_id: ANN,
        email: 'ann@example.com',
        identities: [{ provider: 'auth0', user_id: '65f000000000000000000001' }],
        app_metadata: { crm: { id: 8, src: 'x' } },
        user_metadata: { theme: 'dark' },
      });
      const { updated_at: updatedAt } = res.body as { updated_at: string };
      expect(e.tenant.getUser(ANN)?.updated_at).toBe(updatedAt);
    });

    it('creates metadata on a user that had none, and keeps "__proto__" as a plain key', async () => {
      const e = emulator();
      const res = await call(e, 'PATCH', userPath(BEN), {
        token: await admin(e),
        rawJson: '{"user_metadata":{"__proto__":{"polluted":true},"a":1}}',
      });
      expect(res.status).toBe(200);
      const stored = e.tenant.getUser(BEN)?.user_metadata as Metadata;
      expect(Object.keys(stored)).toEqual(['__proto__', 'a']);
      expect(({} as Metadata).polluted).toBeUndefined();
    });

    it('changes the simple profile fields it supports', async () => {
      const e = emulator();
      const res = await patch(e, { name: 'Ann A.', blocked: true });
      expect(res.status).toBe(200);
      expect(e.tenant.getUser(ANN)).toMatchObject({ name: 'Ann A.', blocked: true });
    });
  });

  describe('scopes', () => {
    it.each<[string, Scope[], 'self' | 'other', Metadata, number]>([
      ['update:users changes anyone', ['update:users'], 'other', { user_metadata: { a: 1 }, app_metadata: { b: 2 } }, 200],
      ['update:current_user_metadata changes its own user_metadata', ['update:current_user_metadata'], 'self', { user_metadata: { a: 1 } }, 200],
      ['update:current_user_metadata cannot touch app_metadata', ['update:current_user_metadata'], 'self', { app_metadata: { b: 2 } }, 403],
      ['update:current_user_metadata cannot touch profile fields', ['update:current_user_metadata'], 'self', { name: 'x' }, 403],
      ['update:users_app_metadata changes app_metadata of anyone', ['update:users_app_metadata'], 'other', { app_metadata: { b: 2 } }, 200],
      ['update:users_app_metadata cannot touch user_metadata', ['update:users_app_metadata'], 'other', { user_metadata: { a: 1 } }, 403],
      ['both narrow scopes together cover both kinds for oneself', ['update:users_app_metadata', 'update:current_user_metadata'], 'self', { user_metadata: { a: 1 }, app_metadata: { b: 2 } }, 200],
    ])('%s', async (_title, scopes, whose, body, status) => {
      const e = emulator();
      const token = await e.tokens.userAccessToken({ sub: whose === 'self' ? ANN : BEN, scope: scopes.join(' ') });
      const res = await patch(e, body, token);
      expect(res.status).toBe(status);
      const seeded = SEED.users[0];
      if (status === 403) {
        expect(res.body).toMatchObject({ statusCode: 403, error: 'Forbidden', errorCode: 'insufficient_scope' });
        expect(e.tenant.getUser(ANN)?.user_metadata).toEqual(seeded.user_metadata);
        expect(e.tenant.getUser(ANN)?.app_metadata).toEqual(seeded.app_metadata);
        return;
      }
      // Each kind sent is merged into ANN's stored metadata (and answered); the other is untouched.
      const expected = {
        user_metadata: { ...seeded.user_metadata, ...(body.user_metadata as Metadata | undefined) },
        app_metadata: { ...seeded.app_metadata, ...(body.app_metadata as Metadata | undefined) },
      };
      expect(res.body).toMatchObject({ user_id: ANN, ...expected });
      expect(e.tenant.getUser(ANN)).toMatchObject(expected);
    }); // prettier-ignore

    it("refuses another user's user_metadata with update:current_user_metadata", async () => {
      const e = emulator();
      const token = await e.tokens.userAccessToken({ sub: BEN, scope: 'update:current_user_metadata' });
      const res = await patch(e, { user_metadata: { a: 1 } }, token);
      expect(res.status).toBe(403);
      expect(res.body).toEqual({
        statusCode: 403,
        error: 'Forbidden',
        message: 'User to be acted on does not match subject in bearer token',
      });
    });

    it('refuses a token with none of the update scopes before reading its body', async () => {
      const e = emulator();
      const res = await patch(e, 'not an object', await admin(e, 'read:users'));
      expect(res.status).toBe(403);
      expect(res.body).toEqual({
        statusCode: 403,
        error: 'Forbidden',
        message:
          'Insufficient scope, expected any of: update:users,update:users_app_metadata,update:current_user_metadata',
        errorCode: 'insufficient_scope',
      });
    });

    it.each([
      ['no bearer', undefined, 'Missing authentication'],
      ['a garbage token', 'not-a-jwt', 'Invalid token'],
    ])('answers 401 to %s', async (_title, token, message) => {
      const e = emulator();
      const res = await call(e, 'PATCH', userPath(ANN), { token, json: { user_metadata: { a: 1 } } });
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ statusCode: 401, error: 'Unauthorized', message });
    });
  });

  describe('bad bodies are 400 invalid_body and change nothing', () => {
    it.each<[string, { json?: unknown; rawJson?: string }, string]>([
      ['unparseable JSON', { rawJson: '{"user_metadata":' }, 'Invalid request body'],
      ['no body', {}, "Payload validation error: 'Too few properties defined (0), minimum 1'."],
      ['an empty object', { json: {} }, "Payload validation error: 'Too few properties defined (0), minimum 1'."],
      ['an array', { json: [] }, "Payload validation error: 'Expected type object but found type array'."],
      ['an unknown field', { json: { user_metadata: {}, foo: 1 } }, "Payload validation error: 'Additional properties not allowed: foo'."],
      ['metadata that is not an object', { json: { user_metadata: ['x'] } }, "Payload validation error: 'Expected type object but found type array' on property user_metadata."],
      ['null metadata', { json: { app_metadata: null } }, "Payload validation error: 'Expected type object but found type null' on property app_metadata."],
      ['a profile field of the wrong type', { json: { blocked: 'yes' } }, "Payload validation error: 'Expected type boolean but found type string' on property blocked."],
    ])('%s', async (_title, body, message) => {
      const e = emulator();
      const res = await call(e, 'PATCH', userPath(ANN), { token: await admin(e), ...body });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ statusCode: 400, error: 'Bad Request', message, errorCode: 'invalid_body' });
      expect(e.tenant.getUser(ANN)?.user_metadata).toEqual(SEED.users[0].user_metadata);
    }); // prettier-ignore
  });

  it('answers 404 inexistent_user for a user that does not exist', async () => {
    const e = emulator();
    const res = await patch(e, { user_metadata: { a: 1 } }, undefined, 'auth0|65f0000000000000000000ff');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({
      statusCode: 404,
      error: 'Not Found',
      message: 'The user does not exist.',
      errorCode: 'inexistent_user',
    });
  });

  it('is journaled, rate limited with Auth0 headers, and faultable like the other routes', async () => {
    const e = emulator();
    e.setRateLimit({ perSecond: 0.001, burst: 1 });
    try {
      const token = await admin(e);
      const first = await patch(e, { user_metadata: { a: 1 } }, token);
      expect(first.status).toBe(200);
      expect(first.headers.get('x-ratelimit-limit')).toBe('1');
      const limited = await patch(e, { user_metadata: { a: 2 } }, token);
      expect(limited.status).toBe(429);
      expect(limited.body).toMatchObject({ errorCode: 'too_many_requests' });
      e.setRateLimit(false);
      e.faults.add({ route: 'update-user', status: 503 });
      const faulted = await call(e, 'PATCH', userPath(ANN), {
        token,
        json: { user_metadata: { a: 3 } },
        contract: false,
      });
      expect(faulted.status).toBe(503);
      expect(e.journal.entries({ route: 'update-user' }).map((x) => [x.method, x.body, x.status])).toEqual([
        ['PATCH', { user_metadata: { a: 1 } }, 200],
        ['PATCH', { user_metadata: { a: 2 } }, 429],
        ['PATCH', { user_metadata: { a: 3 } }, 503],
      ]);
      expect(e.tenant.getUser(ANN)?.user_metadata).toMatchObject({ a: 1 });
    } finally {
      e.setRateLimit(false);
    }
  });
});
