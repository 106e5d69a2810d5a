import { DEMO } from '../auth0-emulator/demo-seed.js';

/**
 * The operations a frontend sends, shared by the demo page, the IDE's default tabs and the
 * requests `npm start` prints, so all three show the same thing. Strings marked as GraphQL and
 * without interpolation: `npm run codegen` reads them from here into the trusted documents
 * manifest (examples/generated/persisted-documents.json).
 */
// The texts are shown as they are written (IDE tabs, printed requests, the Postman collection).
// prettier-ignore
export const EXAMPLE_OPERATIONS = {
  me: /* GraphQL */ `query Me {
  me {
    id
    email
    emailVerified
    identities { id provider userId connection isSocial profileData { email name } }
  }
}`,
  link: /* GraphQL */ `mutation Link($primaryId: ID!, $input: LinkAccountsInput!) {
  linkAccounts(primaryId: $primaryId, input: $input) {
    linkId
    identities { id provider userId connection isSocial profileData { email name } }
    user { id email }
  }
}`,
  preview: /* GraphQL */ `query Preview($primaryId: ID!, $input: LinkAccountsInput!) {
  linkPreview(primaryId: $primaryId, input: $input) {
    allowed
    refusal { code reason message }
    identitiesAfter { id provider userId connection }
    carriedOver { userMetadataKeys }
    discarded { userMetadataKeys }
    auth0Calls
  }
}`,
  unlink: /* GraphQL */ `mutation Unlink($primaryId: ID!, $provider: String!, $userId: ID!) {
  unlinkAccount(primaryId: $primaryId, provider: $provider, userId: $userId) {
    identities { id provider userId connection isSocial profileData { email name } }
    user { id email }
  }
}`,
  undo: /* GraphQL */ `mutation UndoLink($linkId: ID!) {
  undoLink(linkId: $linkId) {
    primary { id identities { id provider userId connection isSocial profileData { email name } } }
    restored { id }
    keptOnPrimary
  }
}`,
} as const;

/** One line, for curl and JSON bodies. */
export function oneLine(operation: string): string {
  return operation.replace(/\s+/g, ' ').trim();
}

/** The embedded demo's example requests: Alice links her Google (jwt) and GitHub (admin) accounts. */
export function exampleVariables() {
  const [githubProvider, githubUserId] = splitUserId(DEMO.users.aliceGithub);
  const [googleProvider, googleUserId] = splitUserId(DEMO.users.aliceGoogle);
  return {
    linkJwt: {
      primaryId: DEMO.users.alice,
      input: { jwt: { linkWith: '<the secondary account ID token>' } },
    },
    linkAdmin: {
      primaryId: DEMO.users.alice,
      input: { admin: { provider: githubProvider, userId: githubUserId } },
    },
    unlink: { primaryId: DEMO.users.alice, provider: googleProvider, userId: googleUserId },
  };
}

/** `"github|4031337"` → `["github", "4031337"]` (split at the first `|` only). */
export function splitUserId(userId: string): [string, string] {
  const at = userId.indexOf('|');
  return [userId.slice(0, at), userId.slice(at + 1)];
}
