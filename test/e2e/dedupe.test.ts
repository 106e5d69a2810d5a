// `npm run dedupe` (DESIGN §16) as an operator runs it: the built CLI as a child process against
// the emulator over HTTP. Plans on a tenant with known groups (each --primary rule, unverified and
// case variants, the paged read and the export job), applies with exact reports, re-checks pairs
// changed after the plan, resumes after SIGINT, and links nothing in a dry run.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  DEMO,
  DEMO_SEED,
  startAuth0Emulator,
  type Auth0Emulator,
  type SeedUser,
} from '../../src/auth0-emulator/index.js';
import type { DedupeReport } from '../../src/dedupe/apply.js';
import type { DedupePlan } from '../../src/dedupe/plan.js';
import type { ApplyState } from '../../src/dedupe/state-file.js';
import { expectSentBodiesMatchContract } from '../support/auth0-contract.js';
import { loopbackOnlyEnv } from '../support/network-guard.js';

const CLI = resolve('dist/src/dedupe/cli.js');

let emulator: Auth0Emulator;
beforeAll(async () => {
  emulator = await startAuth0Emulator({
    port: 0,
    seed: { clients: DEMO_SEED.clients, client_grants: DEMO_SEED.client_grants, users: [] },
  });
});
afterAll(async () => {
  await emulator.close();
});
// Every body the job sent to Auth0 is one Auth0's published document allows.
afterEach(() => {
  expectSentBodiesMatchContract(emulator.journal);
});

// Three users of Alice (one with the email in other case), Bob with one verified and one
// unverified user, two Carols created at the same instant, and users with no duplicate.
const TENANT: SeedUser[] = [
  {
    user_id: 'auth0|alice1',
    email: 'alice@example.com',
    email_verified: true,
    created_at: '2020-01-01T00:00:00.000Z',
    logins_count: 5,
    last_login: '2024-01-01T00:00:00.000Z',
  },
  {
    user_id: 'google-oauth2|alice2',
    email: 'alice@example.com',
    email_verified: true,
    created_at: '2021-01-01T00:00:00.000Z',
    logins_count: 20,
    last_login: '2023-06-01T00:00:00.000Z',
  },
  {
    user_id: 'github|alice3',
    email: 'Alice@Example.COM',
    email_verified: true,
    created_at: '2022-01-01T00:00:00.000Z',
    logins_count: 1,
    last_login: '2025-01-01T00:00:00.000Z',
  },
  {
    user_id: 'auth0|bob1',
    email: 'bob@example.com',
    email_verified: true,
    created_at: '2020-05-01T00:00:00.000Z',
  },
  {
    user_id: 'google-oauth2|bob2',
    email: 'bob@example.com',
    email_verified: false,
    created_at: '2019-05-01T00:00:00.000Z',
  },
  {
    user_id: 'auth0|carol2',
    email: 'carol@example.com',
    email_verified: true,
    created_at: '2020-03-01T00:00:00.000Z',
  },
  {
    user_id: 'auth0|carol1',
    email: 'carol@example.com',
    email_verified: true,
    created_at: '2020-03-01T00:00:00.000Z',
  },
  {
    user_id: 'auth0|dave',
    email: 'dave@example.com',
    email_verified: true,
    created_at: '2020-04-01T00:00:00.000Z',
  },
  { user_id: 'auth0|erin', created_at: '2020-06-01T00:00:00.000Z' },
];

function seed(users: SeedUser[] = TENANT): void {
  emulator.tenant.reset();
  for (const user of users) emulator.tenant.addUser(user);
}

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface RunningCli {
  child: ReturnType<typeof spawn>;
  done: Promise<CliResult>;
}

