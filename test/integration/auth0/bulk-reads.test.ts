// The Management API client's bulk reads (DESIGN §16) against the emulator over HTTP: paged user
// lists with Auth0's 1000-result cap, and the users-export job from creation to its streamed file.
import { GatewayError } from '../../../src/errors.js';
import { Auth0ManagementApi } from '../../../src/auth0/management-api.js';
import { createAuth0Services, type Auth0Services } from '../../../src/auth0/auth0-services.js';
import { createLogger } from '../../../src/observability/logger.js';
import { DEMO, startAuth0Emulator, type Auth0Emulator } from '../../../src/auth0-emulator/index.js';
import { expectSentBodiesMatchContract } from '../../support/auth0-contract.js';

let emulator: Auth0Emulator;
const opened: Auth0Services[] = [];

beforeAll(async () => {
  emulator = await startAuth0Emulator({ port: 0 });
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(() => emulator.tenant.reset());
afterEach(async () => {
  expectSentBodiesMatchContract(emulator.journal);
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

function api(): Auth0ManagementApi {
  const services = createAuth0Services({
    config: {
      origin: emulator.origin,
      issuer: emulator.issuer,
      clientId: DEMO.serviceClientId,
      clientSecret: DEMO.serviceClientSecret,
      audience: emulator.managementAudience,
      timeoutMs: 2000,
      rateLimit: null,
      maxWaitMs: 10_000,
    },
    logger: createLogger({ level: 'silent' }),
    delay: async () => undefined,
  });
  opened.push(services);
  return new Auth0ManagementApi(services, { requestId: 'req-bulk' });
}

async function refusal(promise: Promise<unknown>): Promise<GatewayError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(GatewayError);
    return error as GatewayError;
  }
  throw new Error('expected a GatewayError');
}

async function collect(lines: AsyncIterable<Record<string, unknown>>): Promise<Record<string, unknown>[]> {
  const all: Record<string, unknown>[] = [];
  for await (const line of lines) all.push(line);
  return all;
}

function seedUsers(count: number): string[] {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const id = `auth0|bulk${String(i).padStart(5, '0')}`;
    // Created in reverse order, so sorting by created_at reverses the ids.
    const created = new Date(Date.UTC(2020, 0, 1) + (count - i) * 60_000).toISOString();
    emulator.tenant.addUser({
      user_id: id,
      email: `u${i}@example.com`,
      email_verified: true,
      created_at: created,
    });
    ids.push(id);
  }
  return ids;
}

describe('Auth0ManagementApi bulk reads', () => {
  describe('listUsers', () => {
    it('pages with per_page and include_totals, sorted by created_at, as sent to Auth0', async () => {
      const ids = seedUsers(5);
      const page = await api().listUsers({ q: 'user_id:auth0|bulk*', page: 1, perPage: 2, includeTotals: true, sort: 'created_at:1' });
      expect(page).toEqual({ start: 2, limit: 2, length: 2, total: 5, users: expect.any(Array) });
      // Oldest first: bulk00004 is the oldest.
      expect(page.users.map((u) => u.user_id)).toEqual([ids[2], ids[1]]);
      const [entry] = emulator.journal.entries({ route: 'search-users' });
      expect(entry.query).toEqual({ search_engine: 'v3', q: 'user_id:auth0|bulk*', page: '1', per_page: '2', sort: 'created_at:1', include_totals: 'true' });
    }); // prettier-ignore

    it('answers the array alone without include_totals, and sorts descending', async () => {
      const ids = seedUsers(3);
      const page = await api().listUsers({ q: 'user_id:auth0|bulk*', sort: 'created_at:-1' });
      expect(page).toEqual({ users: expect.any(Array) });
      expect(page.users.map((u) => u.user_id)).toEqual(ids);
    });

    it('reads the last page within the first 1000 results, and maps a page past them to BAD_USER_INPUT', async () => {
      const client = api();
      await expect(client.listUsers({ page: 9, perPage: 100 })).resolves.toEqual({
        users: expect.any(Array),
      });
      const error = await refusal(client.listUsers({ page: 10, perPage: 100 }));
      expect(error.code).toBe('BAD_USER_INPUT');
      expect(error.extensions.auth0).toEqual({ statusCode: 400, errorCode: 'invalid_paging' });
      expect(error.message).toMatch(/only page through the first 1000 records/);
      // A 400 is Auth0 saying no: sent once, not retried.
      expect(emulator.journal.count('search-users')).toBe(2);
    });

    it('refuses a malformed sort before sending anything', async () => {
      await expect(api().listUsers({ sort: 'created_at' })).rejects.toThrow(RangeError);
      expect(emulator.journal.count('search-users')).toBe(0);
    });
  });

  describe('users-export job', () => {
    it('creates the job, polls it to completed and streams every user of the file', async () => {
      const ids = seedUsers(3);
      const client = api();
      const fields = [{ name: 'user_id' }, { name: 'email' }, { name: 'email_verified' }, { name: 'identities' }, { name: 'created_at' }];
      const job = await client.createUsersExportJob({ format: 'json', fields });
      expect(job).toMatchObject({ type: 'users_export', status: 'pending', id: expect.stringMatching(/^job_/) });
      let current = await client.getJob(job.id);
      expect(current.status).toBe('processing');
      current = await client.getJob(job.id);
      expect(current.status).toBe('completed');
      const users = await collect(client.downloadUsersExport(current.location as string));
      expect(users).toHaveLength(emulator.tenant.listUsers().length);
      expect(users.find((u) => u.user_id === ids[0])).toEqual({
        user_id: ids[0],
        email: 'u0@example.com',
        email_verified: true,
        identities: [{ provider: 'auth0', user_id: 'bulk00000', connection: 'Username-Password-Authentication', isSocial: false }],
        created_at: expect.any(String),
      });
      // The download is not a Management API call: no bearer goes to the location.
      const [download] = emulator.journal.entries({ route: 'users-export-file' });
      expect(download.headers.authorization).toBeUndefined();
      expect(emulator.journal.entries({ route: 'create-users-export' })[0].body).toEqual({ format: 'json', fields });
    }); // prettier-ignore

    it('retries a job read after a 5xx, and not a job creation', async () => {
      const client = api();
      emulator.faults.add({ route: 'create-users-export', status: 503, body: { statusCode: 503, error: 'Service Unavailable', message: 'down' } });
      const refused = await refusal(client.createUsersExportJob({}));
      expect(refused.code).toBe('UPSTREAM_ERROR');
      expect(emulator.journal.count('create-users-export')).toBe(1);
      const job = await client.createUsersExportJob({});
      emulator.faults.add({ route: 'get-job', status: 503, body: { statusCode: 503, error: 'Service Unavailable', message: 'down' } });
      await expect(client.getJob(job.id)).resolves.toMatchObject({ id: job.id });
      expect(emulator.journal.count('get-job')).toBe(2);
    }); // prettier-ignore

    it('maps an unknown job to NOT_FOUND and a bad body to BAD_USER_INPUT', async () => {
      const client = api();
      expect((await refusal(client.getJob('job_0000000000000000'))).code).toBe('NOT_FOUND');
      const bad = await refusal(client.createUsersExportJob({ connection_id: 'con_ABCDEFGHIJ123456' }));
      expect(bad.code).toBe('BAD_USER_INPUT');
      await expect(client.getJob('../users')).rejects.toThrow(RangeError);
    });

    it('fails a download of a forged location, a non-gzip body and a non-https URL with UPSTREAM_ERROR, without the URL', async () => {
      const client = api();
      const job = await client.createUsersExportJob({});
      await client.getJob(job.id);
      const { location } = await client.getJob(job.id);
      const forged = new URL(location as string);
      forged.searchParams.set('sig', 'forged');
      const answered = await refusal(collect(client.downloadUsersExport(forged.href)));
      expect(answered.code).toBe('UPSTREAM_ERROR');
      expect(answered.message).toBe('The users export download was answered 403.');
      emulator.faults.add({ route: 'users-export-file', status: 200, body: { not: 'gzip' } });
      const notGzip = await refusal(collect(client.downloadUsersExport(location as string)));
      expect(notGzip.message).toBe('The users export file is not valid gzip.');
      const clear = await refusal(collect(client.downloadUsersExport('http://example.com/x.json.gz')));
      expect(clear.message).toMatch(/not https/);
      for (const error of [answered, notGzip]) expect(error.message).not.toContain('sig=');
    }); // prettier-ignore
  });
});
