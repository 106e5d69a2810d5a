import { startHarness, type Harness } from '../support/harness.js';

// HTTP-level checks of the pages for browsers (DESIGN §6); test/browser drives them in Chromium.
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

describe('pages for browsers (DESIGN §6)', () => {
  describe('with DEMO_PAGE and GRAPHIQL on', () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness({ env: { DEMO_PAGE: 'true', GRAPHIQL: 'true' } });
    });
    afterAll(() => h.close());

    it('serves the demo page at / with a policy that allows only this origin and the tenant', async () => {
      const response = await fetch(`${h.gateway.origin}/`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      const html = await response.text();
      expect(html).toContain('<script src="/demo/auth0-spa-js.js"></script>');
      expect(html).toContain('<script type="module" src="/demo/demo.js"></script>');
      expect(html).not.toMatch(/https?:\/\//);
      const policy = response.headers.get('content-security-policy');
      expect(policy).toContain("script-src 'self'");
      expect(policy).toContain(`connect-src 'self' ${h.emulator.origin}`);
    });

    it('serves the page configuration: tenant, client, Management API audience and scope', async () => {
      const response = await fetch(`${h.gateway.origin}/demo/config.json`);
      const config = (await response.json()) as Record<string, unknown>;
      expect(config).toMatchObject({
        auth0Domain: h.emulator.origin,
        clientId: 'demo-spa',
        audience: `${h.emulator.origin}/api/v2/`,
        scope: 'openid profile email read:current_user update:current_user_identities',
        graphqlUrl: '/graphql',
        ideUrl: '/graphql',
      });
      expect(Object.keys(config.operations as object)).toEqual(['me', 'link', 'preview', 'unlink', 'undo']);
    });

    it.each([
      ['/demo/demo.js', 'text/javascript; charset=utf-8', 'createAuth0Client'],
      ['/demo/demo.css', 'text/css; charset=utf-8', '#log'],
      ['/demo/auth0-spa-js.js', 'text/javascript; charset=utf-8', 'createAuth0Client'],
    ])('serves %s from the service itself', async (path, contentType, marker) => {
      const response = await fetch(`${h.gateway.origin}${path}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe(contentType);
      expect(await response.text()).toContain(marker);
    });

    it('serves GraphiQL to a browser at GET /graphql, gzipped, with a hash-pinned script policy', async () => {
      // fetch unzips by itself: the headers show what was sent.
      const response = await fetch(h.url, { headers: { accept: BROWSER_ACCEPT, 'accept-encoding': 'gzip' } });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-encoding')).toBe('gzip');
      expect(response.headers.get('vary')).toBe('Origin, Accept, Accept-Encoding');
      expect(response.headers.get('content-security-policy')).toMatch(
        /^default-src 'none'; script-src 'sha256-[A-Za-z0-9+/=]+'; worker-src blob:; .*connect-src 'self'/,
      );
      const html = await response.text();
      expect(html).toContain('<title>auth0-link-gateway · GraphiQL</title>');
      expect(html).toContain('mutation LinkJwtMode(');
      expect(html).toContain('mutation LinkAdminMode(');
      expect(html).toContain('mutation Unlink(');
    });

    it('leaves GraphQL GETs to Apollo Server: a query string is a GraphQL request, CSRF rules apply', async () => {
      const query = `${h.url}?query=${encodeURIComponent('{ __typename }')}`;
      const refused = await fetch(query, { headers: { accept: BROWSER_ACCEPT } });
      expect(refused.status).toBe(400);
      expect(await refused.text()).toMatch(/CSRF|preflight/i);
      const served = await fetch(query, {
        headers: { accept: 'application/json', 'apollo-require-preflight': 'true' },
      });
      expect(await served.json()).toEqual({ data: { __typename: 'Query' } });
    });

    it.each([['*/*'], ['application/json'], ['application/graphql-response+json']])(
      'answers a non-browser GET /graphql (accept %s) as before',
      async (accept) => {
        const response = await fetch(h.url, { headers: { accept } });
        expect(response.status).toBe(400);
        expect(response.headers.get('content-type')).toMatch(/json/);
      },
    );
  });

  describe('defaults outside the embedded start', () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness();
    });
    afterAll(() => h.close());

    it('keeps / a JSON 404 when DEMO_PAGE is off', async () => {
      for (const path of ['/', '/demo/config.json', '/demo/demo.js']) {
        const response = await fetch(`${h.gateway.origin}${path}`);
        expect(response.status).toBe(404);
        expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
      }
    });
  });

  it('signs in with DEMO_CLIENT_ID and points at no IDE when GRAPHIQL is off', async () => {
    const h = await startHarness({
      env: { DEMO_PAGE: 'true', DEMO_CLIENT_ID: 'AbCdEf0123456789spa', GRAPHIQL: 'false' },
    });
    try {
      const config = await (await fetch(`${h.gateway.origin}/demo/config.json`)).json();
      expect(config).toMatchObject({ clientId: 'AbCdEf0123456789spa', ideUrl: null });
    } finally {
      await h.close();
    }
  });

  it('sends no IDE when GRAPHIQL is off: a browser GET /graphql gets what Apollo Server answers', async () => {
    const h = await startHarness({ env: { GRAPHIQL: 'false' } });
    try {
      const response = await fetch(h.url, { headers: { accept: BROWSER_ACCEPT } });
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/json/);
    } finally {
      await h.close();
    }
  });
});
