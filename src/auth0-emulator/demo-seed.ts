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
  // The linking-at-login pair (DESIGN §14): same verified email, not linked. Signing in as the
  // GitHub account with the service's Action deployed shows the prompt.
  dana: 'auth0|6650a1b2c3d4e5f600000005',
  danaGithub: 'github|5050505',
} as const;

const passwords: Record<keyof typeof users, string> = {
  alice: 'Alice-demo-pass-1',
  aliceGoogle: 'AliceGoogle-demo-pass-1',
  aliceGithub: 'AliceGithub-demo-pass-1',
  aliceUnverified: 'AliceUnverified-demo-pass-1',
  bob: 'Bob-demo-pass-1',
  carol: 'Carol-demo-pass-1',
  dana: 'Dana-demo-pass-1',
  danaGithub: 'DanaGithub-demo-pass-1',
};

// Role and organization ids shaped like Auth0's (`rol_` / `org_` and 16 alphanumerics).
const roles = {
  editor: 'rol_demoEditor000001',
  billingAdmin: 'rol_demoBilling00001',
  viewer: 'rol_demoViewer000001',
} as const;

const organizations = {
  acme: 'org_demoAcme00000001',
  globex: 'org_demoGlobex000001',
} as const;

export const DEMO = {
  spaClientId: 'demo-spa',
  serviceClientId: 'demo-gateway',
  serviceClientSecret: 'demo-gateway-secret-0123456789abcdef',
  adminClientId: 'demo-admin',
  adminClientSecret: 'demo-admin-secret-0123456789abcdef',
  /** The service's Regular Web Application for the second login of linking at login (DESIGN §14). */
  loginLinkClientId: 'demo-login-link',
  loginLinkClientSecret: 'demo-login-link-secret-0123456789abcdef',
  users,
  passwords: passwords as Record<string, string>,
  roles,
  organizations,
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
      // Roles and memberships for the carry-over and undo of DESIGN §15 (update:users covers a
      // user's own role assignments).
      scopes: [
        'read:users',
        'update:users',
        'read:roles',
        'read:role_members',
        'read:organizations',
        'read:organization_members',
        'read:organization_member_roles',
        'create:organization_members',
        'delete:organization_members',
        'create:organization_member_roles',
        'delete:organization_member_roles',
      ],
    },
    {
      client_id: DEMO.adminClientId,
      client_secret: DEMO.adminClientSecret,
      name: 'Admin console',
      app_type: 'non_interactive',
      grant_types: ['client_credentials'],
      scopes: ['read:users', 'update:users'],
    },
    {
      client_id: DEMO.loginLinkClientId,
      client_secret: DEMO.loginLinkClientSecret,
      name: 'Account linking at login',
      app_type: 'regular_web',
      token_endpoint_auth_method: 'client_secret_post',
      grant_types: ['authorization_code'],
      // The service's /login-link/callback, wherever the service listens on loopback.
      callbacks: [...LOOPBACK_WILDCARDS],
      allowed_logout_urls: [...LOOPBACK_WILDCARDS],
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
    {
      user_id: users.dana,
      email: 'dana@example.com',
      email_verified: true,
      name: 'Dana Scully',
      nickname: 'dana',
      given_name: 'Dana',
      family_name: 'Scully',
      password: passwords.dana,
    },
    {
      user_id: users.danaGithub,
      email: 'dana@example.com',
      email_verified: true,
      name: 'Dana Scully',
      nickname: 'dana-gh',
      picture: 'https://avatars.githubusercontent.com/u/5050505?v=4',
      password: passwords.danaGithub,
      identities: [
        {
          provider: 'github',
          user_id: 5050505,
          connection: 'github',
          isSocial: true,
          access_token: 'gho_demoGithubAccessTokenDana000000000',
        },
      ],
    },
  ],
  // Alice's GitHub account holds access of its own (a direct role, a membership with a role of
  // its own) that Auth0 drops when it is linked into Alice: what a carry-over keeps.
  roles: [
    { id: roles.editor, name: 'editor', description: 'Edits content', users: [users.aliceGithub] },
    { id: roles.billingAdmin, name: 'billing-admin', description: 'Manages invoices' },
    { id: roles.viewer, name: 'viewer', description: 'Reads content', users: [users.alice, users.bob] },
  ],
  organizations: [
    {
      id: organizations.acme,
      name: 'acme',
      display_name: 'Acme Corp',
      members: [
        { user_id: users.alice, roles: [{ id: roles.viewer }] },
        { user_id: users.aliceGithub, roles: [{ id: roles.billingAdmin }] },
      ],
    },
    {
      id: organizations.globex,
      name: 'globex',
      display_name: 'Globex',
      members: [{ user_id: users.aliceGithub }, { user_id: users.bob }],
    },
  ],
};
