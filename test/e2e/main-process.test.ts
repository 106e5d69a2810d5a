import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// The built entry point, exactly as `npm start` runs it (`npm test` builds before jest).
const MAIN = resolve('dist/src/main.js');

interface Run {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

const running = new Set<Run>();

function run(env: Record<string, string>): Run {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
  // A working directory of its own, so a developer's .env is not read.
  const cwd = mkdtempSync(join(tmpdir(), 'gateway-main-'));
  const child = spawn(process.execPath, [MAIN], {
    cwd,
    env: { PATH: process.env.PATH ?? '', APOLLO_TELEMETRY_DISABLED: 'true', LOG_LEVEL: 'warn', ...env },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  const r = { child, stdout: () => out, stderr: () => err, exited };
  running.add(r);
  exited.then(() => running.delete(r));
  return r;
}

/** Resolves once stdout contains `marker` (the process prints it when ready). */
function waitForOutput(r: Run, marker: RegExp): Promise<string> {
  return new Promise((done, fail) => {
    const check = () => {
      if (marker.test(r.stdout())) {
        r.child.stdout.off('data', check);
        done(r.stdout());
      }
    };
    r.child.stdout.on('data', check);
    r.exited.then((code) => fail(new Error(`exited with ${code}: ${r.stderr()}`)));
    check();
  });
}

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

afterEach(() => {
  // A failed assertion must not leave a server behind (jest would never exit).
  for (const r of running) r.child.kill('SIGKILL');
  running.clear();
});

describe('the server process (npm start)', () => {
  it('with no AUTH0_DOMAIN, starts the embedded emulator and prints requests that work as printed', async () => {
    const r = run({ PORT: '0' });
    try {
      const output = await waitForOutput(r, /# 3\.[\s\S]*-d '[^\n]*query Me[^\n]*\n/);
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
    } finally {
      r.child.kill('SIGTERM');
    }
    // Graceful shutdown: stop accepting, finish in-flight requests, exit 0.
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
  ])('stops at start on bad configuration with one line naming the variable (%j)', async (env, variable) => {
    const r = run(env);
    expect(await r.exited).toBe(1);
    const lines = r.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`${variable}:`);
    expect(r.stderr()).not.toContain('hunter2');
  });
});
