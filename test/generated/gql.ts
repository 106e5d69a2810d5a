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
    "fragment IdentityFields on Identity {\n  id\n  provider\n  userId\n  connection\n  isSocial\n  profileData {\n    email\n    emailVerified\n    name\n  }\n}\n\nmutation LinkAccounts($primaryId: ID!, $input: LinkAccountsInput!) {\n  linkAccounts(primaryId: $primaryId, input: $input) {\n    identities {\n      ...IdentityFields\n    }\n    user {\n      id\n      email\n    }\n  }\n}\n\nmutation UnlinkAccount($primaryId: ID!, $provider: String!, $userId: ID!) {\n  unlinkAccount(primaryId: $primaryId, provider: $provider, userId: $userId) {\n    identities {\n      ...IdentityFields\n    }\n    user {\n      id\n      email\n    }\n  }\n}\n\nquery Me {\n  me {\n    id\n    email\n    emailVerified\n    identities {\n      ...IdentityFields\n    }\n  }\n}\n\nquery User($id: ID!) {\n  user(id: $id) {\n    id\n    email\n    identities {\n      ...IdentityFields\n    }\n  }\n}\n\nquery LinkCandidates($primaryId: ID!) {\n  linkCandidates(primaryId: $primaryId) {\n    id\n    email\n    emailVerified\n  }\n}": typeof types.IdentityFieldsFragmentDoc,
    "query LinkPreview($primaryId: ID!, $input: LinkAccountsInput!) {\n  linkPreview(primaryId: $primaryId, input: $input) {\n    allowed\n    refusal {\n      code\n      reason\n      message\n    }\n    identitiesAfter {\n      id\n    }\n    userMetadataAfter\n    appMetadataAfter\n    carriedOver {\n      ...CarriedOverParts\n    }\n    discarded {\n      ...CarriedOverParts\n    }\n    auth0Calls\n  }\n}\n\nfragment CarriedOverParts on CarriedOver {\n  userMetadataKeys\n  appMetadataKeys\n  roles {\n    id\n    name\n  }\n  organizations {\n    organizationId\n    organizationName\n    roles {\n      id\n      name\n    }\n  }\n}\n\nmutation LinkAccountsIdentitiesOnly($primaryId: ID!, $input: LinkAccountsInput!) {\n  linkAccounts(primaryId: $primaryId, input: $input) {\n    identities {\n      id\n    }\n  }\n}": typeof types.LinkPreviewDocument,
    "mutation LinkAccountsMergingMetadata($primaryId: ID!, $input: LinkAccountsInput!) {\n  linkAccounts(primaryId: $primaryId, input: $input) {\n    identities {\n      id\n    }\n    user {\n      id\n      userMetadata\n    }\n    mergedMetadata {\n      userMetadataKeys\n      appMetadataKeys\n    }\n  }\n}\n\nquery UserMetadata($id: ID!) {\n  user(id: $id) {\n    id\n    email\n    userMetadata\n    appMetadata\n  }\n}": typeof types.LinkAccountsMergingMetadataDocument,
};
const documents: Documents = {
    "fragment IdentityFields on Identity {\n  id\n  provider\n  userId\n  connection\n  isSocial\n  profileData {\n    email\n    emailVerified\n    name\n  }\n}\n\nmutation LinkAccounts($primaryId: ID!, $input: LinkAccountsInput!) {\n  linkAccounts(primaryId: $primaryId, input: $input) {\n    identities {\n      ...IdentityFields\n    }\n    user {\n      id\n      email\n    }\n  }\n}\n\nmutation UnlinkAccount($primaryId: ID!, $provider: String!, $userId: ID!) {\n  unlinkAccount(primaryId: $primaryId, provider: $provider, userId: $userId) {\n    identities {\n      ...IdentityFields\n    }\n    user {\n      id\n      email\n    }\n  }\n}\n\nquery Me {\n  me {\n    id\n    email\n    emailVerified\n    identities {\n      ...IdentityFields\n    }\n  }\n}\n\nquery User($id: ID!) {\n  user(id: $id) {\n    id\n    email\n    identities {\n      ...IdentityFields\n    }\n  }\n}\n\nquery LinkCandidates($primaryId: ID!) {\n  linkCandidates(primaryId: $primaryId) {\n    id\n    email\n    emailVerified\n  }\n}": types.IdentityFieldsFragmentDoc,
    "query LinkPreview($primaryId: ID!, $input: LinkAccountsInput!) {\n  linkPreview(primaryId: $primaryId, input: $input) {\n    allowed\n    refusal {\n      code\n      reason\n      message\n    }\n    identitiesAfter {\n      id\n    }\n    userMetadataAfter\n    appMetadataAfter\n    carriedOver {\n      ...CarriedOverParts\n    }\n    discarded {\n      ...CarriedOverParts\n    }\n    auth0Calls\n  }\n}\n\nfragment CarriedOverParts on CarriedOver {\n  userMetadataKeys\n  appMetadataKeys\n  roles {\n    id\n    name\n  }\n  organizations {\n    organizationId\n    organizationName\n    roles {\n      id\n      name\n    }\n  }\n}\n\nmutation LinkAccountsIdentitiesOnly($primaryId: ID!, $input: LinkAccountsInput!) {\n  linkAccounts(primaryId: $primaryId, input: $input) {\n    identities {\n      id\n    }\n  }\n}": types.LinkPreviewDocument,
    "mutation LinkAccountsMergingMetadata($primaryId: ID!, $input: LinkAccountsInput!) {\n  linkAccounts(primaryId: $primaryId, input: $input) {\n    identities {\n      id\n    }\n    user {\n      id\n      userMetadata\n    }\n    mergedMetadata {\n      userMetadataKeys\n      appMetadataKeys\n    }\n  }\n}\n\nquery UserMetadata($id: ID!) {\n  user(id: $id) {\n    id\n    email\n    userMetadata\n    appMetadata\n  }\n}": types.LinkAccountsMergingMetadataDocument,
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
export function graphql(source: "fragment IdentityFields on Identity {\n  id\n  provider\n  userId\n  connection\n  isSocial\n  profileData {\n    email\n    emailVerified\n    name\n  }\n}\n\nmutation LinkAccounts($primaryId: ID!, $input: LinkAccountsInput!) {\n  linkAccounts(primaryId: $primaryId, input: $input) {\n    identities {\n      ...IdentityFields\n    }\n    user {\n      id\n      email\n    }\n  }\n}\n\nmutation UnlinkAccount($primaryId: ID!, $provider: String!, $userId: ID!) {\n  unlinkAccount(primaryId: $primaryId, provider: $provider, userId: $userId) {\n    identities {\n      ...IdentityFields\n    }\n    user {\n      id\n      email\n    }\n  }\n}\n\nquery Me {\n  me {\n    id\n    email\n    emailVerified\n    identities {\n      ...IdentityFields\n    }\n  }\n}\n\nquery User($id: ID!) {\n  user(id: $id) {\n    id\n    email\n    identities {\n      ...IdentityFields\n    }\n  }\n}\n\nquery LinkCandidates($primaryId: ID!) {\n  linkCandidates(primaryId: $primaryId) {\n    id\n    email\n    emailVerified\n  }\n}"): (typeof documents)["fragment IdentityFields on Identity {\n  id\n  provider\n  userId\n  connection\n  isSocial\n  profileData {\n    email\n    emailVerified\n    name\n  }\n}\n\nmutation LinkAccounts($primaryId: ID!, $input: LinkAccountsInput!) {\n  linkAccounts(primaryId: $primaryId, input: $input) {\n    identities {\n      ...IdentityFields\n    }\n    user {\n      id\n      email\n    }\n  }\n}\n\nmutation UnlinkAccount($primaryId: ID!, $provider: String!, $userId: ID!) {\n  unlinkAccount(primaryId: $primaryId, provider: $provider, userId: $userId) {\n    identities {\n      ...IdentityFields\n    }\n    user {\n      id\n      email\n    }\n  }\n}\n\nquery Me {\n  me {\n    id\n    email\n    emailVerified\n    identities {\n      ...IdentityFields\n    }\n  }\n}\n\nquery User($id: ID!) {\n  user(id: $id) {\n    id\n    email\n    identities {\n      ...IdentityFields\n    }\n  }\n}\n\nquery LinkCandidates($primaryId: ID!) {\n  linkCandidates(primaryId: $primaryId) {\n    id\n    email\n    emailVerified\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query LinkPreview($primaryId: ID!, $input: LinkAccountsInput!) {\n  linkPreview(primaryId: $primaryId, input: $input) {\n    allowed\n    refusal {\n      code\n      reason\n      message\n    }\n    identitiesAfter {\n      id\n    }\n    userMetadataAfter\n    appMetadataAfter\n    carriedOver {\n      ...CarriedOverParts\n    }\n    discarded {\n      ...CarriedOverParts\n    }\n    auth0Calls\n  }\n}\n\nfragment CarriedOverParts on CarriedOver {\n  userMetadataKeys\n  appMetadataKeys\n  roles {\n    id\n    name\n  }\n  organizations {\n    organizationId\n    organizationName\n    roles {\n      id\n      name\n    }\n  }\n}\n\nmutation LinkAccountsIdentitiesOnly($primaryId: ID!, $input: LinkAccountsInput!) {\n  linkAccounts(primaryId: $primaryId, input: $input) {\n    identities {\n      id\n    }\n  }\n}"): (typeof documents)["query LinkPreview($primaryId: ID!, $input: LinkAccountsInput!) {\n  linkPreview(primaryId: $primaryId, input: $input) {\n    allowed\n    refusal {\n      code\n      reason\n      message\n    }\n    identitiesAfter {\n      id\n    }\n    userMetadataAfter\n    appMetadataAfter\n    carriedOver {\n      ...CarriedOverParts\n    }\n    discarded {\n      ...CarriedOverParts\n    }\n    auth0Calls\n  }\n}\n\nfragment CarriedOverParts on CarriedOver {\n  userMetadataKeys\n  appMetadataKeys\n  roles {\n    id\n    name\n  }\n  organizations {\n    organizationId\n    organizationName\n    roles {\n      id\n      name\n    }\n  }\n}\n\nmutation LinkAccountsIdentitiesOnly($primaryId: ID!, $input: LinkAccountsInput!) {\n  linkAccounts(primaryId: $primaryId, input: $input) {\n    identities {\n      id\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation LinkAccountsMergingMetadata($primaryId: ID!, $input: LinkAccountsInput!) {\n  linkAccounts(primaryId: $primaryId, input: $input) {\n    identities {\n      id\n    }\n    user {\n      id\n      userMetadata\n    }\n    mergedMetadata {\n      userMetadataKeys\n      appMetadataKeys\n    }\n  }\n}\n\nquery UserMetadata($id: ID!) {\n  user(id: $id) {\n    id\n    email\n    userMetadata\n    appMetadata\n  }\n}"): (typeof documents)["mutation LinkAccountsMergingMetadata($primaryId: ID!, $input: LinkAccountsInput!) {\n  linkAccounts(primaryId: $primaryId, input: $input) {\n    identities {\n      id\n    }\n    user {\n      id\n      userMetadata\n    }\n    mergedMetadata {\n      userMetadataKeys\n      appMetadataKeys\n    }\n  }\n}\n\nquery UserMetadata($id: ID!) {\n  user(id: $id) {\n    id\n    email\n    userMetadata\n    appMetadata\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;