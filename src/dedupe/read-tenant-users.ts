// Every user of the tenant, as the plan needs them (DESIGN §16): `GET /api/v2/users` pages while
// the tenant has at most 1000 users (Auth0 answers nothing beyond its first 1000 results), the
// users-export job above that.
import type { Auth0ManagementApi } from '../auth0/management-api.js';
import { LIST_PAGE_SIZE } from '../auth0/management-api.js';
import { UpstreamError, UpstreamTimeoutError } from '../errors.js';
import { toTenantUser, type DedupePlan, type TenantUser } from './plan.js';

/** Auth0's cap on the results of a paged list (`page * per_page` beyond it is a 400). */
export const LIST_RESULTS_CAP = 1000;

/** The fields the export job is asked for: what the `--primary` rules and the grouping read. */
export const EXPORT_FIELDS = [
  'user_id',
  'email',
  'email_verified',
  'created_at',
  'logins_count',
  'last_login',
  'identities',
] as const;

export interface ReadTenantUsersOptions {
  /**
   * Waits between polls of the export job, in milliseconds: the last one repeats. Default 0.5 s
   * doubling to 5 s.
   */
  pollDelaysMs?: readonly number[];
  /** Longest wait for the export job to complete; default one hour. */
  exportTimeoutMs?: number;
  /** Told how the read goes: `users` read so far, and the export job's state while it runs. */
  onProgress?: (event: { users: number; source: DedupePlan['source']; job?: string }) => void;
  delay?: (ms: number) => Promise<void>;
}

const DEFAULT_POLL_DELAYS_MS = [500, 1000, 2000, 5000];

export interface TenantUsers {
  source: DedupePlan['source'];
  users: TenantUser[];
}

export async function readTenantUsers(
  api: Auth0ManagementApi,
  options: ReadTenantUsersOptions = {},
): Promise<TenantUsers> {
  // Sorted by user_id: a stable order across pages, whatever the search index returns first.
  const first = await api.listUsers({
    page: 0,
    perPage: LIST_PAGE_SIZE,
    includeTotals: true,
    sort: 'user_id:1',
  });
  const total = first.total ?? first.users.length;
  if (total > LIST_RESULTS_CAP) return { source: 'users-export', users: await readByExport(api, options) };

  const users: TenantUser[] = [];
  const add = (raw: Parameters<typeof toTenantUser>[0]) => {
    const user = toTenantUser(raw);
    if (user) users.push(user);
  };
  first.users.forEach(add);
  options.onProgress?.({ users: users.length, source: 'users-list' });
  // A short page ends the list: users created meanwhile may add pages beyond `total`.
  let page = first;
  for (let index = 1; page.users.length === LIST_PAGE_SIZE; index += 1) {
    if ((index + 1) * LIST_PAGE_SIZE > LIST_RESULTS_CAP) {
      // The tenant grew past the cap while it was read: the export job sees all of it.
      return { source: 'users-export', users: await readByExport(api, options) };
    }
    page = await api.listUsers({ page: index, perPage: LIST_PAGE_SIZE, sort: 'user_id:1' });
    page.users.forEach(add);
    options.onProgress?.({ users: users.length, source: 'users-list' });
  }
  return { source: 'users-list', users };
}

async function readByExport(api: Auth0ManagementApi, options: ReadTenantUsersOptions): Promise<TenantUser[]> {
  const delays = options.pollDelaysMs?.length ? options.pollDelaysMs : DEFAULT_POLL_DELAYS_MS;
  const delay = options.delay ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const timeoutMs = options.exportTimeoutMs ?? 60 * 60 * 1000;
  const started = Date.now();
  let job = await api.createUsersExportJob({
    format: 'json',
    fields: EXPORT_FIELDS.map((name) => ({ name })),
  });
  for (let poll = 0; job.status !== 'completed'; poll += 1) {
    if (job.status === 'failed' || job.status === 'cancelled') {
      throw new UpstreamError(`Auth0's users-export job ${job.id} ended ${job.status}.`);
    }
    if (Date.now() - started > timeoutMs) {
      throw new UpstreamTimeoutError(
        `Auth0's users-export job ${job.id} did not complete within ${Math.round(timeoutMs / 1000)} s.`,
      );
    }
    options.onProgress?.({ users: 0, source: 'users-export', job: `${job.id} ${job.status}` });
    await delay(delays[Math.min(poll, delays.length - 1)]);
    job = await api.getJob(job.id);
  }
  if (!job.location)
    throw new UpstreamError(`Auth0's users-export job ${job.id} completed without a location.`);
  const users: TenantUser[] = [];
  for await (const line of api.downloadUsersExport(job.location)) {
    const user = toTenantUser(line);
    if (user) users.push(user);
    if (users.length % 1000 === 0) options.onProgress?.({ users: users.length, source: 'users-export' });
  }
  options.onProgress?.({ users: users.length, source: 'users-export' });
  return users;
}
