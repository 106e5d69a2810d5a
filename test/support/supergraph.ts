// A real supergraph for e2e tests: composition with @apollo/composition, a second subgraph that
// extends `User`, and two routers (@apollo/gateway, Hive Gateway), all over HTTP on 127.0.0.1.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { composeServices } from '@apollo/composition';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import {
  createGatewayRuntime,
  type GatewayPlugin,
  Logger as HiveLogger,
} from '@graphql-hive/gateway-runtime';
import {
  GraphQLError,
  type GraphQLSchema,
  type InputObjectTypeDefinitionNode,
  type InputObjectTypeExtensionNode,
  isInputObjectType,
  Kind,
  parse,
  print,
} from 'graphql';

/** Headers the router forwards (docs/federation.md, "Headers the router must forward"): `x-request-id` to every subgraph, `authorization` to some. */
export const FORWARDED_HEADERS = ['authorization', 'x-request-id'] as const;

/**
 * In JWT mode the caller's bearer is a Management API token for the user's own identities, so
 * the router hands it only to the subgraphs that need it (docs/federation.md, "Headers the router must forward").
 */
export const AUTHORIZATION_SUBGRAPHS = ['accounts'];

/**
 * Subgraphs whose errors reach clients as they are (docs/federation.md, "Errors through the
 * router"): this service's messages and extensions are written for clients; another subgraph's
 * error becomes {@link MASKED_SUBGRAPH_ERROR}, since nothing says its messages are.
 */
export const SHOWN_ERROR_SUBGRAPHS = ['accounts'];

/** What a client gets in place of an error from a subgraph not in `SHOWN_ERROR_SUBGRAPHS`. */
export const MASKED_SUBGRAPH_ERROR = { message: 'Unexpected error', code: 'INTERNAL_SERVER_ERROR' };

export interface SubgraphSource {
  name: string;
  /** The subgraph's GraphQL endpoint, written into the supergraph for the router. */
  url: string;
  sdl: string;
}

/** `_service { sdl }` of a running subgraph: what `rover subgraph introspect` reads. */
export async function fetchSubgraphSdl(url: string): Promise<string> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ _service { sdl } }' }),
  });
  const body = (await response.json()) as { data?: { _service?: { sdl?: string } }; errors?: unknown[] };
  const sdl = body.data?._service?.sdl;
  if (!response.ok || typeof sdl !== 'string') {
    throw new Error(
      `_service { sdl } failed at ${url}: HTTP ${response.status} ${JSON.stringify(body.errors)}`,
    );
  }
  return sdl;
}

/** Composes subgraphs as `rover supergraph compose` does; throws with every error on failure. */
export function composeSupergraph(subgraphs: SubgraphSource[]): { supergraphSdl: string; hints: string[] } {
  const result = composeServices(
    subgraphs.map(({ name, url, sdl }) => ({ name, url, typeDefs: parse(sdl) })),
  );
  if (result.errors) {
    throw new Error(`composition failed:\n${result.errors.map((e) => e.message).join('\n')}`);
  }
  return { supergraphSdl: result.supergraphSdl, hints: result.hints.map((h) => h.toString()) };
}

/** Names of the input types that carry `@oneOf` in a supergraph (or any) SDL. */
export function oneOfInputNames(sdl: string): string[] {
  return parse(sdl)
    .definitions.filter(
      (d): d is InputObjectTypeDefinitionNode | InputObjectTypeExtensionNode =>
        (d.kind === Kind.INPUT_OBJECT_TYPE_DEFINITION || d.kind === Kind.INPUT_OBJECT_TYPE_EXTENSION) &&
        !!d.directives?.some((directive) => directive.name.value === 'oneOf'),
    )
    .map((d) => d.name.value);
}

/**
 * The gateway's API schema drops `isOneOf` (its input types carry no directives), so the router
 * would pass a both-members input on to the subgraph. This marks the types that carry `@oneOf`
 * in the composed supergraph as OneOf in the API schema, in place: graphql-js validation (literals)
 * and the gateway's variable coercion then refuse such inputs in the router itself.
 * Register it with `gateway.onSchemaLoadOrUpdate` before the gateway is loaded.
 */
