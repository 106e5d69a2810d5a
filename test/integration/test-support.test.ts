// The test support's own promises: the network guard also holds in the node processes tests
// start, and a gateway's log lines are read whole however its output is cut.
import { spawn } from 'node:child_process';
import net, { createServer, type Server } from 'node:net';
import { JsonLines } from '../support/gateway-process.js';
import { loopbackOnlyEnv } from '../support/network-guard.js';

/** Runs `node -e script` with `env`; resolves its exit code and stderr. */
function runNode(script: string, env: Record<string, string>) {
  const child = spawn(process.execPath, ['-e', script], { env });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise<{ code: number | null; stderr: string }>((done) =>
    child.once('close', (code) => done({ code, stderr })),
  );
}

describe('the network guard in the jest process', () => {
  it.each([
    ['net.connect(port, host)', () => net.connect(443, '192.0.2.1')],
    ['net.connect(options)', () => net.connect({ port: 443, host: '192.0.2.1' })],
    ['new Socket().connect(options)', () => new net.Socket().connect({ port: 443, host: '192.0.2.1' })],
  ])('fails %s off loopback', (_title, connect) => {
    expect(connect).toThrow('network guard: tests may only connect to loopback, not to 192.0.2.1');
  });

  it('fails an HTTP request off loopback', async () => {
    await expect(fetch('http://192.0.2.1/')).rejects.toMatchObject({
      cause: { message: 'network guard: tests may only connect to loopback, not to 192.0.2.1' },
    });
  });
});

describe('the network guard in child processes (loopbackOnlyEnv)', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  // Connects to `host`, prints "connected" or the error's message, exits 0 either way.
  const connectTo = (host: string) =>
    `const s = require('node:net').connect(${port}, ${JSON.stringify(host)});
     s.on('connect', () => { console.error('connected'); s.destroy(); });
     s.on('error', (e) => console.error('error', e.message));`;

  it('fails a connection off loopback, on the child stderr', async () => {
    const run = runNode(
      `try { ${connectTo('192.0.2.1')} } catch (e) { console.error('thrown:', e.message) }`,
      {
        ...loopbackOnlyEnv({ PATH: process.env.PATH ?? '' }),
      },
    );
    const { stderr } = await run;
    expect(stderr).toContain('thrown: network guard: tests may only connect to loopback, not to 192.0.2.1');
  });

  it('lets loopback connections through', async () => {
    const { code, stderr } = await runNode(
      connectTo('127.0.0.1'),
      loopbackOnlyEnv({ PATH: process.env.PATH ?? '' }),
    );
    expect({ code, stderr: stderr.trim() }).toEqual({ code: 0, stderr: 'connected' });
  });

  it('keeps NODE_OPTIONS the caller gave', () => {
    expect(loopbackOnlyEnv({ NODE_OPTIONS: '--max-old-space-size=256' }).NODE_OPTIONS).toMatch(
      /^--max-old-space-size=256 --import ".*loopback-guard\.mjs"$/,
    );
  });
});

describe('JsonLines (a gateway process log)', () => {
  it('parses a line cut across two chunks once its end has come', () => {
    const logs = new JsonLines();
    logs.push('{"level":30,"msg":"first"}\n{"level":40,"ms');
    expect(logs.lines()).toEqual([{ level: 30, msg: 'first' }]);
    logs.push('g":"second"}\nGraphQL: http://127.0.0.1:1/graphql\n');
    expect(logs.lines()).toEqual([
      { level: 30, msg: 'first' },
      { level: 40, msg: 'second' },
    ]);
  });
});