function startCli(cwd: string, args: string[], env: Record<string, string> = {}): RunningCli {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd,
    env: loopbackOnlyEnv({
      PATH: process.env.PATH ?? '',
      AUTH0_DOMAIN: emulator.origin,
      AUTH0_CLIENT_ID: DEMO.serviceClientId,
      AUTH0_CLIENT_SECRET: DEMO.serviceClientSecret,
      LOG_LEVEL: 'warn',
      ...env,
    }),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<CliResult>((resolveDone) =>
    child.on('close', (code) => resolveDone({ code, stdout, stderr })),
  );
  return { child, done };
}

const cli = (cwd: string, ...args: string[]) => startCli(cwd, args).done;
const workDir = () => mkdtempSync(join(tmpdir(), 'dedupe-'));
const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;

async function plan(dir: string, ...extra: string[]): Promise<DedupePlan> {
  const result = await cli(dir, 'plan', '--out', 'plan.json', ...extra);
  expect(result.code).toBe(0);
  // Progress lines only (the export job's state): no log line, no error.
  for (const line of result.stderr.split('\n').filter(Boolean))
    expect(line).toMatch(/^dedupe: users-export job job_/);
  return readJson<DedupePlan>(join(dir, 'plan.json'));
}

const groupsOf = (p: DedupePlan) =>
  p.groups.map(({ email, primary, secondaries }) => ({ email, primary, secondaries }));

