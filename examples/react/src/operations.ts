// The app's GraphQL documents. `npm run codegen` types them (src/gql/) and lists them with their
// sha256 ids in src/gql/persisted-documents.json, the manifest a TRUSTED_DOCUMENTS gateway runs.
import { graphql } from './gql';

export const ME = graphql(`
  query Me {
    me {
      id
      email
      name
      identities {
        id
        provider
        userId
        connection
        isSocial
        profileData {
          email
        }
      }
    }
  }
`);

export const LINK_CANDIDATES = graphql(`
  query LinkCandidates($primaryId: ID!) {
    linkCandidates(primaryId: $primaryId) {
      id
      email
      name
      identities {
        id
        provider
        userId
        connection
      }
    }
  }
`);

export const LINK_ACCOUNT = graphql(`
  mutation LinkAccount($primaryId: ID!, $linkWith: String!) {
    linkAccounts(primaryId: $primaryId, input: { jwt: { linkWith: $linkWith } }) {
      linkId
      formerUserId
      user {
        id
      }
      identities {
        id
        provider
        userId
        connection
        isSocial
        profileData {
          email
        }
      }
    }
  }
`);

export const UNLINK_ACCOUNT = graphql(`
  mutation UnlinkAccount($primaryId: ID!, $provider: String!, $userId: ID!) {
    unlinkAccount(primaryId: $primaryId, provider: $provider, userId: $userId) {
      user {
        id
      }
      identities {
        id
        provider
        userId
        connection
        isSocial
        profileData {
          email
        }
      }
    }
  }
`);
