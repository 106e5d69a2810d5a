// Inbound authentication and authorization (DESIGN §3): the folder's public surface in one list,
// for tests and tools. Modules in src/ import the file they need directly.
export type { Caller } from './caller.js';
export {
  createAccessTokenVerifier,
  createRemoteKeySet,
  type AccessTokenVerifier,
  type AccessTokenVerifierOptions,
  type CallerResult,
  type RemoteKeySetOptions,
} from './verify-access-token.js';
export {
  createLinkTokenVerifier,
  type LinkTokenVerifier,
  type LinkTokenVerifierOptions,
} from './verify-id-token.js';
export {
  authorizeAdmin,
  authorizeJwtLink,
  authorizeUnlink,
  authorizeUserRead,
  requireCaller,
  USER_IDENTITIES_SCOPE,
  type AuthPolicy,
} from './authorize.js';
