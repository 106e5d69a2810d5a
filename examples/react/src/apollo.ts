// Apollo Client for the gateway: the user's access token on every request, and trusted documents
// (the document's sha256 id instead of its text).
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { SetContextLink } from '@apollo/client/link/context';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { getOperationAST, type ASTNode } from 'graphql';
import manifest from './gql/persisted-documents.json';

/** Operation name → its id and its text as codegen wrote them into the manifest. */
const TRUSTED = new Map(
  Object.entries(manifest as Record<string, string>).map(([hash, document]) => {
    const name = /^(?:query|mutation|subscription)\s+(\w+)/.exec(document)?.[1];
    if (!name) throw new Error(`persisted-documents.json: an operation without a name (${hash})`);
    return [name, { hash, document }];
  }),
);

function trustedDocumentOf(document: ASTNode): { hash: string; document: string } {
  const name = document.kind === 'Document' ? (getOperationAST(document)?.name?.value ?? null) : null;
  const trusted = name ? TRUSTED.get(name) : undefined;
  // An operation that is not in the manifest would be refused by a TRUSTED_DOCUMENTS gateway:
  // fail here, where the developer sees it, not as PERSISTED_QUERY_NOT_IN_LIST at run time.
  if (!trusted)
    throw new Error(
      `Operation ${name ?? '(anonymous)'} is not in persisted-documents.json: run \`npm run codegen\``,
    );
  return trusted;
}

export interface GatewayClientOptions {
  gatewayUrl: string;
  /** The primary user's access token for the gateway (audience `<tenant>/api/v2/`). */
  getAccessToken: () => Promise<string>;
}

export function createGatewayClient({ gatewayUrl, getAccessToken }: GatewayClientOptions): ApolloClient {
  const auth = new SetContextLink(async (prevContext) => ({
    headers: { ...prevContext.headers, authorization: `Bearer ${await getAccessToken()}` },
  }));
  // The manifest's id (`extensions.persistedQuery.sha256Hash`), never a hash of Apollo's own
  // printing. A TRUSTED_DOCUMENTS gateway runs the listed document and answers an unknown id with
  // PERSISTED_QUERY_NOT_IN_LIST, which is not retried. A gateway without a list (the root's
  // `npm start`) answers PERSISTED_QUERY_NOT_FOUND the first time, and the link sends the text
  // once (automatic persisted queries): the manifest's text, whose sha256 is that id.
  const persisted = new PersistedQueryLink({ generateHash: (document) => trustedDocumentOf(document).hash });
  const http = new HttpLink({
    uri: gatewayUrl,
    print: (ast) => trustedDocumentOf(ast).document,
  });
  return new ApolloClient({
    link: ApolloLink.from([auth, persisted, http]),
    cache: new InMemoryCache(),
  });
}