export function enforceOneOfInputs(schemaContext: {
  apiSchema: GraphQLSchema;
  coreSupergraphSdl: string;
}): string[] {
  const marked: string[] = [];
  for (const name of oneOfInputNames(schemaContext.coreSupergraphSdl)) {
    const type = schemaContext.apiSchema.getType(name);
    if (isInputObjectType(type) && !type.isOneOf) {
      (type as { isOneOf: boolean }).isOneOf = true;
      marked.push(name);
    }
  }
  return marked;
}

/** What the router hands to `RemoteGraphQLDataSource.willSendRequest`: the client's headers to forward. */
export interface RouterContext {
  forwardedHeaders: Record<string, string>;
}

/** A router serving the supergraph, whichever implementation. */
export interface Router {
  /** The router's GraphQL endpoint on 127.0.0.1. */
  url: string;
  /** Every request the router sent to a subgraph, in order: shows what a client request reached. */
  subgraphRequests: { subgraph: string; query: string }[];
  close(): Promise<void>;
}

/** The client headers a router forwards to `subgraph` (docs/federation.md, "Headers the router must forward"). */
function headersFor(
  subgraph: string,
  header: (name: string) => string | null | undefined,
  authorizationSubgraphs: string[],
): Record<string, string> {
  const forwarded: Record<string, string> = {};
  for (const name of FORWARDED_HEADERS) {
    if (name === 'authorization' && !authorizationSubgraphs.includes(subgraph)) continue;
    const value = header(name);
    if (typeof value === 'string') forwarded[name] = value;
  }
  return forwarded;
}

export interface HiveRouter extends Router {
  /** Every URL the gateway runtime fetched (its own HTTP client): subgraphs, and nothing else. */
  fetchedUrls: string[];
}

export interface ApolloRouter extends Router {
  gateway: ApolloGateway;
  /** Input types the OneOf workaround marked, at the last schema load (empty when disabled). */
  oneOfInputs: string[];
}

/**
 * Serves a supergraph with @apollo/gateway in Apollo Server 5 on 127.0.0.1, port 0, forwarding
 * `x-request-id` to every subgraph and `Authorization` to `authorizationSubgraphs`.
 * `enforceOneOf: false` leaves the gateway as it ships, to show what a router without the
 * workaround does.
 */
