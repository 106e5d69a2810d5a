// A local Auth0 tenant for tests and the embedded default (DESIGN §9).
import type { AddressInfo } from 'node:net';
import type { EmulatorContext } from './context.js';
import { DEMO, DEMO_SEED } from './demo-seed.js';
import { ExportJobs } from './export-jobs.js';
import { FaultInjector } from './faults.js';
import { SearchIndex } from './search.js';
import { DEFAULT_ACTION_TIMEOUT_MS } from './actions.js';
import { PostLoginActions } from './post-login.js';
import { RequestJournal } from './journal.js';
import { DEFAULT_RATE_LIMIT, initialRateLimit, TokenBucket } from './rate-limiter.js';
import { EmulatorServer } from './server.js';
import { LoginStore } from './sessions.js';
import { TenantState } from './state.js';
import { createTenantKeys, EmulatorTokenMinter } from './tokens.js';
import type {
  ActionsDeployment,
  EmulatorOptions,
  EmulatorSeed,
  Faults,
  Journal,
  RateLimit,
  SeedClient,
  SeedClientGrant,
  SeedOrganization,
  SeedRole,
  SeedUser,
  TenantControl,
  TokenMinter,
  WireUser,
} from './types.js';
import { toWireUser } from './wire.js';

export { DEMO, DEMO_SEED } from './demo-seed.js';
export { DEFAULT_RATE_LIMIT, parseRateLimit, RATE_LIMIT_PLANS } from './rate-limiter.js';
export { loadSeedFile, parseSeed } from './seed.js';
export { journalFingerprint, MAX_JOURNAL_ENTRIES } from './journal.js';
export type * from './types.js';

export interface Auth0Emulator {
  /** 'http://127.0.0.1:PORT', no trailing slash. */
  readonly origin: string;
  /** origin + '/'. */
  readonly issuer: string;
  /** origin + '/api/v2/'. */
  readonly managementAudience: string;
  readonly journal: Journal;
  readonly faults: Faults;
  readonly tokens: TokenMinter;
  readonly tenant: TenantControl;
  /**
   * Replaces the tenant's Actions and trigger bindings (the seed's `actions`/`triggers` shape):
   * logins starting afterwards run the new `post-login` bindings, in order; a login suspended at a
   * redirect finishes with the Actions it started with. Throws, changing nothing, when an Action
   * does not compile, a binding names no Action, or an Action does not support `post-login`.
   * `tenant.reset()` goes back to the seed's Actions.
   */
  deployActions(deployment: ActionsDeployment): void;
  /** What the Actions wrote with console.* (`[<action name>] <level>: <text>`), oldest first, at most 500. */
  actionLogs(): string[];
  /** A new bucket with this limit; false: back to the default generous bucket (headers still sent). */
  setRateLimit(limit: RateLimit | false): void;
  /** Stops listening, destroys open sockets and cancels fault timers. */
  close(): Promise<void>;
}

