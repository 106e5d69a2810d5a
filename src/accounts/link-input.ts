// The arguments of linkAccounts and unlinkAccount, checked before any Auth0 call (DESIGN §2, §8).
import { auth0ConnectionIdPattern, auth0IdentityProviders } from '../auth0/openapi/published-contract.js';
import { assertPathSegment } from '../auth0/user-id.js';
import { BadUserInputError } from '../errors.js';
import type { AdminLinkInput } from './link-accounts.input.js';

/**
 * The identity id Auth0 wants for `provider`: the full `<provider>|<id>` form is accepted and
 * its prefix stripped, at the first `|` only ("auth0|Conn|123" → "Conn|123"). An id whose own
 * first part is not the provider ("Conn|123" for auth0) is already bare and kept whole.
 */
export function toIdentityUserId(provider: string, userId: string): string {
  const prefix = `${provider}|`;
  return userId.startsWith(prefix) ? userId.slice(prefix.length) : userId;
}

/**
 * The secondary identity named by a `provider` and `userId` argument pair (admin link, unlink):
 * both checked as path segments, `userId` after its `<provider>|` prefix is stripped.
 * `argumentPath` prefixes the names in errors (`input.admin.`).
 */
export function parseIdentityArguments(args: { provider: string; userId: string }, argumentPath = '') {
  const provider = assertPathSegment(args.provider, `${argumentPath}provider`);
  const userId = assertPathSegment(toIdentityUserId(provider, args.userId), `${argumentPath}userId`);
  return { provider, userId };
}

/**
 * `provider` must be one of the published contract's `UserIdentityProviderEnum` (admin link,
 * unlink): Auth0 refuses any other, after spending a call of the budget.
 */
export function assertIdentityProvider(provider: string, argumentName: string): void {
  if (!auth0IdentityProviders().has(provider)) {
    throw new BadUserInputError(
      `\`${argumentName}\` is not an Auth0 identity provider (one of the Management API provider names, such as auth0, google-oauth2, github or samlp).`,
    );
  }
}

/**
 * Admin-mode arguments, checked against Auth0's published contract before any call: `provider`
 * must be one of the document's `UserIdentityProviderEnum` and `connectionId` must match its
 * `connection_id` pattern; Auth0 would refuse anything else, after spending a call of the budget.
 */
export function parseAdminInput(admin: AdminLinkInput) {
  const { provider, userId } = parseIdentityArguments(admin, 'input.admin.');
  assertIdentityProvider(provider, 'input.admin.provider');
  const connectionId = admin.connectionId ?? undefined;
  if (connectionId !== undefined && !auth0ConnectionIdPattern().test(connectionId)) {
    throw new BadUserInputError(
      'input.admin.connectionId: must look like con_ followed by 16 letters or digits.',
    );
  }
  return { provider, userId, connectionId };
}