export async function startRouter(options: {
  supergraphSdl: string;
  enforceOneOf?: boolean;
  /** Subgraphs that receive the caller's `Authorization`; default `AUTHORIZATION_SUBGRAPHS`. */
  authorizationSubgraphs?: string[];
  /** Subgraphs whose errors pass unchanged; default `SHOWN_ERROR_SUBGRAPHS`. */
  shownErrorSubgraphs?: string[];
}): Promise<ApolloRouter> {
  const authorizationSubgraphs = options.authorizationSubgraphs ?? AUTHORIZATION_SUBGRAPHS;
  const shownErrorSubgraphs = options.shownErrorSubgraphs ?? SHOWN_ERROR_SUBGRAPHS;
  // Without it the gateway reports usage to Apollo and probes cloud metadata addresses.
  if (process.env.APOLLO_TELEMETRY_DISABLED !== 'true') {
    throw new Error('APOLLO_TELEMETRY_DISABLED=true must be set before an ApolloGateway is constructed');
  }
  const subgraphRequests: Router['subgraphRequests'] = [];
  const gateway = new ApolloGateway({
    supergraphSdl: options.supergraphSdl,
    buildService: ({ name, url }) =>
      new RemoteGraphQLDataSource<RouterContext>({
        url,
        willSendRequest(options) {
          subgraphRequests.push({ subgraph: name, query: options.request.query ?? '' });
          // Schema loading and health checks have no client request behind them.
          if (!('incomingRequestContext' in options)) return;
          const { forwardedHeaders } = options.context;
          for (const [header, value] of Object.entries(
            headersFor(name, (h) => forwardedHeaders[h], authorizationSubgraphs),
          )) {
            options.request.http?.headers.set(header, value);
          }
        },
      }),
  });
  const router: ApolloRouter = { url: '', gateway, subgraphRequests, oneOfInputs: [], close: async () => {} };
  if (options.enforceOneOf !== false) {
    gateway.onSchemaLoadOrUpdate((schemaContext) => {
      router.oneOfInputs = enforceOneOfInputs(schemaContext);
    });
  }
  const server = new ApolloServer<RouterContext>({
    gateway,
    // Otherwise Apollo Server adds the gateway's own stack trace unless NODE_ENV is production or test.
    includeStacktraceInErrorResponses: false,
    // The gateway copies a subgraph error's message and extensions and adds `serviceName`; errors
    // of the gateway itself (validation, planning) have none and pass as they are.
    formatError: (formatted) => {
      const serviceName = formatted.extensions?.serviceName;
      if (typeof serviceName !== 'string' || shownErrorSubgraphs.includes(serviceName)) return formatted;
      return {
        message: MASKED_SUBGRAPH_ERROR.message,
        path: formatted.path,
        extensions: { code: MASKED_SUBGRAPH_ERROR.code },
      };
    },
  });
  const { url } = await startStandaloneServer(server, {
    listen: { host: '127.0.0.1', port: 0 },
    context: async ({ req }) => {
      const forwardedHeaders: Record<string, string> = {};
      for (const name of FORWARDED_HEADERS) {
        const value = req.headers[name];
        if (typeof value === 'string') forwardedHeaders[name] = value;
      }
      return { forwardedHeaders };
    },
  });
  router.url = url;
  router.close = () => server.stop();
  return router;
}

/**
 * Hive Gateway passes every subgraph's errors as they are (adding `code: DOWNSTREAM_SERVICE_ERROR`
 * where none is set, and `serviceName`); its `maskedErrors` masks only unexpected errors, not these.
 * This replaces the errors of the subgraphs not in `shown` before the gateway merges them.
 */
export function maskSubgraphErrorsExcept(shown: string[]): GatewayPlugin {
  return {
    onSubgraphExecute({ subgraphName }) {
      if (shown.includes(subgraphName)) return;
      return ({ result, setResult }) => {
        // Subscriptions (async iterables) are not served by these subgraphs.
        if (Symbol.asyncIterator in result || !result.errors) return;
        setResult({
          ...result,
          errors: result.errors.map(
            (error) =>
              new GraphQLError(MASKED_SUBGRAPH_ERROR.message, {
                path: error.path,
                extensions: { code: MASKED_SUBGRAPH_ERROR.code },
              }),
          ),
        });
      };
    },
  };
}

/**
 * Serves a supergraph with Hive Gateway (`@graphql-hive/gateway-runtime`) over node:http on
 * 127.0.0.1, port 0, forwarding headers as {@link startRouter} does, with
 * `propagateHeaders.fromClientToSubgraphs`. The supergraph is given as SDL: no schema registry,
 * no CDN, no usage reporting (none is configured), so it talks only to the subgraphs.
 */
