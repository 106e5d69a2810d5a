// What the route handlers share: the tenant, its keys and its addresses.
import type { ExportJobs } from './export-jobs.js';
import type { SearchIndex } from './search.js';
import type { PostLoginActions } from './post-login.js';
import type { LoginStore } from './sessions.js';
import type { TenantState } from './state.js';
import type { EmulatorTokenMinter, TenantKeys } from './tokens.js';

export interface EmulatorContext {
  state: TenantState;
  /** What user search answers from (it may lag behind `state`). */
  searchIndex: SearchIndex;
  logins: LoginStore;
  keys: TenantKeys;
  minter: EmulatorTokenMinter;
  origin: string;
  issuer: string;
  managementAudience: string;
  tokenLifetimeSeconds: number;
  now: () => number;
  /** Deployed post-login Actions and the logins suspended at their redirects (DESIGN §14). */
  actions: PostLoginActions;
  /** Users-export jobs (DESIGN §16). */
  exportJobs: ExportJobs;
}