/** Starts an emulator on `host:port` (default 127.0.0.1, an ephemeral port) with a fresh key pair. */
export async function startAuth0Emulator(options: EmulatorOptions = {}): Promise<Auth0Emulator> {
  // It mints tokens for anyone and knows every demo password: never part of a production deployment.
  if (process.env.NODE_ENV === 'production') {
    throw new Error(
      'the Auth0 emulator does not start when NODE_ENV=production; set AUTH0_DOMAIN to a real tenant',
    );
  }
  const now = options.now ?? Date.now;
  const seed: EmulatorSeed = structuredClone(options.seed ?? DEMO_SEED);
  const state = new TenantState(now);
  state.load(seed);
  const logins = new LoginStore(now);
  const actions = new PostLoginActions(now, options.actionTimeoutMs ?? DEFAULT_ACTION_TIMEOUT_MS);
  const seedActions = (): ActionsDeployment => ({ actions: seed.actions ?? [], triggers: seed.triggers });
  actions.deploy(seedActions());
  const keys = await createTenantKeys();
  const journal = new RequestJournal();
  const faults = new FaultInjector();
  let limit = initialRateLimit(options);
  let bucket = new TokenBucket(limit, now);
  // The context needs the bound port, so the server reads it through this holder.
  const holder: { ctx?: EmulatorContext } = {};

  const server = new EmulatorServer({
    ctx: () => {
      if (!holder.ctx) throw new Error('emulator not started');
      return holder.ctx;
    },
    journal,
    faults,
    bucket: () => bucket,
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.server.listen(options.port ?? 0, host, () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.server.address() as AddressInfo;
  const origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const issuer = `${origin}/`;
  const managementAudience = `${origin}/api/v2/`;

  const minter = new EmulatorTokenMinter({
    keys,
    issuer,
    origin,
    managementAudience,
    now,
    spaClientId: DEMO.spaClientId,
    adminClientId: DEMO.adminClientId,
    lookupEmail: (sub) => {
      const user = state.user(sub);
      if (user)
        return {
          email: user.profile.email as string,
          email_verified: user.profile.email_verified as boolean,
        };
      for (const primary of state.primaries()) {
        const linked = primary.identities.find((i) => `${i.provider}|${String(i.user_id)}` === sub);
        if (linked?.profileData) {
          return {
            email: linked.profileData.email as string,
            email_verified: linked.profileData.email_verified as boolean,
          };
        }
      }
      return undefined;
    },
  });
  const searchIndex = new SearchIndex();
  const exportJobs = new ExportJobs(options.exportJobPolls ?? 2);
  holder.ctx = {
    state,
    searchIndex,
    logins,
    keys,
    minter,
    origin,
    issuer,
    managementAudience,
    tokenLifetimeSeconds: options.tokenLifetimeSeconds ?? 86400,
    now,
    actions,
    exportJobs,
  };

  const full = { idpTokens: true };
  const tenant: TenantControl = {
    reset: () => {
      state.load(structuredClone(seed));
      logins.clear();
      actions.clear();
      actions.deploy(seedActions());
      journal.clear();
      faults.clear();
      searchIndex.catchUp();
      exportJobs.clear();
      bucket = new TokenBucket(limit, now);
    },
    addUser: (user: SeedUser) => state.addUser(structuredClone(user)),
    addClient: (client: SeedClient) => state.addClient(structuredClone(client)),
    addClientGrant: (grant: SeedClientGrant) => state.addClientGrant(structuredClone(grant)),
    getUser: (userId: string): WireUser | undefined => {
      const user = state.user(userId);
      return user ? toWireUser(user, full) : undefined;
    },
    listUsers: () => state.primaries().map((u) => toWireUser(u, full)),
    hideFromSearch: (userIds: string[]) => state.hide(userIds),
    lagSearch: () => searchIndex.lag(state.primaries()),
    catchUpSearch: () => searchIndex.catchUp(),
    connectionId: (connection: string) => state.connectionId(connection),
    addRole: (role: SeedRole) => state.addRole(structuredClone(role)),
    addOrganization: (organization: SeedOrganization) => state.addOrganization(structuredClone(organization)),
    userRoleIds: (userId: string) => state.rolesOfUser(userId).map((r) => r.id),
    userMemberships: (userId: string) =>
      state.organizationsOfUser(userId).map((o) => ({
        organizationId: o.id,
        roleIds: state.memberRoles(o.id, userId).map((r) => r.id),
      })),
  };

  return {
    origin,
    issuer,
    managementAudience,
    journal,
    faults,
    tokens: minter,
    tenant,
    deployActions: (deployment) => actions.deploy(structuredClone(deployment)),
    actionLogs: () => actions.log.entries(),
    setRateLimit: (next) => {
      limit = next || DEFAULT_RATE_LIMIT;
      bucket = new TokenBucket(limit, now);
    },
    close: () => server.close(),
  };
}
