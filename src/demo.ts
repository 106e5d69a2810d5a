import type { Auth0Emulator } from './auth0-emulator/index.js';
import { DEMO } from './auth0-emulator/index.js';
import { DEMO_SCOPE } from './frontend/browser-routes.js';
import { EXAMPLE_OPERATIONS, exampleVariables, oneLine } from './frontend/example-operations.js';

const LINK_MUTATION = oneLine(EXAMPLE_OPERATIONS.link);
const ME_QUERY = oneLine(EXAMPLE_OPERATIONS.me);

function curl(url: string, token: string, body: unknown): string {
  // Single quotes around the JSON: none of the demo values contain one.
  return [
    `curl -s ${url} \\`,
    `  -H 'content-type: application/json' \\`,
    `  -H 'authorization: Bearer ${token}' \\`,
    `  -d '${JSON.stringify(body)}'`,
  ].join('\n');
}

/**
 * Ready-to-paste requests against the embedded emulator, with fresh tokens: JWT mode links
 * Alice's Google account into her database account; admin mode links her GitHub account.
 */
export async function renderDemoRequests(emulator: Auth0Emulator, graphqlUrl: string): Promise<string> {
  const alice = DEMO.users.alice;
  const userToken = await emulator.tokens.userAccessToken({
    sub: alice,
    azp: DEMO.spaClientId,
    scope: DEMO_SCOPE,
  });
  const googleIdToken = await emulator.tokens.idToken({ sub: DEMO.users.aliceGoogle, aud: DEMO.spaClientId });
  const adminToken = await emulator.tokens.adminToken({ scope: 'update:users read:users' });
  return [
    `Demo tenant: an embedded Auth0 emulator at ${emulator.origin} (users: ${Object.values(DEMO.users).join(', ')}).`,
    `Demo page sign-in: alice@example.com / ${DEMO.passwords.alice} (linked accounts sign in with "continue as").`,
    '',
    '# 1. JWT mode: Alice (her own token) links her Google account, proven by its ID token',
    curl(graphqlUrl, userToken, {
      query: LINK_MUTATION,
      variables: { primaryId: alice, input: { jwt: { linkWith: googleIdToken } } },
    }),
    '',
    '# 2. Admin mode: a trusted backend (admin permission) links her GitHub account',
    curl(graphqlUrl, adminToken, {
      query: LINK_MUTATION,
      variables: exampleVariables().linkAdmin,
    }),
    '',
    '# 3. Alice reads her identities',
    curl(graphqlUrl, userToken, { query: ME_QUERY }),
    '',
  ].join('\n');
}
