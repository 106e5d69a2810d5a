// The bench tenant's shape, its tokens, and the requests every scenario builds from them.
import { DEMO } from '../src/auth0-emulator/index.js';
import type { BenchRequest } from './load.js';
import type { EmulatorProcess } from './processes.js';
import { primaryId, secondaryId, type BenchTenantShape } from './protocol.js';

/**
 * 4,500 standalone secondaries linked into 900 primaries: at most 5 linked identities each, so
 * responses stay small. (The emulator's reset re-seeds in O(users²): ~1.5 s at this size.)
 */
export const TENANT: BenchTenantShape = { primaries: 900, secondaries: 4500 };

export const JSON_HEADERS = { 'content-type': 'application/json' };
export const bearer = (token: string) => ({ ...JSON_HEADERS, authorization: `Bearer ${token}` });
/** `auth0|bench-s-000042` → `bench-s-000042`: the `user_id` of an admin-mode link body. */
export const bare = (userId: string) => userId.slice(userId.indexOf('|') + 1);

export interface Tokens {
  service: string;
  admin: string;
  /** User access token of primary k. */
  primaries: string[];
  /** ID token of secondary i. */
  secondaries: string[];
  /** The demo user alice's access token (her `me` reads one user). */
  alice: string;
}

export const primaryOf = (i: number) => primaryId(i % TENANT.primaries);
export const primaryTokenOf = (tokens: Tokens, i: number) => tokens.primaries[i % TENANT.primaries];

async function fetchServiceToken(origin: string): Promise<string> {
  const response = await fetch(`${origin}/oauth/token`, {
    method: 'POST',
    headers: JSON_HEADERS,
    body: JSON.stringify({
      grant_type: 'client_credentials',
      client_id: DEMO.serviceClientId,
      client_secret: DEMO.serviceClientSecret,
      audience: `${origin}/api/v2/`,
    }),
  });
  if (!response.ok) throw new Error(`service token: the emulator answered ${response.status}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

/** A real client-credentials token, an admin token, one token per primary and secondary, alice's. */
export async function mintTokens(emulator: EmulatorProcess): Promise<Tokens> {
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  const chunks = async (subs: string[], mint: (s: string[]) => Promise<string[]>) => {
    const out: string[] = [];
    for (let at = 0; at < subs.length; at += 500) out.push(...(await mint(subs.slice(at, at + 500))));
    return out;
  };
  return {
    service: await fetchServiceToken(emulator.origin),
    admin: await emulator.adminToken('update:users read:users'),
    primaries: await chunks(range(TENANT.primaries).map(primaryId), emulator.userAccessTokens),
    secondaries: await chunks(range(TENANT.secondaries).map(secondaryId), emulator.idTokens),
    alice: (await emulator.userAccessTokens([DEMO.users.alice]))[0],
  };
}

export type LinkMode = 'jwt' | 'admin';

const GATEWAY_LINK = `mutation Link($primaryId: ID!, $input: LinkAccountsInput!) {
  linkAccounts(primaryId: $primaryId, input: $input) { identities { id provider userId connection isSocial } }
}`;
const HAND_WRITTEN_LINK = `mutation Link($primaryId: ID!, $linkWith: String, $provider: String, $userId: String) {
  linkAccounts(primaryId: $primaryId, linkWith: $linkWith, provider: $provider, userId: $userId) {
    provider user_id connection isSocial
  }
}`;

/**
 * Link `i` (secondary `i` into primary `i % primaries`) as a GraphQL request to the gateway or to
 * the hand-written server: jwt mode with the primary's token and the secondary's ID token, admin
 * mode with the admin token and `{ provider, userId }`.
 */
export function linkRequest(
  server: 'gateway' | 'hand-written',
  tokens: Tokens,
  mode: LinkMode,
): (i: number) => BenchRequest {
  return (i) => {
    const primary = primaryOf(i);
    const userId = bare(secondaryId(i));
    const linkWith = tokens.secondaries[i];
    const variables =
      server === 'gateway'
        ? {
            primaryId: primary,
            input: mode === 'jwt' ? { jwt: { linkWith } } : { admin: { provider: 'auth0', userId } },
          }
        : mode === 'jwt'
          ? { primaryId: primary, linkWith }
          : { primaryId: primary, provider: 'auth0', userId };
    return {
      headers: bearer(mode === 'jwt' ? primaryTokenOf(tokens, i) : tokens.admin),
      body: JSON.stringify({ query: server === 'gateway' ? GATEWAY_LINK : HAND_WRITTEN_LINK, variables }),
    };
  };
}
