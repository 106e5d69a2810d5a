import { readFileSync } from 'node:fs';
import type { ApolloServerPlugin, GraphQLRequest } from '@apollo/server';
import { GraphQLError, parse, type DocumentNode } from 'graphql';
import { ConfigError } from '../config.js';
import { normalizeDocument, sha256Hex } from './document-id.js';

// Apollo Router's codes for its safelisting, so clients handle both the same way (DESIGN §4).
export const PERSISTED_QUERY_NOT_IN_LIST = 'PERSISTED_QUERY_NOT_IN_LIST';
export const QUERY_NOT_IN_PERSISTED_QUERY_LIST = 'QUERY_NOT_IN_PERSISTED_QUERY_LIST';

const SHA256_HEX = /^[0-9a-f]{64}$/;
// `sha256:<hex>` is the GraphQL-over-HTTP proposal's form; bare hex is what Apollo Client sends.
const DOCUMENT_ID = /^(?:sha256:)?([0-9a-fA-F]{64})$/;
// What an unknown id is replaced with, so that Apollo goes as far as the hook that refuses it.
const PLACEHOLDER = '{ __typename }';

/**
 * The operations this service accepts (TRUSTED_DOCUMENTS): a manifest `{ "<sha256 hex>": "<document>" }`
 * as GraphQL Code Generator's client preset writes it with `persistedDocuments` (sha256).
 */
export class TrustedDocuments {
  private constructor(
    private readonly byId: ReadonlyMap<string, string>,
    private readonly normalForms: ReadonlySet<string>,
  ) {}

  /** Reads and checks the manifest; a bad one stops the process with a ConfigError naming TRUSTED_DOCUMENTS. */
  static load(path: string): TrustedDocuments {
    let manifest: unknown;
    try {
      manifest = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new ConfigError('TRUSTED_DOCUMENTS', `cannot read ${path} as JSON (${(error as Error).message})`);
    }
    return TrustedDocuments.from(manifest, path);
  }

  static from(manifest: unknown, source = 'the manifest'): TrustedDocuments {
    if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) {
      throw new ConfigError(
        'TRUSTED_DOCUMENTS',
        `${source} must be a JSON object { "<sha256 hex>": "<document>" }`,
      );
    }
    const byId = new Map<string, string>();
    const normalForms = new Set<string>();
    for (const [id, document] of Object.entries(manifest)) {
      if (!SHA256_HEX.test(id) || typeof document !== 'string') {
        throw new ConfigError(
          'TRUSTED_DOCUMENTS',
          `${source}: "${id.slice(0, 80)}" is not a sha256 id with a document`,
        );
      }
      // An id that is not its document's hash would let a client's hash mean another document.
      if (sha256Hex(document) !== id) {
        throw new ConfigError(
          'TRUSTED_DOCUMENTS',
          `${source}: the id ${id} is not the sha256 of its document`,
        );
      }
      let parsed: DocumentNode;
      try {
        parsed = parse(document);
      } catch (error) {
        throw new ConfigError(
          'TRUSTED_DOCUMENTS',
          `${source}: the document ${id} does not parse (${(error as Error).message})`,
        );
      }
      byId.set(id, document);
      normalForms.add(sha256Hex(normalizeDocument(parsed)));
    }
    return new TrustedDocuments(byId, normalForms);
  }

  get size(): number {
    return this.byId.size;
  }

  /** The listed document of an id (`sha256:<hex>` or bare hex), or undefined. */
  lookup(id: string): string | undefined {
    const match = DOCUMENT_ID.exec(id);
    return match ? this.byId.get(match[1].toLowerCase()) : undefined;
  }

  /** A full query is accepted when it is a listed document, or the same document laid out differently. */
  allows(query: string, document: DocumentNode): boolean {
    return this.byId.has(sha256Hex(query)) || this.normalForms.has(sha256Hex(normalizeDocument(document)));
  }
}

function refusal(message: string, code: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code, http: { status: 400 } } });
}

/** The id a request names: `documentId` (body or query string) or Apollo's `persistedQuery` hash. */
function requestedId(request: GraphQLRequest): string | undefined {
  const body = request.http?.body as { documentId?: unknown } | undefined;
  if (body && typeof body === 'object' && body.documentId !== undefined) return String(body.documentId);
  const fromSearch = request.http?.search ? new URLSearchParams(request.http.search).get('documentId') : null;
  if (fromSearch !== null) return fromSearch;
  const hash = (request.extensions?.persistedQuery as { sha256Hash?: unknown } | undefined)?.sha256Hash;
  return hash === undefined ? undefined : String(hash);
}

/**
 * Only listed documents run (DESIGN §13). A request names one by id, as Apollo Client's
 * persisted-query link (`extensions.persistedQuery.sha256Hash`) or the GraphQL-over-HTTP
 * proposal (`documentId`) send it, or sends a listed document in full. Anything else is refused
 * before execution, so before any Auth0 call. With a list, Apollo's automatic persisted queries
 * are off (see createApolloServer): a hash is looked up in the list only, and an unlisted
 * document can never be registered under one.
 */
export function trustedDocumentsPlugin(list: TrustedDocuments): ApolloServerPlugin {
  return {
    async requestDidStart({ request }) {
      const id = requestedId(request);
      let refused: GraphQLError | undefined;
      if (id !== undefined) {
        if (request.extensions?.persistedQuery !== undefined) {
          const { persistedQuery: _answeredHere, ...rest } = request.extensions;
          request.extensions = rest;
        }
        const document = list.lookup(id);
        if (document === undefined) {
          refused = refusal(
            "The document id is not in this service's list of trusted documents (TRUSTED_DOCUMENTS).",
            PERSISTED_QUERY_NOT_IN_LIST,
          );
        }
        request.query = document ?? PLACEHOLDER;
        // The placeholder has no operation of the client's name: nothing may resolve before the refusal.
        if (document === undefined) request.operationName = undefined;
      }
      return {
        async didResolveOperation({ request: resolved, document }) {
          if (refused) throw refused;
          if (id === undefined && !list.allows(resolved.query ?? '', document)) {
            throw refusal(
              "This service runs only its trusted documents (TRUSTED_DOCUMENTS): send a listed document's id.",
              QUERY_NOT_IN_PERSISTED_QUERY_LIST,
            );
          }
        },
      };
    },
  };
}
