// A typed Node client: links a secondary account (jwt mode) in a few lines. Variables and result
// are typed from schema.graphql by codegen (examples/generated), so a wrong input is a compile
// error. Run: GATEWAY_URL=… ACCESS_TOKEN=… PRIMARY_ID=… LINK_WITH=… node dist/examples/link-accounts.js
// The document is in the trusted documents manifest codegen writes (generated/persisted-documents.json),
// so it also runs against a gateway started with TRUSTED_DOCUMENTS pointing at that file.
import { print, type ExecutionResult } from 'graphql';
import {
  LinkAccountsDocument,
  type LinkAccountsMutation,
  type LinkAccountsMutationVariables,
} from './generated/graphql.js';

export async function linkAccounts(
  gatewayUrl: string,
  accessToken: string,
  variables: LinkAccountsMutationVariables,
): Promise<LinkAccountsMutation['linkAccounts']> {
  const response = await fetch(gatewayUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
    body: JSON.stringify({ query: print(LinkAccountsDocument), variables }),
  });
  const { data, errors } = (await response.json()) as ExecutionResult<LinkAccountsMutation>;
  // Branch on extensions.code (then extensions.reason), never on the message.
  if (errors?.length || !data) {
    const [first] = errors ?? [];
    throw new Error(
      `${String(first?.extensions?.code)} ${String(first?.extensions?.reason ?? '')}: ${first?.message}`,
    );
  }
  return data.linkAccounts;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  const { GATEWAY_URL, ACCESS_TOKEN, PRIMARY_ID, LINK_WITH } = process.env;
  if (!GATEWAY_URL || !ACCESS_TOKEN || !PRIMARY_ID || !LINK_WITH) {
    console.error('set GATEWAY_URL, ACCESS_TOKEN, PRIMARY_ID and LINK_WITH (npm start prints all four)');
    process.exit(2);
  }
  linkAccounts(GATEWAY_URL, ACCESS_TOKEN, { primaryId: PRIMARY_ID, input: { jwt: { linkWith: LINK_WITH } } })
    .then((result) => console.log(JSON.stringify(result.identities.map((i) => i.id))))
    .catch((error: Error) => {
      console.error(error.message);
      process.exit(1);
    });
}
