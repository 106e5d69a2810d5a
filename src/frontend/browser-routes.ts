import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config.js';
import { documentIdOf } from '../documents/document-id.js';
import { EXAMPLE_OPERATIONS } from './example-operations.js';
import { createGraphiQLHandler, wantsGraphiQL } from './graphiql.js';

/** Scope the demo page asks for: reading the user and linking/unlinking their identities. */
export const DEMO_SCOPE = 'openid profile email read:current_user update:current_user_identities';

/** What the demo page needs to know, served as `/demo/config.json`. */
export interface DemoPageConfig {
  auth0Domain: string;
  clientId: string;
  audience: string;
  scope: string;
  graphqlUrl: string;
  /** GraphiQL, when `GRAPHIQL` is on. */
  ideUrl: string | null;
  operations: typeof EXAMPLE_OPERATIONS;
  /** Each operation's trusted document id (`sha256:<hex>`), as codegen lists it in its manifest. */
  documentIds: Record<keyof typeof EXAMPLE_OPERATIONS, string>;
  /** TRUSTED_DOCUMENTS is set: the page sends ids instead of documents. */
  trustedDocuments: boolean;
}

export interface Asset {
  file: string;
  contentType: string;
}

// The page's files stay plain static files beside the sources (no build step), found from the
// package root so the same code serves them from `src/` (tests) and from `dist/` (npm start).
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('package.json not found above the frontend module');
    dir = parent;
  }
  return dir;
}

/** The demo page's files by URL path (also what a test serves from another origin). */
export function demoPageAssets(): Map<string, Asset> {
  const folder = join(packageRoot(), 'src', 'frontend', 'demo-page');
  const require = createRequire(import.meta.url);
  const js = 'text/javascript; charset=utf-8';
  return new Map([
    ['/', { file: join(folder, 'index.html'), contentType: 'text/html; charset=utf-8' }],
    ['/demo/demo.js', { file: join(folder, 'demo.js'), contentType: js }],
    ['/demo/demo.css', { file: join(folder, 'demo.css'), contentType: 'text/css; charset=utf-8' }],
    [
      '/demo/auth0-spa-js.js',
      { file: require.resolve('@auth0/auth0-spa-js/dist/auth0-spa-js.production.js'), contentType: js },
    ],
  ]);
}

/** A request target split into path and query string (`search` keeps its leading `?`). */
export interface RequestTarget {
  pathname: string;
  search: string;
}

export type BrowserRoute = (req: IncomingMessage, res: ServerResponse, target: RequestTarget) => boolean;

/**
 * Pages for browsers (DESIGN §6): the demo page at `/` when `DEMO_PAGE` is on, GraphiQL at
 * `GET /graphql` (for requests preferring HTML) when `GRAPHIQL` is on. Returns true when it
 * answered; everything else goes on to the API routes unchanged.
 */
export function createBrowserRoutes(config: Config, graphqlPath = '/graphql'): BrowserRoute {
  const graphiql = config.frontend.graphiql ? createGraphiQLHandler(graphqlPath) : undefined;
  const assets = config.frontend.demoPage ? demoPageAssets() : new Map<string, Asset>();
  const cache = new Map<string, Buffer>();
  const pageConfig: DemoPageConfig = {
    auth0Domain: config.auth0.origin,
    clientId: config.frontend.demoClientId,
    audience: config.auth0.audience,
    scope: DEMO_SCOPE,
    graphqlUrl: graphqlPath,
    ideUrl: config.frontend.graphiql ? graphqlPath : null,
    operations: EXAMPLE_OPERATIONS,
    documentIds: {
      me: `sha256:${documentIdOf(EXAMPLE_OPERATIONS.me)}`,
      link: `sha256:${documentIdOf(EXAMPLE_OPERATIONS.link)}`,
      preview: `sha256:${documentIdOf(EXAMPLE_OPERATIONS.preview)}`,
      unlink: `sha256:${documentIdOf(EXAMPLE_OPERATIONS.unlink)}`,
      undo: `sha256:${documentIdOf(EXAMPLE_OPERATIONS.undo)}`,
    },
    trustedDocuments: config.trustedDocumentsPath !== null,
  };
  // Scripts and styles from this origin only; tokens travel to the tenant only.
  const demoPolicy = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self' ${config.auth0.origin}`,
    `frame-src ${config.auth0.origin}`,
    // The SDK keeps refresh tokens in a Web Worker it starts from a blob: URL (tokens in memory).
    'worker-src blob:',
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');

  return (req, res, target) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    if (graphiql && target.pathname === graphqlPath && wantsGraphiQL(req, target.search)) {
      res.setHeader('vary', 'Origin, Accept, Accept-Encoding');
      graphiql(req, res);
      return true;
    }
    if (!config.frontend.demoPage) return false;
    if (target.pathname === '/demo/config.json') {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-cache' });
      res.end(req.method === 'HEAD' ? undefined : JSON.stringify(pageConfig));
      return true;
    }
    const asset = assets.get(target.pathname);
    if (!asset) return false;
    let body = cache.get(asset.file);
    if (!body) {
      body = readFileSync(asset.file);
      cache.set(asset.file, body);
    }
    res.writeHead(200, {
      'content-type': asset.contentType,
      'content-length': String(body.length),
      'content-security-policy': demoPolicy,
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-cache',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  };
}
