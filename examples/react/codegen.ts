// GraphQL Code Generator: typed documents from the `graphql()` calls in src/, against the
// gateway's own schema.graphql, and the trusted documents manifest (persisted-documents.json)
// that a gateway started with TRUSTED_DOCUMENTS=<that file> accepts.
import {
  addTypenameSelectionDocumentTransform,
  type ClientPresetConfig,
} from '@graphql-codegen/client-preset';
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  overwrite: true,
  schema: '../../schema.graphql',
  documents: ['src/**/*.{ts,tsx}', '!src/gql/**'],
  ignoreNoDocuments: false,
  generates: {
    'src/gql/': {
      preset: 'client',
      presetConfig: {
        fragmentMasking: false,
        persistedDocuments: { hashAlgorithm: 'sha256' },
      } satisfies ClientPresetConfig,
      // Apollo Client adds __typename to every selection before it sends a document: the
      // manifest must list the documents as they are sent, or their hashes would not match.
      documentTransforms: [addTypenameSelectionDocumentTransform],
      config: {
        enumsAsTypes: true,
        useTypeImports: true,
        scalars: { ID: 'string', JSONObject: 'Record<string, unknown>' },
      },
    },
  },
};

export default config;
