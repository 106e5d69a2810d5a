import { gunzipSync } from 'node:zlib';
import { DEMO, type Auth0Emulator } from '../../../src/auth0-emulator/index.js';
import { contractValidator } from '../../support/auth0-contract.js';
import { call, useEmulator } from '../../support/emulator-fixture.js';

const EXPORTS = '/api/v2/jobs/users-exports';
const jobPath = (id: string) => `/api/v2/jobs/${id}`;

async function download(
  location: string,
): Promise<{ status: number; lines: Record<string, unknown>[]; text: string }> {
  const response = await fetch(location);
  const bytes = Buffer.from(await response.arrayBuffer());
  if (response.status !== 200) return { status: response.status, lines: [], text: bytes.toString() };
  const text = gunzipSync(bytes).toString('utf8');
  const lines = text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { status: 200, lines, text };
}

/** Polls the job until it is completed (the emulator completes it on its second read). */
async function pollToCompletion(
  e: Auth0Emulator,
  token: string,
  id: string,
): Promise<Record<string, unknown>[]> {
  const seen: Record<string, unknown>[] = [];
  for (let i = 0; i < 5; i += 1) {
    const res = await call(e, 'GET', jobPath(id), { token });
    expect(res.status).toBe(200);
    seen.push(res.body as Record<string, unknown>);
    if ((res.body as { status: string }).status === 'completed') return seen;
  }
  throw new Error('job never completed');
}

