import { parseIdentities, parseUser, ShapeError } from '../../../src/auth0/parse-wire.js';

describe('parse-wire: what Auth0 schema allows passes, what breaks an invariant does not', () => {
  it('accepts identities with a numeric user_id and no isSocial or profileData', () => {
    expect(parseIdentities([{ provider: 'github', user_id: 4031337, connection: 'github' }])).toEqual([
      { provider: 'github', user_id: 4031337, connection: 'github' },
    ]);
  });

  it('keeps extra profileData keys and drops provider tokens', () => {
    expect(
      parseIdentities([
        {
          provider: 'google-oauth2',
          user_id: '1',
          connection: 'google-oauth2',
          access_token: 'secret',
          refresh_token: 'secret',
          profileData: { email: 'a@b.c', locale: 'en' },
        },
      ]),
    ).toEqual([
      {
        provider: 'google-oauth2',
        user_id: '1',
        connection: 'google-oauth2',
        profileData: { email: 'a@b.c', locale: 'en' },
      },
    ]);
  });

  it('drops a provider token that comes alone, and keeps an identity without tokens as it came', () => {
    const plain = { provider: 'auth0', user_id: 'a', connection: 'db', profileData: { email: 'a@b.c' } };
    const [twitter, database] = parseIdentities([
      { provider: 'twitter', user_id: '2', connection: 'twitter', access_token_secret: 'secret' },
      plain,
    ]);
    expect(twitter).toStrictEqual({ provider: 'twitter', user_id: '2', connection: 'twitter' });
    expect(database).toStrictEqual({
      provider: 'auth0',
      user_id: 'a',
      connection: 'db',
      profileData: { email: 'a@b.c' },
    });
  });

  it('accepts a user with unknown keys and identities of the minimal shape', () => {
    const user = parseUser({
      user_id: 'auth0|a',
      logins_count: 3,
      identities: [{ provider: 'auth0', user_id: 'a', connection: 'db' }],
    });
    expect(user.identities).toEqual([{ provider: 'auth0', user_id: 'a', connection: 'db' }]);
  });

  it.each<[string, unknown]>([
    ['not an array', {}],
    ['no connection', [{ provider: 'auth0', user_id: 'a' }]],
    ['an empty user_id', [{ provider: 'auth0', user_id: '', connection: 'db' }]],
    ['a boolean user_id', [{ provider: 'auth0', user_id: true, connection: 'db' }]],
  ])('refuses identities with %s', (_t, value) => {
    expect(() => parseIdentities(value)).toThrow(ShapeError);
  });
});
