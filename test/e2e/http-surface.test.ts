import { request } from 'node:http';
import { connect } from 'node:net';
import { MAX_BODY_BYTES } from '../../src/http-server.js';
import { DEMO } from '../../src/auth0-emulator/index.js';
import { MeDocument } from '../generated/graphql.js';
import { codesOf, execute, postGraphQL } from '../support/graphql-client.js';
import { waitFor } from '../support/gateway-process.js';
import { demoTokens, startHarness, type Harness } from '../support/harness.js';

// /readyz answers are reused this long (5 s by default): short, so state changes show quickly here.
const READINESS_CACHE_MS = 100;

describe('HTTP surface (DESIGN §6)', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({
      env: { CORS_ORIGINS: 'https://app.example.com' },
      gateway: { readinessCacheMs: READINESS_CACHE_MS },
    });
  });
  afterAll(() => h.close());
  beforeEach(() => h.emulator.tenant.reset());

  it('answers /healthz with 200', async () => {
    const response = await fetch(`${h.gateway.origin}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it("answers /readyz with 200 once the tenant's JWKS can be reached", async () => {
    const response = await fetch(`${h.gateway.origin}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ready', checks: { jwks: true } });
  });

  it('answers /readyz with 503 while the JWKS is unreachable, and recovers by itself', async () => {
    h.emulator.faults.add({ route: 'jwks', status: 503, body: { error: 'down' }, times: 100 });
    // Answers come from a short cache (READINESS_CACHE_MS here): wait for the next check.
    await waitFor(async () => (await fetch(`${h.gateway.origin}/readyz`)).status === 503, 5000, '503');
    const down = await fetch(`${h.gateway.origin}/readyz`);
    expect(await down.json()).toMatchObject({ status: 'not ready', checks: { jwks: false } });

    h.emulator.faults.clear();
    await waitFor(async () => (await fetch(`${h.gateway.origin}/readyz`)).status === 200, 5000, '200 again');
  });

  it('never asks for a service token to answer /readyz, even while the token endpoint fails', async () => {
    const fresh = await startHarness({ gateway: { readinessCacheMs: READINESS_CACHE_MS } });
    try {
      fresh.emulator.faults.add({ route: 'token', status: 500, body: { error: 'server_error' }, times: 100 });
      for (let i = 0; i < 3; i++) expect((await fetch(`${fresh.gateway.origin}/readyz`)).status).toBe(200);
      expect(fresh.emulator.journal.count('token')).toBe(0);
    } finally {
      await fresh.close();
    }
  });

  it('serves Prometheus metrics that count GraphQL operations and Auth0 calls', async () => {
    const { alice } = await demoTokens(h.emulator);
    await execute(h.url, MeDocument, {}, { token: alice });
    const response = await fetch(`${h.gateway.origin}/metrics`);
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toMatch(/graphql_operations_total\{[^}]*operation_name="Me"[^}]*\} \d+/);
    expect(text).toMatch(/auth0_requests_total\{[^}]*\} \d+/);
  });

  it('returns the x-request-id it was given, or a new one', async () => {
    const given = await fetch(`${h.gateway.origin}/healthz`, { headers: { 'x-request-id': 'abc-123' } });
    expect(given.headers.get('x-request-id')).toBe('abc-123');
    const invalid = await fetch(`${h.gateway.origin}/healthz`, {
      headers: { 'x-request-id': 'bad id\twith spaces' },
    });
    expect(invalid.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const none = await fetch(`${h.gateway.origin}/healthz`);
    expect(none.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  describe('CORS', () => {
    it('answers a preflight from an allowed origin, Authorization included', async () => {
      const response = await fetch(h.url, {
        method: 'OPTIONS',
        headers: {
          origin: 'https://app.example.com',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type',
        },
      });
      expect(response.status).toBe(204);
      expect(response.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
      expect(response.headers.get('access-control-allow-headers')).toMatch(/authorization/);
      expect(response.headers.get('access-control-allow-methods')).toMatch(/POST/);
    });

    it('refuses a preflight from any other origin', async () => {
      const response = await fetch(h.url, {
        method: 'OPTIONS',
        headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' },
      });
      expect(response.status).toBe(403);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('marks responses to an allowed origin', async () => {
      const result = await postGraphQL(
        h.url,
        { query: '{ __typename }' },
        { headers: { origin: 'https://app.example.com' } },
      );
      expect(result.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    });
  });

  describe('request hygiene', () => {
    /** A JSON request body of exactly `bytes` bytes: `{ __typename }` with padding in a variable. */
    const bodyOf = (bytes: number) => {
      const empty = JSON.stringify({ query: '{ __typename }', variables: { pad: '' } });
      return JSON.stringify({
        query: '{ __typename }',
        variables: { pad: 'x'.repeat(bytes - empty.length) },
      });
    };

    it(`runs a body of exactly ${MAX_BODY_BYTES} bytes (256 KiB)`, async () => {
      const body = bodyOf(MAX_BODY_BYTES);
      expect(Buffer.byteLength(body)).toBe(MAX_BODY_BYTES);
      const result = await fetch(h.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(result.status).toBe(200);
      expect(await result.json()).toEqual({ data: { __typename: 'Query' } });
    });

    it('refuses a body one byte over the size limit with 413 BAD_REQUEST', async () => {
      const result = await fetch(h.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: bodyOf(MAX_BODY_BYTES + 1),
      });
      expect(result.status).toBe(413);
      expect(
        ((await result.json()) as { errors: { extensions: { code: string } }[] }).errors[0].extensions.code,
      ).toBe('BAD_REQUEST');
    });

    it('closes the connection after a 413, before reading a body it will not take', async () => {
      // A raw socket that announces a body over the limit and sends none of it: the server answers
      // and hangs up (a keep-alive connection would otherwise wait for the body).
      const socket = connect(Number(new URL(h.url).port), '127.0.0.1');
      let answer = '';
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')));
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.write(
        `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${MAX_BODY_BYTES + 1}\r\n\r\n`,
      );
      await closed;
      expect(answer).toMatch(/^HTTP\/1\.1 413 /);
      expect(answer).toMatch(/\r\nconnection: close\r\n/i);
    });

    // An unlink Auth0 would carry out: the refusals below come before it runs.
    const UNLINK = `mutation { unlinkAccount(primaryId: "${DEMO.users.alice}", provider: "github", userId: "4031337") { identities { id } } }`;

    it('refuses a mutation over GET with 405 (allow: POST), before running it', async () => {
      const { admin } = await demoTokens(h.emulator);
      const result = await fetch(`${h.url}?query=${encodeURIComponent(UNLINK)}`, {
        headers: { 'apollo-require-preflight': 'true', authorization: `Bearer ${admin}` },
      });
      expect(result.status).toBe(405);
      expect(result.headers.get('allow')).toBe('POST');
      expect(
        ((await result.json()) as { errors: { extensions: { code: string } }[] }).errors[0].extensions.code,
      ).toBe('BAD_REQUEST');
      expect(h.emulator.journal.count('unlink')).toBe(0);
    });

    it.each(['PUT', 'DELETE', 'PATCH'])(
      'refuses %s on /graphql with 405 (allow: GET, POST)',
      async (method) => {
        const result = await fetch(h.url, {
          method,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: '{ __typename }' }),
        });
        expect(result.status).toBe(405);
        expect(result.headers.get('allow')).toBe('GET, POST');
        expect(
          ((await result.json()) as { errors: { extensions: { code: string } }[] }).errors[0].extensions.code,
        ).toBe('BAD_REQUEST');
      },
    );

    it('refuses an accept header without JSON with 406, before running the operation', async () => {
      const { admin } = await demoTokens(h.emulator);
      const result = await fetch(h.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'text/plain',
          authorization: `Bearer ${admin}`,
        },
        body: JSON.stringify({ query: UNLINK }),
      });
      expect(result.status).toBe(406);
      expect(
        ((await result.json()) as { errors: { extensions: { code: string } }[] }).errors[0].extensions.code,
      ).toBe('BAD_REQUEST');
      expect(h.emulator.journal.count('unlink')).toBe(0);
    });

    it.each([
      'application/json',
      'application/graphql-response+json',
      '*/*',
      'text/html, application/*;q=0.5',
      '',
    ])('answers with accept: %s', async (accept) => {
      const result = await postGraphQL(h.url, { query: '{ __typename }' }, { headers: { accept } });
      expect(result.status).toBe(200);
      expect(result.body).toEqual({ data: { __typename: 'Query' } });
    });

    it('refuses a GET with a non-JSON content-type with 415', async () => {
      const result = await fetch(`${h.url}?query=${encodeURIComponent('{ __typename }')}`, {
        headers: { 'apollo-require-preflight': 'true', 'content-type': 'text/plain' },
      });
      expect(result.status).toBe(415);
      expect(
        ((await result.json()) as { errors: { extensions: { code: string } }[] }).errors[0].extensions.code,
      ).toBe('BAD_REQUEST');
    });

    it.each([
      ['a document that does not parse', 'GRAPHQL_PARSE_FAILED', { query: '{ me { id }' }],
      [
        'two operations and no operationName',
        'OPERATION_RESOLUTION_FAILURE',
        { query: 'query A { __typename } query B { __typename }' },
      ],
      [
        'an operationName the document does not have',
        'OPERATION_RESOLUTION_FAILURE',
        { query: 'query A { __typename }', operationName: 'B' },
      ],
    ])('refuses %s with %s (HTTP 400)', async (_title, code, body) => {
      const result = await postGraphQL(h.url, body);
      expect(result.status).toBe(400);
      expect(codesOf(result)).toEqual([code]);
    });

    it('refuses invalid JSON with 400', async () => {
      const result = await fetch(h.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{',
      });
      expect(result.status).toBe(400);
      expect(
        ((await result.json()) as { errors: { extensions: { code: string } }[] }).errors[0].extensions.code,
      ).toBe('BAD_REQUEST');
    });

    it('keeps CSRF prevention on: a text/plain POST is refused', async () => {
      const result = await fetch(h.url, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      expect(result.status).toBe(400);
      expect(await result.text()).toMatch(/CSRF|preflight/i);
    });

    it('serves queries over GET with a preflight-forcing header', async () => {
      const result = await fetch(`${h.url}?query=${encodeURIComponent('{ __typename }')}`, {
        headers: { 'apollo-require-preflight': 'true' },
      });
      expect(result.status).toBe(200);
      expect(await result.json()).toEqual({ data: { __typename: 'Query' } });
    });

    it('answers unknown paths with 404', async () => {
      expect((await fetch(`${h.gateway.origin}/nope`)).status).toBe(404);
    });

    it('routes request targets as WHATWG URL normalises them (dot segments, escapes)', async () => {
      // node:http sends the target as written (fetch would normalise it first).
      const statusOf = (path: string) =>
        new Promise<number>((resolve, reject) => {
          const req = request(`${h.gateway.origin}${path}`, { method: 'GET' }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on('error', reject);
          req.end();
        });
      expect(await statusOf('/nope/../healthz')).toBe(200);
      expect(await statusOf('/healthz?x=1')).toBe(200);
      expect(await statusOf('/health%7A')).toBe(404);
    });

    it('never sends stack traces with errors', async () => {
      const result = await postGraphQL(h.url, { query: '{ user(id: "auth0|someone") { id } }' });
      expect(codesOf(result)).toEqual(['UNAUTHENTICATED']);
      expect(result.text).not.toMatch(/stacktrace|\/src\/|\.ts:\d+/);
    });

    it('adds a federated trace (ftv1) only when a router asks for one', async () => {
      const asked = await postGraphQL(
        h.url,
        { query: '{ __typename }' },
        { headers: { 'apollo-federation-include-trace': 'ftv1' } },
      );
      expect(asked.body.data).toEqual({ __typename: 'Query' });
      const trace = (asked.body as { extensions?: { ftv1?: unknown } }).extensions?.ftv1;
      expect(typeof trace).toBe('string');
      expect(Buffer.from(trace as string, 'base64').length).toBeGreaterThan(0);

      const plain = await postGraphQL(h.url, { query: '{ __typename }' });
      expect(plain.body).toEqual({ data: { __typename: 'Query' } });
    });

    it('serves introspection by default, with isOneOf', async () => {
      const result = await postGraphQL<{ __type: { isOneOf: boolean } }>(h.url, {
        query: '{ __type(name: "LinkAccountsInput") { isOneOf } }',
      });
      expect(result.body.data?.__type.isOneOf).toBe(true);
    });
  });

  it('turns introspection off with INTROSPECTION=false', async () => {
    const closed = await startHarness({ env: { INTROSPECTION: 'false' } });
    try {
      const result = await postGraphQL(closed.url, { query: '{ __schema { queryType { name } } }' });
      expect(codesOf(result)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    } finally {
      await closed.close();
    }
  });
});