describe('users-export job', () => {
  const emulator = useEmulator();
  const admin = (e: Auth0Emulator, scope = 'read:users') => e.tokens.adminToken({ scope });

  it('creates a pending job, then reports processing and completed with a location', async () => {
    const e = emulator();
    const token = await admin(e);
    const fields = [
      { name: 'user_id' },
      { name: 'email' },
      { name: 'email_verified' },
      { name: 'identities' },
    ];
    const created = await call(e, 'POST', EXPORTS, { token, json: { format: 'json', fields } });
    expect(created.status).toBe(200);
    const job = created.body as Record<string, unknown>;
    expect(job).toEqual({
      type: 'users_export',
      status: 'pending',
      connection: '',
      format: 'json',
      fields,
      created_at: expect.any(String),
      id: expect.stringMatching(/^job_[A-Za-z0-9]{16}$/),
    });
    const seen = await pollToCompletion(e, token, job.id as string);
    expect(seen.map((j) => j.status)).toEqual(['processing', 'completed']);
    expect(seen[0].location).toBeUndefined();
    expect(seen[1]).toMatchObject({ id: job.id, type: 'users_export', percentage_done: 100 });
    expect(seen[1].location).toMatch(new RegExp(`^${e.origin}/user-exports/${job.id as string}/`));
    expect(e.journal.entries().map((j) => j.route)).toEqual(['create-users-export', 'get-job', 'get-job']);
  });

  it('serves the gzipped NDJSON of every user with the requested fields, identities and email_verified as Auth0 has them', async () => {
    const e = emulator();
    const token = await admin(e);
    const fields = [{ name: 'user_id' }, { name: 'email_verified' }, { name: 'identities' }, { name: 'user_metadata.plan', export_as: 'plan' }];
    e.tenant.addUser({ user_id: 'auth0|withplan', email: 'p@example.com', email_verified: false, user_metadata: { plan: 'gold' } });
    e.tenant.hideFromSearch(['auth0|withplan']);
    const { body } = await call(e, 'POST', EXPORTS, { token, json: { format: 'json', fields } });
    const [, completed] = await pollToCompletion(e, token, (body as { id: string }).id);
    const file = await download(completed.location as string);
    expect(file.status).toBe(200);
    const wire = e.tenant.listUsers();
    expect(file.lines).toHaveLength(wire.length);
    expect(file.lines.find((l) => l.user_id === DEMO.users.aliceGithub)).toEqual({
      user_id: DEMO.users.aliceGithub,
      email_verified: true,
      identities: [{ provider: 'github', user_id: 4031337, connection: 'github', isSocial: true }],
    });
    // Hidden from search, still in the store the export reads; the nested path under export_as.
    expect(file.lines.find((l) => l.user_id === 'auth0|withplan')).toMatchObject({ email_verified: false, plan: 'gold' });
    // Provider tokens never leave in an export.
    expect(file.text).not.toMatch(/access_token|refresh_token/);
    expect(e.journal.entries({ route: 'users-export-file' })[0].query.sig).toMatch(/^\[sha256:/);
  }); // prettier-ignore

  it('exports one connection, up to limit, and CSV with Auth0 escaping', async () => {
    const e = emulator();
    const token = await admin(e);
    const connectionId = e.tenant.connectionId('github');
    const { body } = await call(e, 'POST', EXPORTS, {
      token,
      json: { connection_id: connectionId, format: 'csv', limit: 1, fields: [{ name: 'user_id', export_as: 'id' }, { name: 'email_verified' }] },
    }); // prettier-ignore
    expect(body).toMatchObject({ connection_id: connectionId, connection: 'github', limit: 1 });
    const [, completed] = await pollToCompletion(e, token, (body as { id: string }).id);
    const response = await fetch(completed.location as string);
    const text = gunzipSync(Buffer.from(await response.arrayBuffer())).toString('utf8');
    expect(text).toBe(`id,email_verified\n"'${DEMO.users.aliceGithub}",true\n`);
  });

  it('refuses the location with a wrong signature and an unknown job', async () => {
    const e = emulator();
    const token = await admin(e);
    const { body } = await call(e, 'POST', EXPORTS, { token, json: {} });
    const [, completed] = await pollToCompletion(e, token, (body as { id: string }).id);
    const location = new URL(completed.location as string);
    location.searchParams.set('sig', 'forged');
    expect((await download(location.href)).status).toBe(403);
    expect((await download(`${e.origin}/user-exports/job_0000000000000000/emulator.json.gz`)).status).toBe(
      404,
    );
  });

  it.each<[string, unknown, string]>([
    ['an unknown key', { format: 'json', users: 1 }, "Payload validation error: 'Additional properties not allowed: users'."],
    ['a format outside the enum', { format: 'xml' }, 'Payload validation error: \'No enum match for: "xml"\' on property format.'],
    ['a malformed connection_id', { connection_id: 'github' }, "Payload validation error: 'String does not match pattern ^con_[A-Za-z0-9]{16}$: github' on property connection_id."],
    ['limit 0', { limit: 0 }, "Payload validation error: 'Value 0 is less than minimum 1' on property limit."],
    ['a field without name', { fields: [{ export_as: 'x' }] }, "Payload validation error: 'Missing required property: name' on property fields."],
  ])('answers 400 invalid_body for %s', async (_t, json, message) => {
    const e = emulator();
    const res = await call(e, 'POST', EXPORTS, { token: await admin(e), json });
    expect(res.body).toEqual({ statusCode: 400, error: 'Bad Request', message, errorCode: 'invalid_body' });
    // Each of these bodies is one Auth0's published schema refuses too.
    expect(contractValidator().checkRequest({ method: 'post', template: '/jobs/users-exports' }, json).valid).toBe(false);
  }); // prettier-ignore

  it('answers 400 for a connection the tenant does not have', async () => {
    const e = emulator();
    const res = await call(e, 'POST', EXPORTS, { token: await admin(e), json: { connection_id: 'con_ABCDEFGHIJ123456' } });
    expect(res.body).toEqual({ statusCode: 400, error: 'Bad Request', message: 'The connection does not exist.' });
  }); // prettier-ignore

  it('needs read:users to create and read:users or create:users to read a job', async () => {
    const e = emulator();
    const refused = await call(e, 'POST', EXPORTS, { token: await admin(e, 'update:users'), json: {} });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ message: 'Insufficient scope, expected any of: read:users', errorCode: 'insufficient_scope' });
    const { body } = await call(e, 'POST', EXPORTS, { token: await admin(e), json: {} });
    const id = (body as { id: string }).id;
    expect((await call(e, 'GET', jobPath(id), { token: await admin(e, 'create:users') })).status).toBe(200);
    expect((await call(e, 'GET', jobPath(id), { token: await admin(e, 'update:users') })).status).toBe(403);
  }); // prettier-ignore

  it('answers 404 for an unknown job and 400 for a malformed id', async () => {
    const e = emulator();
    const token = await admin(e);
    const unknown = await call(e, 'GET', jobPath('job_0000000000000000'), { token });
    expect(unknown.body).toEqual({ statusCode: 404, error: 'Not Found', message: 'Job not found.', errorCode: 'inexistent_job' });
    const malformed = await call(e, 'GET', jobPath('nope'), { token });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ errorCode: 'invalid_uri' });
  }); // prettier-ignore

  it("holds its answers to Auth0's published schemas, and the check fails on a bad job body", async () => {
    const e = emulator();
    const token = await admin(e);
    const { body } = await call(e, 'POST', EXPORTS, { token, json: { fields: [{ name: 'email' }] } });
    const create = { method: 'post', template: '/jobs/users-exports' };
    const get = { method: 'get', template: '/jobs/{id}' };
    expect(contractValidator().checkResponse(create, 200, body).errors).toEqual([]);
    const [, completed] = await pollToCompletion(e, token, (body as { id: string }).id);
    expect(contractValidator().checkResponse(get, 200, completed).errors).toEqual([]);
    const { connection: _dropped, ...withoutConnection } = body as Record<string, unknown>;
    expect(contractValidator().checkResponse(create, 200, withoutConnection).valid).toBe(false);
    expect(contractValidator().checkResponse(get, 200, { ...completed, format: 'xml' }).valid).toBe(false);
  });
});