export async function startHiveRouter(options: {
  supergraphSdl: string;
  authorizationSubgraphs?: string[];
  /** Subgraphs whose errors pass unchanged; default `SHOWN_ERROR_SUBGRAPHS`. */
  shownErrorSubgraphs?: string[];
}): Promise<HiveRouter> {
  const authorizationSubgraphs = options.authorizationSubgraphs ?? AUTHORIZATION_SUBGRAPHS;
  const shownErrorSubgraphs = options.shownErrorSubgraphs ?? SHOWN_ERROR_SUBGRAPHS;
  const subgraphRequests: Router['subgraphRequests'] = [];
  const fetchedUrls: string[] = [];
  const recordSubgraphRequests: GatewayPlugin = {
    onSubgraphExecute({ subgraphName, executionRequest }) {
      subgraphRequests.push({ subgraph: subgraphName, query: print(executionRequest.document) });
    },
    onFetch({ url }) {
      fetchedUrls.push(url);
    },
  };
  const runtime = createGatewayRuntime({
    supergraph: options.supergraphSdl,
    // Quiet in tests. Its logger refuses to start on a LOG_LEVEL it does not know (pino's
    // `silent`), whatever level is given here: see test/support/setup-env.ts.
    logging: new HiveLogger({ level: false }),
    landingPage: false,
    graphiql: false,
    propagateHeaders: {
      fromClientToSubgraphs: ({ request, subgraphName }) =>
        headersFor(subgraphName, (name) => request.headers.get(name), authorizationSubgraphs),
    },
    plugins: () => [recordSubgraphRequests, maskSubgraphErrorsExcept(shownErrorSubgraphs)],
  });
  const server = createServer(runtime);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${runtime.graphqlEndpoint}`,
    subgraphRequests,
    fetchedUrls,
    close: async () => {
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
      await runtime.dispose();
    },
  };
}

/** One request the loyalty subgraph received. */
export interface ReceivedRequest {
  query: string;
  variables: Record<string, unknown>;
  authorization: string | undefined;
  requestId: string | undefined;
}

export interface LoyaltySubgraph {
  name: 'loyalty';
  url: string;
  sdl: string;
  /** Every operation it received, in order. */
  requests: ReceivedRequest[];
  /** The `_entities` operations among them. */
  entityRequests(): ReceivedRequest[];
  close(): Promise<void>;
}

export const LOYALTY_SDL = `extend schema
  @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])

type User @key(fields: "id") {
  id: ID!
  "Loyalty tier, owned by the loyalty subgraph."
  loyaltyTier: String
}

type Query {
  "Users with the highest tiers, as references the accounts subgraph resolves."
  loyaltyLeaders: [User!]!
  "Always fails, with a message meant for the loyalty team only: shows what the router does with another subgraph's errors."
  loyaltyFault: String
}
`;

/** The loyalty subgraph's own error, which routers configured as docs/federation.md says mask. */
export const LOYALTY_FAULT = {
  message: 'loyalty database at 10.0.0.7:5432 refused the connection',
  code: 'LOYALTY_DB_DOWN',
};

/**
 * A second subgraph as a platform team would write one: it extends `User @key(fields: "id")` with
 * `loyaltyTier`, and lists `loyaltyLeaders` so that a plan needs `User` entities from the accounts
 * subgraph. `tiers` maps user ids to tiers; the leaders are its keys, in order.
 */
export async function startLoyaltySubgraph(tiers: Record<string, string>): Promise<LoyaltySubgraph> {
  const requests: ReceivedRequest[] = [];
  const schema = buildSubgraphSchema({
    typeDefs: parse(LOYALTY_SDL),
    resolvers: {
      Query: {
        loyaltyLeaders: () => Object.keys(tiers).map((id) => ({ id })),
        loyaltyFault: () => {
          throw new GraphQLError(LOYALTY_FAULT.message, { extensions: { code: LOYALTY_FAULT.code } });
        },
      },
      User: {
        __resolveReference: (reference: { id: string }) => reference,
        loyaltyTier: (user: { id: string }) => tiers[user.id] ?? null,
      },
    },
  });
  const server = new ApolloServer({
    schema,
    plugins: [
      ApolloServerPluginInlineTraceDisabled(),
      {
        async requestDidStart({ request }) {
          const header = (name: string) => request.http?.headers.get(name) ?? undefined;
          requests.push({
            query: request.query ?? '',
            variables: request.variables ?? {},
            authorization: header('authorization'),
            requestId: header('x-request-id'),
          });
        },
      },
    ],
  });
  const { url } = await startStandaloneServer(server, { listen: { host: '127.0.0.1', port: 0 } });
  return {
    name: 'loyalty',
    url,
    sdl: LOYALTY_SDL,
    requests,
    entityRequests: () => requests.filter((r) => r.query.includes('_entities')),
    close: () => server.stop(),
  };
}
