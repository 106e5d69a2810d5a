import { request } from 'node:http';
import { killAllMain, printedUrls, runMain as run, waitForOutput } from '../support/main-process.js';

/** The printed curl commands, turned into fetch calls: URL, headers and JSON body. */
function parseCurls(text: string) {
  return text
    .split(/\n(?=curl )/)
    .filter((block) => block.startsWith('curl '))
    .map((block) => ({
      url: /^curl -s (\S+)/.exec(block)![1],
      headers: Object.fromEntries(
        [...block.matchAll(/-H '([^:]+): ([^']+)'/g)].map((m) => [m[1], m[2]] as [string, string]),
      ),
      body: /-d '([^']+)'/.exec(block)![1],
    }));
}

/**
 * A POST whose headers and first half of the body are sent at once, the rest on `finish()`: a
 * request that is in flight for as long as the test wants.
 */
function startSlowRequest(url: string, body: string) {
  const half = Math.floor(body.length / 2);
  let finish!: () => void;
  let started!: () => void;
  const startedPromise = new Promise<void>((resolve) => (started = resolve));
  const response = new Promise<{ status: number; body: unknown }>((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.write(body.slice(0, half), () => started());
    finish = () => req.end(body.slice(half));
  });
  return { started: startedPromise, response, finish: () => finish() };
}

/** Polls `url` (bounded) until it answers `status`. */
async function waitForStatus(url: string, status: number) {
  for (let attempt = 0; attempt < 100; attempt++) {
    if ((await fetch(url)).status === status) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${url} never answered ${status}`);
}

// A failed assertion must not leave a server behind (jest would never exit).
afterEach(killAllMain);

describe('the server process (npm start)', () => {
  it('with no AUTH0_DOMAIN, starts the embedded emulator and prints requests that work as printed', async () => {
    const r = run({ PORT: '0' });
    try {
      const output = await waitForOutput(r, /# 3\.[\s\S]*-d '[^\n]*query Me[^\n]*\n/);
      const urls = printedUrls(output);
      const origin = new URL(urls.graphql!).origin;
      expect(urls).toEqual({
        graphql: `${origin}/graphql`,
        demoPage: `${origin}/`,
        ide: `${origin}/graphql`,
        auth0: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      });
      const curls = parseCurls(output);
      expect(curls).toHaveLength(3);

      const results = [];
      for (const c of curls) {
        const response = await fetch(c.url, { method: 'POST', headers: c.headers, body: c.body });
        results.push((await response.json()) as { data?: Record<string, unknown>; errors?: unknown[] });
      }
      expect(results.map((x) => x.errors)).toEqual([undefined, undefined, undefined]);
      const me = results[2].data?.me as { identities: { id: string }[] };
      expect(me.identities.map((i) => i.id)).toEqual([
        'auth0|6650a1b2c3d4e5f600000001',
        'google-oauth2|108000000000000000001',
        'github|4031337',
      ]);

      // Graceful shutdown with a request in flight: its body is still arriving when SIGTERM comes.
      const inFlight = startSlowRequest(urls.graphql!, JSON.stringify({ query: '{ __typename }' }));
      await inFlight.started;
      // A round trip on another connection: by its answer the server has read the first one's headers.
      await fetch(`${origin}/healthz`);
      r.child.kill('SIGTERM');
      await waitForStatus(`${origin}/readyz`, 503);
      inFlight.finish();
      expect(await inFlight.response).toEqual({ status: 200, body: { data: { __typename: 'Query' } } });
    } finally {
      r.child.kill('SIGTERM');
    }
    // Then the listener closes and the process exits 0.
    expect(await r.exited).toBe(0);
  });

  it('refuses to start the embedded emulator when NODE_ENV=production', async () => {
    const r = run({ NODE_ENV: 'production' });
    expect(await r.exited).toBe(1);
    expect(r.stderr().trim().split('\n')).toHaveLength(1);
    expect(r.stderr()).toMatch(/AUTH0_DOMAIN/);
  });

  it.each([
    [
      {
        AUTH0_DOMAIN: 'tenant.example.com',
        AUTH0_CLIENT_ID: 'id',
        AUTH0_CLIENT_SECRET: 'hunter2',
        PORT: 'x',
      },
      'PORT',
    ],
    [
      { AUTH0_DOMAIN: 'http://tenant.example.com', AUTH0_CLIENT_ID: 'id', AUTH0_CLIENT_SECRET: 'hunter2' },
      'AUTH0_DOMAIN',
    ],
    [{ AUTH0_DOMAIN: 'tenant.example.com', AUTH0_CLIENT_ID: 'id' }, 'AUTH0_CLIENT_SECRET'],
    [{ REDIS_URL: 'redis://:hunter2@redis.example.com:6379' }, 'REDIS_URL'],
  ])('stops at start on bad configuration with one line naming the variable (%j)', async (env, variable) => {
    const r = run(env);
    expect(await r.exited).toBe(1);
    const lines = r.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`${variable}:`);
    expect(r.stderr()).not.toContain('hunter2');
  });
});
