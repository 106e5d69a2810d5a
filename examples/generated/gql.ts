/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "mutation LinkAccounts($primaryId: ID!, $input: LinkAccountsInput!) {\n  linkAccounts(primaryId: $primaryId, input: $input) {\n    identities {\n      id\n      provider\n      userId\n    }\n  }\n}": typeof types.LinkAccountsDocument,
    "query Me {\n  me {\n    id\n    email\n    emailVerified\n    identities { id provider userId connection isSocial profileData { email name } }\n  }\n}": typeof types.MeDocument,
    "mutation Link($primaryId: ID!, $input: LinkAccountsInput!) {\n  linkAccounts(primaryId: $primaryId, input: $input) {\n    linkId\n    identities { id provider userId connection isSocial profileData { email name } }\n    user { id email }\n  }\n}": typeof types.LinkDocument,
    "query Preview($primaryId: ID!, $input: LinkAccountsInput!) {\n  linkPreview(primaryId: $primaryId, input: $input) {\n    allowed\n    refusal { code reason message }\n    identitiesAfter { id provider userId connection }\n    carriedOver { userMetadataKeys }\n    discarded { userMetadataKeys }\n    auth0Calls\n  }\n}": typeof types.PreviewDocument,
    "mutation Unlink($primaryId: ID!, $provider: String!, $userId: ID!) {\n  unlinkAccount(primaryId: $primaryId, provider: $provider, userId: $userId) {\n    identities { id provider userId connection isSocial profileData { email name } }\n    user { id email }\n  }\n}": typeof types.UnlinkDocument,
    "mutation UndoLink($linkId: ID!) {\n  undoLink(linkId: $linkId) {\n    primary { id identities { id provider userId connection isSocial profileData { email name } } }\n    restored { id }\n    keptOnPrimary\n  }\n}": typeof types.UndoLinkDocument,
};
const documents: Documents = {
    "mutation LinkAccounts($primaryId: ID!, $input: LinkAccountsInput!) {\n  linkAccounts(primaryId: $primaryId, input: $input) {\n    identities {\n      id\n      provider\n      userId\n    }\n  }\n}": types.LinkAccountsDocument,
    "query Me {\n  me {\n    id\n    email\n    emailVerified\n    identities { id provider userId connection isSocial profileData { email name } }\n  }\n}": types.MeDocument,
    "mutation Link($primaryId: ID!, $input: LinkAccountsInput!) {\n  linkAccounts(primaryId: $primaryId, input: $input) {\n    linkId\n    identities { id provider userId connection isSocial profileData { email name } }\n    user { id email }\n  }\n}": types.LinkDocument,
    "query Preview($primaryId: ID!, $input: LinkAccountsInput!) {\n  linkPreview(primaryId: $primaryId, input: $input) {\n    allowed\n    refusal { code reason message }\n    identitiesAfter { id provider userId connection }\n    carriedOver { userMetadataKeys }\n    discarded { userMetadataKeys }\n    auth0Calls\n  }\n}": types.PreviewDocument,
    "mutation Unlink($primaryId: ID!, $provider: String!, $userId: ID!) {\n  unlinkAccount(primaryId: $primaryId, provider: $provider, userId: $userId) {\n    identities { id provider userId connection isSocial profileData { email name } }\n    user { id email }\n  }\n}": types.UnlinkDocument,
    "mutation UndoLink($linkId: ID!) {\n  undoLink(linkId: $linkId) {\n    primary { id identities { id provider userId connection isSocial profileData { email name } } }\n    restored { id }\n    keptOnPrimary\n  }\n}": types.UndoLinkDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation LinkAccounts($primaryId: ID!, $input: LinkAccountsInput!) {\n  linkAccounts(primaryId: $primaryId, input: $input) {\n    identities {\n      id\n      provider\n      userId\n    }\n  }\n}"): (typeof documents)["mutation LinkAccounts($primaryId: ID!, $input: LinkAccountsInput!) {\n  linkAccounts(primaryId: $primaryId, input: $input) {\n    identities {\n      id\n      provider\n      userId\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Me {\n  me {\n    id\n    email\n    emailVerified\n    identities { id provider userId connection isSocial profileData { email name } }\n  }\n}"): (typeof documents)["query Me {\n  me {\n    id\n    email\n    emailVerified\n    identities { id provider userId connection isSocial profileData { email name } }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation Link($primaryId: ID!, $input: LinkAccountsInput!) {\n  linkAccounts(primaryId: $primaryId, input: $input) {\n    linkId\n    identities { id provider userId connection isSocial profileData { email name } }\n    user { id email }\n  }\n}"): (typeof documents)["mutation Link($primaryId: ID!, $input: LinkAccountsInput!) {\n  linkAccounts(primaryId: $primaryId, input: $input) {\n    linkId\n    identities { id provider userId connection isSocial profileData { email name } }\n    user { id email }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Preview($primaryId: ID!, $input: LinkAccountsInput!) {\n  linkPreview(primaryId: $primaryId, input: $input) {\n    allowed\n    refusal { code reason message }\n    identitiesAfter { id provider userId connection }\n    carriedOver { userMetadataKeys }\n    discarded { userMetadataKeys }\n    auth0Calls\n  }\n}"): (typeof documents)["query Preview($primaryId: ID!, $input: LinkAccountsInput!) {\n  linkPreview(primaryId: $primaryId, input: $input) {\n    allowed\n    refusal { code reason message }\n    identitiesAfter { id provider userId connection }\n    carriedOver { userMetadataKeys }\n    discarded { userMetadataKeys }\n    auth0Calls\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation Unlink($primaryId: ID!, $provider: String!, $userId: ID!) {\n  unlinkAccount(primaryId: $primaryId, provider: $provider, userId: $userId) {\n    identities { id provider userId connection isSocial profileData { email name } }\n    user { id email }\n  }\n}"): (typeof documents)["mutation Unlink($primaryId: ID!, $provider: String!, $userId: ID!) {\n  unlinkAccount(primaryId: $primaryId, provider: $provider, userId: $userId) {\n    identities { id provider userId connection isSocial profileData { email name } }\n    user { id email }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation UndoLink($linkId: ID!) {\n  undoLink(linkId: $linkId) {\n    primary { id identities { id provider userId connection isSocial profileData { email name } } }\n    restored { id }\n    keptOnPrimary\n  }\n}"): (typeof documents)["mutation UndoLink($linkId: ID!) {\n  undoLink(linkId: $linkId) {\n    primary { id identities { id provider userId connection isSocial profileData { email name } } }\n    restored { id }\n    keptOnPrimary\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;