async function serviceToken(): Promise<string> {
  const response = await fetch(`${emulator.origin}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      grant_type: 'client_credentials',
      client_id: DEMO.serviceClientId,
      client_secret: DEMO.serviceClientSecret,
      audience: emulator.managementAudience,
    }),
  });
  return ((await response.json()) as { access_token: string }).access_token;
}

async function management(method: string, path: string, json: unknown): Promise<number> {
  const response = await fetch(`${emulator.origin}${path}`, {
    method,
    headers: { authorization: `Bearer ${await serviceToken()}`, 'content-type': 'application/json' },
    body: JSON.stringify(json),
  });
  await response.text();
  return response.status;
}

const linkBodies = () =>
  emulator.journal
    .entries({ route: 'link' })
    .map((e) => ({ path: decodeURIComponent(e.path), body: e.body }));

describe('dedupe plan', () => {
  beforeEach(() => seed());

  it('prints help for both commands and exits 0', async () => {
    const result = await cli(workDir(), '--help');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('npm run dedupe -- plan --out plan.json');
    expect(result.stdout).toContain('npm run dedupe -- apply plan.json');
  });

  it('refuses an unknown --primary rule with exit 2 before any Auth0 call', async () => {
    const result = await cli(workDir(), 'plan', '--out', 'plan.json', '--primary', 'newest');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--primary');
    expect(emulator.journal.count()).toBe(0);
  });

  it('groups verified emails case-insensitively, never unverified ones, with the oldest as primary by default', async () => {
    const dir = workDir();
    const written = await plan(dir);
    expect(groupsOf(written)).toEqual([
      {
        email: 'alice@example.com',
        primary: 'auth0|alice1',
        secondaries: ['github|alice3', 'google-oauth2|alice2'],
      },
      { email: 'carol@example.com', primary: 'auth0|carol1', secondaries: ['auth0|carol2'] },
    ]);
    expect(written.groups[0].reason).toBe('oldest: created_at 2020-01-01T00:00:00.000Z');
    // Same created_at: the smaller user_id, and the reason says so.
    expect(written.groups[1].reason).toContain('tie');
    expect(written).toMatchObject({
      version: 1,
      tenant: emulator.origin,
      primaryRule: 'oldest',
      source: 'users-list',
      totals: { users: 9, unverifiedUsers: 2, groups: 2, links: 3 },
      // Per pair: the re-check's two reads and the link, and with the undo window (on by
      // default) the core's reads of both users and of the secondary's roles and memberships.
      estimate: { auth0Calls: 18 },
    });
    // The paged path: no export job below 1000 users.
    expect(emulator.journal.count('create-users-export')).toBe(0);
    expect(emulator.journal.count('search-users')).toBe(1);
    expect(emulator.journal.count('link')).toBe(0);
  });

  it('writes the same bytes for the same tenant, whatever order Auth0 lists it in', async () => {
    const first = workDir();
    await plan(first);
    seed([...TENANT].reverse());
    const second = workDir();
    await plan(second);
    expect(readFileSync(join(second, 'plan.json'), 'utf8')).toBe(
      readFileSync(join(first, 'plan.json'), 'utf8'),
    );
  });

  it.each([
    ['most-logins', 'google-oauth2|alice2', ['auth0|alice1', 'github|alice3'], 'most-logins: 20 logins'],
    [
      'last-login',
      'github|alice3',
      ['auth0|alice1', 'google-oauth2|alice2'],
      'last-login: 2025-01-01T00:00:00.000Z',
    ],
    ['connection:github', 'github|alice3', ['auth0|alice1', 'google-oauth2|alice2'], 'connection:github'],
    [
      'connection:Username-Password-Authentication',
      'auth0|alice1',
      ['github|alice3', 'google-oauth2|alice2'],
      'connection:Username-Password-Authentication',
    ],
  ])('--primary %s picks %s', async (rule, primary, secondaries, reason) => {
    const written = await plan(workDir(), '--primary', rule);
    expect(written.primaryRule).toBe(rule);
    expect(groupsOf(written)[0]).toEqual({ email: 'alice@example.com', primary, secondaries });
    expect(written.groups[0].reason).toBe(reason);
    // Carol's users tie on every rule (no logins, same age, same connection): the smaller user_id.
    expect(groupsOf(written)[1]).toEqual({
      email: 'carol@example.com',
      primary: 'auth0|carol1',
      secondaries: ['auth0|carol2'],
    });
  });

  it('falls back to the oldest when no user of a group is on the --primary connection', async () => {
    const written = await plan(workDir(), '--primary', 'connection:github');
    expect(written.groups[1].reason).toBe(
      'connection:github: no user of the group on it; oldest: created_at 2020-03-01T00:00:00.000Z',
    );
  });

  it('reads a tenant of more than 1000 users through the users-export job', async () => {
    const many: SeedUser[] = [...TENANT];
    for (let i = 0; i < 1000; i += 1) {
      many.push({
        user_id: `auth0|bulk${String(i).padStart(4, '0')}`,
        email: `bulk${i}@example.com`,
        email_verified: true,
        created_at: '2021-06-01T00:00:00.000Z',
      });
    }
    seed(many);
    const written = await plan(workDir());
    expect(written.source).toBe('users-export');
    expect(written.totals).toEqual({ users: 1009, unverifiedUsers: 2, groups: 2, links: 3 });
    expect(groupsOf(written)).toEqual([
      {
        email: 'alice@example.com',
        primary: 'auth0|alice1',
        secondaries: ['github|alice3', 'google-oauth2|alice2'],
      },
      { email: 'carol@example.com', primary: 'auth0|carol1', secondaries: ['auth0|carol2'] },
    ]);
    const [created] = emulator.journal.entries({ route: 'create-users-export' });
    expect(created.body).toEqual({
      format: 'json',
      fields: [
        'user_id',
        'email',
        'email_verified',
        'created_at',
        'logins_count',
        'last_login',
        'identities',
      ].map((name) => ({ name })),
    });
    expect(emulator.journal.count('users-export-file')).toBe(1);
    // One page to learn the total; none beyond Auth0's cap.
    expect(emulator.journal.entries({ route: 'search-users' }).map((e) => e.status)).toEqual([200]);
  });
});

describe('dedupe apply', () => {
  beforeEach(() => seed());

  it('links every pair once, reports exact counts with linkIds, and a second apply links nothing again', async () => {
    const dir = workDir();
    const planned = await plan(dir);
    emulator.journal.clear();
    const first = await cli(dir, 'apply', 'plan.json');
    expect({ code: first.code, stderr: first.stderr.includes('failed 0') }).toEqual({
      code: 0,
      stderr: true,
    });
    // The plan's estimate is what the apply cost (users without roles or memberships).
    const calls = emulator.journal.entries().filter((e) => e.path.startsWith('/api/v2/'));
    expect(calls).toHaveLength(planned.estimate.auth0Calls);
    const report = readJson<DedupeReport>(join(dir, 'dedupe-report.json'));
    expect(report.totals).toEqual({ pairs: 3, linked: 3, skipped: 0, failed: 0, pending: 0 });
    expect(report.complete).toBe(true);
    expect(report.linked.map(({ primary, secondary }) => [primary, secondary])).toEqual([
      ['auth0|alice1', 'github|alice3'],
      ['auth0|alice1', 'google-oauth2|alice2'],
      ['auth0|carol1', 'auth0|carol2'],
    ]);
    const linkIds = report.linked.map((l) => l.linkId);
    expect(new Set(linkIds).size).toBe(3);
    for (const id of linkIds) expect(id).toMatch(/^msg_/);
    expect(first.stdout).toContain('| linked');

    // Groups run side by side: the order across groups is not fixed, within a group it is.
    const sortedLinks = linkBodies().sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
    expect(sortedLinks).toEqual([
      { path: '/api/v2/users/auth0|alice1/identities', body: { provider: 'github', user_id: 'alice3' } },
      {
        path: '/api/v2/users/auth0|alice1/identities',
        body: { provider: 'google-oauth2', user_id: 'alice2' },
      },
      { path: '/api/v2/users/auth0|carol1/identities', body: { provider: 'auth0', user_id: 'carol2' } },
    ]);

    // The tenant as planned: the primaries hold the secondaries, which are no users of their own.
    expect(
      emulator.tenant
        .getUser('auth0|alice1')
        ?.identities?.map((i) => `${i.provider}|${i.user_id}`)
        .sort(),
    ).toEqual(['auth0|alice1', 'github|alice3', 'google-oauth2|alice2']);
    expect(emulator.tenant.getUser('auth0|carol1')?.identities).toHaveLength(2);
    for (const gone of ['github|alice3', 'google-oauth2|alice2', 'auth0|carol2'])
      expect(emulator.tenant.getUser(gone)).toBeUndefined();

    emulator.journal.clear();
    const again = await cli(dir, 'apply', 'plan.json');
    expect(again.code).toBe(0);
    expect(emulator.journal.count()).toBe(0);
    expect(readJson<DedupeReport>(join(dir, 'dedupe-report.json')).linked.map((l) => l.linkId)).toEqual(
      linkIds,
    );
  });
});

describe('dedupe apply with --carry-roles and --carry-organizations', () => {
  beforeEach(() => seed());

  it("gives each primary the secondary's roles and memberships before the link, through the link core", async () => {
    emulator.tenant.addRole({ id: 'rol_dedupe0000000001', name: 'editor', users: ['auth0|carol2'] });
    emulator.tenant.addOrganization({
      id: 'org_dedupe0000000001',
      name: 'acme',
      members: [{ user_id: 'auth0|carol2' }],
    });
    const dir = workDir();
    await plan(dir);
    const applied = await cli(dir, 'apply', 'plan.json', '--carry-roles', '--carry-organizations');
    expect(applied.code).toBe(0);
    expect(emulator.tenant.userRoleIds('auth0|carol1')).toEqual(['rol_dedupe0000000001']);
    expect(emulator.tenant.userMemberships('auth0|carol1')).toEqual([
      { organizationId: 'org_dedupe0000000001', roleIds: [] },
    ]);
    expect(emulator.tenant.getUser('auth0|carol2')).toBeUndefined();
  });
});

describe('dedupe apply on a tenant that changed after the plan', () => {
  beforeEach(() => seed());

  it('skips each pair changed after the plan with its reason, and links none of them', async () => {
    const dir = workDir();
    await plan(dir);
    // google-oauth2|alice2 is linked into Dave meanwhile (no standalone user of that id any more),
    // github|alice3's email is no longer verified, and Carol's secondary gained a linked identity.
    emulator.tenant.addUser({ user_id: 'auth0|extra', email: 'extra@example.com', email_verified: true });
    expect(
      await management('POST', '/api/v2/users/auth0%7Cdave/identities', {
        provider: 'google-oauth2',
        user_id: 'alice2',
      }),
    ).toBe(201);
    expect(await management('PATCH', '/api/v2/users/github%7Calice3', { email_verified: false })).toBe(200);
    expect(
      await management('POST', '/api/v2/users/auth0%7Ccarol2/identities', {
        provider: 'auth0',
        user_id: 'extra',
      }),
    ).toBe(201);
    emulator.journal.clear();

    const result = await cli(dir, 'apply', 'plan.json', '--report', 'out.json');
    expect(result.code).toBe(0);
    const report = readJson<DedupeReport>(join(dir, 'out.json'));
    expect(report.totals).toEqual({ pairs: 3, linked: 0, skipped: 3, failed: 0, pending: 0 });
    expect(report.skipped).toEqual([
      { primary: 'auth0|alice1', secondary: 'github|alice3', reason: 'EMAIL_NOT_VERIFIED' },
      { primary: 'auth0|alice1', secondary: 'google-oauth2|alice2', reason: 'SECONDARY_NOT_FOUND' },
      { primary: 'auth0|carol1', secondary: 'auth0|carol2', reason: 'SECONDARY_NOT_STANDALONE' },
    ]);
    expect(emulator.journal.count('link')).toBe(0);
    expect(result.stdout).toContain('EMAIL_NOT_VERIFIED');
  });

  it('refuses a state file of another plan with exit 2 before any Auth0 call', async () => {
    const dir = workDir();
    await plan(dir);
    expect((await cli(dir, 'apply', 'plan.json')).code).toBe(0);
    // After those links a new plan of the tenant has no groups: another plan, the same state file.
    await plan(dir);
    emulator.journal.clear();
    const result = await cli(dir, 'apply', 'plan.json');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('belongs to another plan');
    expect(emulator.journal.count()).toBe(0);
  });
});

describe('dedupe apply, stopped and resumed', () => {
  beforeEach(() => seed());

  it('on SIGINT finishes the link in flight, saves the state, exits 130, and the next apply finishes without linking twice', async () => {
    const dir = workDir();
    await plan(dir);
    // Links answer after 1.5 s: the signal arrives while the first ones are in flight.
    emulator.faults.add({ route: 'link', times: 10, latencyMs: 1500 });
    const run = startCli(dir, ['apply', 'plan.json']);
    await waitFor(() => emulator.journal.count('link') >= 1, 10_000, 'a link in flight');
    run.child.kill('SIGINT');
    const stopped = await run.done;
    expect(stopped.code).toBe(130);

    const inFlight = emulator.journal.count('link');
    const state = readJson<ApplyState>(join(dir, 'dedupe-state.json'));
    // Every link that was sent finished and is in the state; Alice's second pair never started.
    expect(state.pairs.filter((p) => p.outcome === 'linked')).toHaveLength(inFlight);
    expect(emulator.journal.entries({ route: 'link' }).map((e) => e.status)).toEqual(
      Array(inFlight).fill(201),
    );
    const partial = readJson<DedupeReport>(join(dir, 'dedupe-report.json'));
    expect(partial.complete).toBe(false);
    expect(partial.totals.pending).toBeGreaterThanOrEqual(1);
    expect(partial.totals.linked).toBe(inFlight);

    const resumed = await cli(dir, 'apply', 'plan.json');
    expect(resumed.code).toBe(0);
    const report = readJson<DedupeReport>(join(dir, 'dedupe-report.json'));
    expect(report.totals).toEqual({ pairs: 3, linked: 3, skipped: 0, failed: 0, pending: 0 });
    // Each pair linked exactly once over both runs.
    const linked = emulator.journal.entries({ route: 'link' }).map((e) => JSON.stringify([e.path, e.body]));
    expect(linked).toHaveLength(3);
    expect(new Set(linked).size).toBe(3);
    // Links done before the signal keep their ids.
    for (const earlier of partial.linked) expect(report.linked).toContainEqual(earlier);
  });

  it('after kill -9 in the middle of a link, the next apply finds it made and links no pair twice', async () => {
    const dir = workDir();
    await plan(dir);
    emulator.faults.add({ route: 'link', times: 1, latencyMs: 1000 });
    const run = startCli(dir, ['apply', 'plan.json']);
    await waitFor(() => emulator.journal.count('link') >= 1, 10_000, 'a link in flight');
    run.child.kill('SIGKILL');
    expect((await run.done).code).toBeNull();
    // The emulator finishes the link the killed job sent: it is made, and no state says so.
    await waitFor(
      () => emulator.journal.entries({ route: 'link' })[0].status === 201,
      5000,
      'the link applied',
    );
    const killedState = existsSync(join(dir, 'dedupe-state.json'))
      ? readJson<ApplyState>(join(dir, 'dedupe-state.json')).pairs.length
      : 0;
    expect(killedState).toBeLessThan(3);

    const resumed = await cli(dir, 'apply', 'plan.json');
    expect(resumed.code).toBe(0);
    const report = readJson<DedupeReport>(join(dir, 'dedupe-report.json'));
    expect(report.totals).toEqual({ pairs: 3, linked: 3, skipped: 0, failed: 0, pending: 0 });
    for (const { linkId } of report.linked) expect(linkId).toMatch(/^msg_/);
    const made = emulator.journal
      .entries({ route: 'link' })
      .filter((e) => e.status === 201)
      .map((e) => JSON.stringify([e.path, e.body]));
    expect(made).toHaveLength(3);
    expect(new Set(made).size).toBe(3);
    // The link found made was not sent again.
    expect(emulator.journal.count('link')).toBe(3);
    expect(emulator.tenant.getUser('auth0|alice1')?.identities).toHaveLength(3);
  });

  it('refuses --max-rate that is not a positive number with exit 2', async () => {
    const dir = workDir();
    await plan(dir);
    emulator.journal.clear();
    const result = await cli(dir, 'apply', 'plan.json', '--max-rate', '0');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--max-rate');
    expect(emulator.journal.count()).toBe(0);
  });

  it('--dry-run re-checks every pair, reports what it would link without linkIds, and links nothing', async () => {
    const dir = workDir();
    await plan(dir);
    emulator.journal.clear();
    // A budget of one call at a time: every read waits for the bucket, with no Redis connection
    // to hold the process (its waits are unref'd timers); the job must still run to its report.
    const result = await startCli(dir, ['apply', 'plan.json', '--dry-run'], { AUTH0_RATE_LIMIT: '40/1' })
      .done;
    expect(result.code).toBe(0);
    const report = readJson<DedupeReport>(join(dir, 'dedupe-report.json'));
    expect(report).toMatchObject({ dryRun: true, complete: true });
    expect(report.totals).toEqual({ pairs: 3, linked: 3, skipped: 0, failed: 0, pending: 0 });
    expect(report.linked).toEqual([
      { primary: 'auth0|alice1', secondary: 'github|alice3' },
      { primary: 'auth0|alice1', secondary: 'google-oauth2|alice2' },
      { primary: 'auth0|carol1', secondary: 'auth0|carol2' },
    ]);
    expect(emulator.journal.count('link')).toBe(0);
    expect(emulator.journal.count('update-user')).toBe(0);
    // The re-check read each pair's users.
    expect(emulator.journal.count('get-user')).toBe(6);
    expect(existsSync(join(dir, 'dedupe-state.json'))).toBe(false);
  });
});

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
