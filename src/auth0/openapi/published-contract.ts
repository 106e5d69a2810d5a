// Auth0's own Management API OpenAPI 3.1 document, cut to the routes the gateway uses
// (auth0/docs-v2, MIT licence: LICENSE beside it). The gateway takes its input rules from it
// rather than from a hand-copied list, so a refreshed copy changes them in one step.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the copy lives, relative to the package root (the same file for `src/` and `dist/`). */
export const OPENAPI_DOCUMENT_PATH = join('src', 'auth0', 'openapi', 'management-api-subset.json');

/** The parts of the OpenAPI document this project reads; the rest is kept as it came. */
export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas: Record<string, JsonSchema> };
  [extra: string]: unknown;
}

export interface OpenApiOperation {
  requestBody?: { content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, { content?: Record<string, { schema: JsonSchema }> }>;
  [extra: string]: unknown;
}

export type JsonSchema = Record<string, unknown>;

// The JSON file is not compiled, so it is found from the package root, as the demo page's files
// are: the same code reads it from `src/` (tests) and from `dist/` (npm start).
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('package.json not found above the Auth0 OpenAPI module');
    dir = parent;
  }
  return dir;
}

let cached: OpenApiDocument | undefined;

/** The document, read and parsed once per process. */
export function auth0OpenApiDocument(): OpenApiDocument {
  cached ??= JSON.parse(readFileSync(join(packageRoot(), OPENAPI_DOCUMENT_PATH), 'utf8')) as OpenApiDocument;
  return cached;
}

function schema(name: string): JsonSchema {
  const found = auth0OpenApiDocument().components.schemas[name];
  if (!found) throw new Error(`Auth0 OpenAPI document: no schema ${name}`);
  return found;
}

let providers: ReadonlySet<string> | undefined;

/** `UserIdentityProviderEnum`: every `provider` Auth0 accepts in a link body (and an unlink path). */
export function auth0IdentityProviders(): ReadonlySet<string> {
  providers ??= new Set(schema('UserIdentityProviderEnum').enum as string[]);
  return providers;
}

let connectionIdPattern: RegExp | undefined;

/** The pattern of `connection_id` in a link body (`^con_[A-Za-z0-9]{16}$` in the document). */
export function auth0ConnectionIdPattern(): RegExp {
  if (!connectionIdPattern) {
    const properties = schema('LinkUserIdentityRequestContent').properties as Record<string, JsonSchema>;
    connectionIdPattern = new RegExp(properties.connection_id.pattern as string, 'u');
  }
  return connectionIdPattern;
}
