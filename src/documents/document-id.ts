import { createHash } from 'node:crypto';
import { printExecutableGraphQLDocument } from '@graphql-tools/documents';
import { parse, type DocumentNode } from 'graphql';

/** SHA-256 of a string, in lowercase hex. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * A document in the form GraphQL Code Generator's client preset writes into its persisted
 * documents manifest (`persistedDocuments`): printed compactly, with a stable order. Two
 * documents that differ only in layout or order have the same form.
 */
export function normalizeDocument(document: string | DocumentNode): string {
  return printExecutableGraphQLDocument(typeof document === 'string' ? parse(document) : document);
}

/** The id codegen gives `document` in its manifest (`hashAlgorithm: 'sha256'`): SHA-256 of its normal form. */
export function documentIdOf(document: string | DocumentNode): string {
  return sha256Hex(normalizeDocument(document));
}
