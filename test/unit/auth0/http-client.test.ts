import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAuth0HttpClient, type Auth0HttpClient } from '../../../src/auth0/http-client.js';
import { isTimeout } from '../../../src/auth0/to-gateway-error.js';

/** A loopback server answering each request with `handler`; counts what it received. */
async function startServer(handler: http.RequestListener) {
  const received: { method?: string; url?: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      received.push({ method: req.method, url: req.url, headers: req.headers, body });
      handler(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('createAuth0HttpClient', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  let client: Auth0HttpClient;
  afterEach(async () => {
    client?.close();
    await server?.close();
  });

  it('resolves any status with the raw body text, without retrying', async () => {
    server = await startServer((_req, res) =>
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"a":'),
    );
    client = createAuth0HttpClient({ origin: server.origin, timeoutMs: 2000 });
    const response = await client.send({
      method: 'POST',
      path: 'api/v2/users/auth0%7C1/identities',
      json: { a: 1 },
    });
    expect(response).toMatchObject({ statusCode: 503, body: '{"a":' });
    expect(server.received).toHaveLength(1);
    expect(server.received[0]).toMatchObject({
      method: 'POST',
      url: '/api/v2/users/auth0%7C1/identities',
      body: '{"a":1}',
    });
    expect(server.received[0].headers['content-type']).toContain('application/json');
  });

  it('keeps an encoded segment encoded and sends query parameters', async () => {
    server = await startServer((_req, res) => res.end('[]'));
    client = createAuth0HttpClient({ origin: server.origin, timeoutMs: 2000 });
    await client.send({ method: 'GET', path: 'api/v2/users/a%2Fb%3Fc%23d%252F' });
    expect(server.received[0].url).toBe('/api/v2/users/a%2Fb%3Fc%23d%252F');
    await client.send({ method: 'GET', path: 'api/v2/users-by-email', searchParams: { email: 'a+b@x.io' } });
    expect(new URL(server.received[1].url as string, server.origin).searchParams.get('email')).toBe(
      'a+b@x.io',
    );
  });

  it('does not follow redirects (they could carry the bearer elsewhere)', async () => {
    server = await startServer((_req, res) =>
      res.writeHead(302, { location: 'http://127.0.0.1:1/steal' }).end(),
    );
    client = createAuth0HttpClient({ origin: server.origin, timeoutMs: 2000 });
    const response = await client.send({ method: 'GET', path: 'x', headers: { authorization: 'Bearer t' } });
    expect(response.statusCode).toBe(302);
    expect(server.received).toHaveLength(1);
  });

  it('gives up after timeoutMs with a timeout error, sending once', async () => {
    server = await startServer(() => undefined); // never answers
    client = createAuth0HttpClient({ origin: server.origin, timeoutMs: 200 });
    const error = await client.send({ method: 'POST', path: 'x', json: {} }).catch((e: unknown) => e);
    expect(isTimeout(error)).toBe(true);
    expect(server.received).toHaveLength(1);
  });

  it('reuses a keep-alive connection', async () => {
    const sockets = new Set<unknown>();
    server = await startServer((req, res) => {
      sockets.add(req.socket);
      res.end('{}');
    });
    client = createAuth0HttpClient({ origin: server.origin, timeoutMs: 2000 });
    await client.send({ method: 'GET', path: 'a' });
    await client.send({ method: 'GET', path: 'b' });
    expect(sockets.size).toBe(1);
  });
});
