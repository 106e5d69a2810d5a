import { toIdentity, toUser } from '../../../src/accounts/to-identity.js';
import { isSocialProvider } from '../../../src/auth0/social-providers.js';
import { auth0IdentityProviders } from '../../../src/auth0/openapi/published-contract.js';

describe('toIdentity: any identity Auth0 schema allows', () => {
  it('turns a numeric user_id into a string id', () => {
    expect(toIdentity({ provider: 'github', user_id: 4031337, connection: 'github' })).toEqual({
      id: 'github|4031337',
      provider: 'github',
      userId: '4031337',
      connection: 'github',
      isSocial: true,
      profileData: null,
    });
  });

  it.each([
    ['auth0', 'Username-Password-Authentication', false],
    ['email', 'email', false],
    ['sms', 'sms', false],
    ['samlp', 'acme-saml', false],
    ['waad', 'acme-entra', false],
    ['google-apps', 'acme-workspace', false],
    ['google-oauth2', 'google-oauth2', true],
    ['oauth2', 'custom-social', true],
  ])('derives isSocial of a %s identity that leaves it out', (provider, connection, social) => {
    expect(toIdentity({ provider, user_id: 'x1', connection }).isSocial).toBe(social);
  });

  it("keeps Auth0's isSocial where it is sent", () => {
    expect(toIdentity({ provider: 'auth0', user_id: 'x', connection: 'db', isSocial: true }).isSocial).toBe(
      true,
    );
    expect(
      toIdentity({ provider: 'github', user_id: 1, connection: 'github', isSocial: false }).isSocial,
    ).toBe(false);
  });

  it('ignores extra profileData keys and leaves absent ones null', () => {
    const identity = toIdentity({
      provider: 'auth0',
      user_id: 'b',
      connection: 'db',
      profileData: { email: 'bob@example.com', favourite_colour: 'green', nested: { deep: true } },
    });
    expect(identity.profileData).toEqual({
      email: 'bob@example.com',
      emailVerified: null,
      name: null,
      username: null,
      givenName: null,
      familyName: null,
      nickname: null,
      picture: null,
      phoneNumber: null,
      phoneVerified: null,
    });
  });

  it('maps a user whose identities carry only the required fields', () => {
    const user = toUser({
      user_id: 'auth0|a',
      identities: [{ provider: 'auth0', user_id: 'a', connection: 'db' }],
    });
    expect(user.identities).toEqual([
      { id: 'auth0|a', provider: 'auth0', userId: 'a', connection: 'db', isSocial: false, profileData: null },
    ]);
  });

  it('classifies every provider of the published enum', () => {
    const social = [...auth0IdentityProviders()].filter(isSocialProvider);
    expect(social).not.toEqual(expect.arrayContaining(['auth0', 'email', 'sms', 'samlp', 'oidc', 'okta']));
    expect(social).toEqual(
      expect.arrayContaining(['github', 'google-oauth2', 'facebook', 'apple', 'twitter']),
    );
  });
});
