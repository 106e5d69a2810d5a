// The baseline: what someone would write by hand instead of the gateway. One Apollo Server, one
// mutation whose resolver POSTs the link body to Auth0 with `fetch` and returns the identities.
// No caller verification, no rate-limit budget, no retries, no error mapping beyond the status.
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { GraphQLError } from 'graphql';

const origin = process.env.AUTH0_ORIGIN ?? '';
const clientId = process.env.AUTH0_CLIENT_ID ?? '';
const clientSecret = process.env.AUTH0_CLIENT_SECRET ?? '';

const typeDefs = `#graphql
  type Identity { provider: String!, user_id: String!, connection: String!, isSocial: Boolean! }
  type Query { ok: Boolean }
  type Mutation {
    "JWT mode when linkWith is given (the caller's bearer is forwarded), else admin mode (service token)."
    linkAccounts(primaryId: ID!, linkWith: String, provider: String, userId: String): [Identity!]!
  }
`;

interface Context {
  authorization?: string;
}

interface LinkArgs {
  primaryId: string;
  linkWith?: string | null;
  provider?: string | null;
  userId?: string | null;
}

async function fetchServiceToken(): Promise<string> {
  const response = await fetch(`${origin}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
      audience: `${origin}/api/v2/`,
    }),
  });
  if (!response.ok) throw new Error(`token endpoint answered ${response.status}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

async function main() {
  const serviceToken = await fetchServiceToken();
  const resolvers = {
    Identity: { user_id: (identity: { user_id: string | number }) => String(identity.user_id) },
    Mutation: {
      async linkAccounts(_: unknown, args: LinkArgs, ctx: Context) {
        const jwt = args.linkWith != null;
        const response = await fetch(
          `${origin}/api/v2/users/${encodeURIComponent(args.primaryId)}/identities`,
          {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              authorization: jwt ? (ctx.authorization ?? '') : `Bearer ${serviceToken}`,
            },
            body: JSON.stringify(
              jwt ? { link_with: args.linkWith } : { provider: args.provider, user_id: args.userId },
            ),
          },
        );
        const body: unknown = await response.json();
        if (!response.ok) {
          throw new GraphQLError(`Auth0 answered ${response.status}`, {
            extensions: { code: response.status === 429 ? 'RATE_LIMITED' : `HTTP_${response.status}` },
          });
        }
        return body;
      },
    },
  };
  const server = new ApolloServer<Context>({ typeDefs, resolvers });
  const { url } = await startStandaloneServer(server, {
    listen: { host: '127.0.0.1', port: 0 },
    context: async ({ req }) => ({ authorization: req.headers.authorization }),
  });
  console.log(`GraphQL: ${url.replace(/\/$/, '')}/graphql`);
  const stop = () => void server.stop().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  console.error('minimal-server:', error);
  process.exit(1);
});
