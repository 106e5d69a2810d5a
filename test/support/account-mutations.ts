// linkAccounts and unlinkAccount as a client sends them, reduced to what reliability tests check:
// success with the identities, or the error's code and reason.
import type { Auth0Emulator } from '../../src/auth0-emulator/index.js';
import { postGraphQL, UnexpectedAnswerError } from './graphql-client.js';

const LINK = `mutation Link($primaryId: ID!, $input: LinkAccountsInput!) {
  linkAccounts(primaryId: $primaryId, input: $input) {
    identities { id }
    mergedMetadata { userMetadataKeys appMetadataKeys }
  }
}`;
const UNLINK = `mutation Unlink($primaryId: ID!, $provider: String!, $userId: ID!) {
  unlinkAccount(primaryId: $primaryId, provider: $provider, userId: $userId) { identities { id } }
}`;

/**
 * One mutation's answer: `ok` with the primary's identity ids, or the first error's code and
 * reason. An answer that is neither (not JSON, `data: null` without errors) throws
 * UnexpectedAnswerError; a connection that ends without an answer throws fetch's TypeError.
 */
export interface Answer {
  ok: boolean;
  identities?: string[];
  mergedMetadata?: { userMetadataKeys: string[]; appMetadataKeys: string[] } | null;
  code?: string;
  reason?: string;
}

type Payload = {
  identities: { id: string }[];
  mergedMetadata?: Answer['mergedMetadata'];
};

async function send(url: string, query: string, variables: unknown, token: string): Promise<Answer> {
  const result = await postGraphQL<Record<string, Payload | null>>(url, { query, variables }, { token });
  const error = result.body.errors?.[0];
  if (error) {
    return { ok: false, code: error.extensions?.code, reason: error.extensions?.reason };
  }
  const payload = Object.values(result.body.data ?? {})[0];
  // A success must carry its payload: anything else is a broken answer, not a success.
  if (!payload) throw new UnexpectedAnswerError(result.status, result.text);
  return {
    ok: true,
    identities: payload.identities.map((i) => i.id),
    ...(payload.mergedMetadata !== undefined ? { mergedMetadata: payload.mergedMetadata } : {}),
  };
}

const split = (id: string) => [id.slice(0, id.indexOf('|')), id.slice(id.indexOf('|') + 1)];

/** Admin-mode link of `secondaryId` (`<provider>|<id>`) into `primaryId`. */
export function adminLink(
  url: string,
  token: string,
  primaryId: string,
  secondaryId: string,
  mergeMetadata = false,
): Promise<Answer> {
  const [provider, userId] = split(secondaryId);
  return send(url, LINK, { primaryId, input: { admin: { provider, userId, mergeMetadata } } }, token);
}

/** JWT-mode link: the primary's access token, the secondary's ID token. */
export function jwtLink(
  url: string,
  accessToken: string,
  primaryId: string,
  idToken: string,
  mergeMetadata = false,
): Promise<Answer> {
  return send(url, LINK, { primaryId, input: { jwt: { linkWith: idToken, mergeMetadata } } }, accessToken);
}

/** Admin-mode unlink of `secondaryId` from `primaryId`. */
export function adminUnlink(url: string, token: string, primaryId: string, secondaryId: string) {
  const [provider, userId] = split(secondaryId);
  return send(url, UNLINK, { primaryId, provider, userId }, token);
}

/** The identity ids (`<provider>|<id>`) the tenant holds for `userId`; `null` when no such user. */
export function identitiesInTenant(emulator: Auth0Emulator, userId: string): string[] | null {
  const user = emulator.tenant.getUser(userId);
  return user ? (user.identities ?? []).map((i) => `${i.provider}|${String(i.user_id)}`) : null;
}
