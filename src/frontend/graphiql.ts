import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { EXAMPLE_OPERATIONS, exampleVariables } from './example-operations.js';

interface RenderedPage {
  html: Buffer;
  gzip: Buffer;
  contentSecurityPolicy: string;
}

const HEADERS_HINT = JSON.stringify(
  { authorization: 'Bearer <access token: npm start prints one; the demo page shows how to get one>' },
  null,
  2,
);

function render(graphqlPath: string): RenderedPage {
  const variables = exampleVariables();
  const tab = (query: string, vars?: unknown) => ({
    query,
    variables: vars === undefined ? undefined : JSON.stringify(vars, null, 2),
    headers: HEADERS_HINT,
  });
  const text = renderGraphiQL({
    endpoint: graphqlPath,
    title: 'auth0-link-gateway · GraphiQL',
    defaultQuery: EXAMPLE_OPERATIONS.me,
    defaultHeaders: HEADERS_HINT,
    headers: HEADERS_HINT,
    isHeadersEditorEnabled: true,
    defaultEditorToolsVisibility: 'headers',
    shouldPersistHeaders: false,
    defaultTabs: [
      tab(EXAMPLE_OPERATIONS.me),
      // Tabs are titled by operation name: one name per link mode.
      tab(EXAMPLE_OPERATIONS.link.replace('mutation Link(', 'mutation LinkJwtMode('), variables.linkJwt),
      tab(EXAMPLE_OPERATIONS.link.replace('mutation Link(', 'mutation LinkAdminMode('), variables.linkAdmin),
      tab(EXAMPLE_OPERATIONS.unlink, variables.unlink),
    ],
  });
  // The page is one inline script: allow exactly that script by its hash, its monaco workers
  // (blob: URLs it makes itself) and requests to this origin only, so it cannot load anything
  // from elsewhere even if it tried.
  const scripts = [...text.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
  const hashes = scripts.map((s) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`);
  const contentSecurityPolicy = [
    "default-src 'none'",
    `script-src ${hashes.join(' ')}`,
    'worker-src blob:',
    "style-src 'unsafe-inline'",
    'img-src data:',
    'font-src data:',
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  const html = Buffer.from(text, 'utf8');
  return { html, gzip: gzipSync(html), contentSecurityPolicy };
}

/** Whether a request to the GraphQL path is a browser asking for a page rather than a GraphQL GET. */
export function wantsGraphiQL(req: IncomingMessage, search: string): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const params = new URLSearchParams(search);
  if (params.has('query') || params.has('extensions')) return false;
  const accept = req.headers.accept ?? '';
  return accept.includes('text/html');
}

/**
 * GraphiQL (DESIGN §6), self-contained and offline. The page is about 9 MB, so it is rendered
 * on first use, kept, and sent gzipped to clients that accept it.
 */
export function createGraphiQLHandler(graphqlPath: string) {
  let page: RenderedPage | undefined;
  return (req: IncomingMessage, res: ServerResponse) => {
    page ??= render(graphqlPath);
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = gzip ? page.gzip : page.html;
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': String(body.length),
      'content-security-policy': page.contentSecurityPolicy,
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-cache',
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}
