// The deterministic demo tenant: ids shaped like real Auth0 ids, one password per user.
import { LOOPBACK_WILDCARDS } from './clients.js';
import type { EmulatorSeed } from './types.js';

const users = {
  alice: 'auth0|6650a1b2c3d4e5f600000001',
  aliceGoogle: 'google-oauth2|108000000000000000001',
  aliceGithub: 'github|4031337',
  aliceUnverified: 'auth0|6650a1b2c3d4e5f600000004',
  bob: 'auth0|6650a1b2c3d4e5f600000002',
  carol: 'auth0|6650a1b2c3d4e5f600000003',
} as const;

const passwords: Record<keyof typeof users, string> = {
  alice: 'Alice-demo-pass-1',
  aliceGoogle: 'AliceGoogle-demo-pass-1',
  aliceGithub: 'AliceGithub-demo-pass-1',
  aliceUnverified: 'AliceUnverified-demo-pass-1',
  bob: 'Bob-demo-pass-1',
  carol: 'Carol-demo-pass-1',
};

export const DEMO = {
  spaClientId: 'demo-spa',
  serviceClientId: 'demo-gateway',
  serviceClientSecret: 'demo-gateway-secret-0123456789abcdef',
  adminClientId: 'demo-admin',
  adminClientSecret: 'demo-admin-secret-0123456789abcdef',
  users,
  passwords: passwords as Record<string, string>,
} as const;

export const DEMO_SEED: EmulatorSeed = {
  clients: [
    {
      client_id: DEMO.spaClientId,
      name: 'Demo SPA',
      app_type: 'spa',
      token_endpoint_auth_method: 'none',
      // Any loopback page may sign in with it (the gateway's demo page, tests on ephemeral ports).
      callbacks: [...LOOPBACK_WILDCARDS],
      web_origins: [...LOOPBACK_WILDCARDS],
      allowed_origins: [...LOOPBACK_WILDCARDS],
      allowed_logout_urls: [...LOOPBACK_WILDCARDS],
      grant_types: [
        'authorization_code',
        'implicit',
        'refresh_token',
        'password',
        'http://auth0.com/oauth/grant-type/password-realm',
      ],
    },
    {
      client_id: DEMO.serviceClientId,
      client_secret: DEMO.serviceClientSecret,
      name: 'Account linking gateway',
      app_type: 'non_interactive',
      grant_types: ['client_credentials'],
      scopes: ['read:users', 'update:users'],
    },
    {
      client_id: DEMO.adminClientId,
      client_secret: DEMO.adminClientSecret,
      name: 'Admin console',
      app_type: 'non_interactive',
      grant_types: ['client_credentials'],
      scopes: ['read:users', 'update:users'],
    },
  ],
  users: [
    {
      user_id: users.alice,
      email: 'alice@example.com',
      email_verified: true,
      name: 'Alice Liddell',
      nickname: 'alice',
      given_name: 'Alice',
      family_name: 'Liddell',
      user_metadata: { theme: 'dark' },
      app_metadata: { plan: 'pro' },
      password: passwords.alice,
    },
    {
      user_id: users.aliceGoogle,
      email: 'alice@example.com',
      email_verified: true,
      name: 'Alice L.',
      given_name: 'Alice',
      family_name: 'L.',
      nickname: 'alice.l',
      picture: 'https://lh3.googleusercontent.com/a/demo-alice',
      user_metadata: { from: 'google' },
      password: passwords.aliceGoogle,
      identities: [
        {
          provider: 'google-oauth2',
          user_id: '108000000000000000001',
          connection: 'google-oauth2',
          isSocial: true,
          access_token: 'ya29.demo-google-access-token',
          refresh_token: '1//demo-google-refresh-token',
          expires_in: 3599,
        },
      ],
    },
    {
      user_id: users.aliceGithub,
      email: 'alice@example.com',
      email_verified: true,
      name: 'Alice Liddell',
      nickname: 'alice-gh',
      picture: 'https://avatars.githubusercontent.com/u/4031337?v=4',
      password: passwords.aliceGithub,
      identities: [
        {
          provider: 'github',
          user_id: 4031337,
          connection: 'github',
          isSocial: true,
          access_token: 'gho_demoGithubAccessToken0000000000000',
        },
      ],
    },
    {
      user_id: users.aliceUnverified,
      email: 'ALICE@example.com',
      email_verified: false,
      name: 'ALICE@example.com',
      nickname: 'ALICE',
      password: passwords.aliceUnverified,
    },
    {
      user_id: users.bob,
      email: 'bob@example.com',
      email_verified: true,
      name: 'Bob Builder',
      nickname: 'bob',
      password: passwords.bob,
    },
    {
      user_id: users.carol,
      email: 'carol@example.com',
      email_verified: true,
      name: 'Carol Danvers',
      nickname: 'carol',
      password: passwords.carol,
    },
  ],
};
