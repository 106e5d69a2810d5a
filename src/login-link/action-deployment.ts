// The repo's post-login Action (actions/suggest-account-link.js) as a deployment in the Deploy
// CLI's shape, with its three secrets: what `npm start` gives the embedded emulator, and what the
// README's Deploy CLI and Terraform snippets write for a real tenant.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SUGGEST_ACCOUNT_LINK_ACTION = 'suggest-account-link';

/** The file's path: found from the package root, so `src/` (tests) and `dist/` (npm start) agree. */
export function suggestAccountLinkActionPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('package.json not found above the login-link module');
    dir = parent;
  }
  return join(dir, 'actions', `${SUGGEST_ACCOUNT_LINK_ACTION}.js`);
}

export interface SuggestAccountLinkSecrets {
  /** The service's PUBLIC_URL. */
  gatewayUrl: string;
  /** LOGIN_LINK_SECRET. */
  secret: string;
  /** LOGIN_LINK_CLIENT_ID. */
  clientId: string;
}

/** `{ actions, triggers }` binding the Action to post-login, as `a0deploy` and the emulator take it. */
export function suggestAccountLinkDeployment(secrets: SuggestAccountLinkSecrets) {
  return {
    actions: [
      {
        name: SUGGEST_ACCOUNT_LINK_ACTION,
        code: readFileSync(suggestAccountLinkActionPath(), 'utf8'),
        runtime: 'node22',
        secrets: [
          { name: 'GATEWAY_URL', value: secrets.gatewayUrl },
          { name: 'LOGIN_LINK_SECRET', value: secrets.secret },
          { name: 'LOGIN_LINK_CLIENT_ID', value: secrets.clientId },
        ],
        supported_triggers: [{ id: 'post-login', version: 'v3' }],
      },
    ],
    triggers: { 'post-login': [{ action_name: SUGGEST_ACCOUNT_LINK_ACTION }] },
  };
}
