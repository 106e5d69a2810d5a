import { buildSubgraphSchema } from '@apollo/subgraph';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import { type GraphQLInputObjectType, isInputObjectType, parse, type GraphQLSchema } from 'graphql';
import { buildSchema, createResolversMap } from 'type-graphql';
import {
  AccountsResolver,
  LinkAccountsPayloadResolver,
  LinkIdentityFieldsResolver,
  UndoLinkPayloadResolver,
  UnlinkAccountPayloadResolver,
  UserMetadataResolver,
} from './accounts/accounts.resolver.js';
import { resolveUserReference } from './accounts/user.reference.js';

/**
 * Federation 2 header. `@oneOf` is linked from a spec URL of our own and composed, because
 * composition otherwise strips it silently and routers would accept both modes at once.
 */
export const FEDERATION_HEADER = `extend schema
  @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@composeDirective"])
  @link(url: "https://specs.auth0-link-gateway.dev/oneOf/v0.1", import: ["@oneOf"])
  @composeDirective(name: "@oneOf")

"Exactly one field of the input object must be given (GraphQL spec, OneOf Input Objects)."
directive @oneOf on INPUT_OBJECT
`;

export interface GatewaySchema {
  /** The executable Federation 2 subgraph schema. */
  schema: GraphQLSchema;
  /** Its SDL, as `_service { sdl }` serves it and `schema.graphql` stores it. */
  sdl: string;
}

function hasOneOfDirective(type: GraphQLInputObjectType): boolean {
  return type.astNode?.directives?.some((d) => d.name.value === 'oneOf') ?? false;
}

/**
 * type-graphql has no oneOf option: inputs marked `@oneOf` become real OneOf input objects here,
 * so graphql-js rejects both-members and no-member inputs and introspection says `isOneOf`.
 */
function enforceOneOf(schema: GraphQLSchema): void {
  for (const type of Object.values(schema.getTypeMap())) {
    if (isInputObjectType(type) && hasOneOfDirective(type) && !type.isOneOf) {
      // The subgraph builder keeps resolveReference on object types, so the input type is
      // updated where it stands rather than rebuilt with mapSchema.
      (type as { isOneOf: boolean }).isOneOf = true;
    }
  }
}

/** DESIGN §2: every type has a description, the root types included. */
export const ROOT_TYPE_DESCRIPTIONS = {
  Query:
    "Reads: the caller's own user, a user by id, the accounts a user may want to link, and a link's preview.",
  Mutation: 'Account linking: link a secondary account into a primary one, or unlink it again.',
} as const;

/** type-graphql has no option for the root types' descriptions: set them on the built types. */
function describeRootTypes(schema: GraphQLSchema): void {
  for (const [name, description] of Object.entries(ROOT_TYPE_DESCRIPTIONS)) {
    const type = schema.getType(name);
    if (type) type.description = description;
  }
}

/** Builds the code-first schema and wraps it as a Federation 2 subgraph. */
export async function buildGatewaySchema(): Promise<GatewaySchema> {
  const codeFirst = await buildSchema({
    resolvers: [
      AccountsResolver,
      LinkAccountsPayloadResolver,
      LinkIdentityFieldsResolver,
      UndoLinkPayloadResolver,
      UnlinkAccountPayloadResolver,
      UserMetadataResolver,
    ],
    validate: false,
  });
  describeRootTypes(codeFirst);
  const sdl = `${FEDERATION_HEADER}\n${printSchemaWithDirectives(codeFirst)}\n`;
  const resolvers = createResolversMap(codeFirst) as Record<string, Record<string, unknown>>;
  resolvers.User = { ...resolvers.User, __resolveReference: resolveUserReference };
  const schema = buildSubgraphSchema({ typeDefs: parse(sdl), resolvers: resolvers as never });
  enforceOneOf(schema);
  return { schema, sdl };
}
