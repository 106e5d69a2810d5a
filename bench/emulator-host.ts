// Child process: the Auth0 emulator on 127.0.0.1, driven by the benchmark over the IPC channel.
// It runs apart from the load generator so that neither steals the other's event loop.
import 'reflect-metadata';
import {
  DEMO_SEED,
  startAuth0Emulator,
  type EmulatorSeed,
  type Journal,
  type JournalEntry,
} from '../src/auth0-emulator/index.js';
import {
  dedupeIds,
  primaryEmail,
  primaryId,
  secondaryId,
  type BenchTenantShape,
  type HostCommand,
  type HostReady,
  type HostReply,
  type HostRequest,
  type DedupeTenantShape,
  type LinkStatuses,
  type RouteCounts,
} from './protocol.js';

function dedupeSeed({ users, groups }: DedupeTenantShape): EmulatorSeed {
  const seed: EmulatorSeed = {
    clients: DEMO_SEED.clients,
    client_grants: DEMO_SEED.client_grants,
    users: [],
  };
  const at = (year: number, n: number) => new Date(Date.UTC(year, 0, 1) + n * 60_000).toISOString();
  // Secondaries first: the emulator finds an identity's owner by scanning users in insertion order.
  for (let g = 0; g < groups; g += 1) {
    const email = dedupeIds.groupEmail(g);
    seed.users.push({
      user_id: dedupeIds.secondary(g),
      email: g % 5 === 0 ? email.toUpperCase() : email,
      email_verified: true,
      created_at: at(2022, g),
      logins_count: 3,
    });
  }
  for (let g = 0; g < groups; g += 1) {
    seed.users.push({
      user_id: dedupeIds.primary(g),
      email: dedupeIds.groupEmail(g),
      email_verified: true,
      created_at: at(2020, g),
      logins_count: 12,
    });
  }
  const unverified = Math.floor(groups / 3);
  for (let i = 0; i < users - 2 * groups; i += 1) {
    seed.users.push({
      user_id: dedupeIds.single(i),
      email: i < unverified ? dedupeIds.groupEmail(i * 3) : dedupeIds.singleEmail(i),
      email_verified: i >= unverified,
      created_at: at(2021, i),
    });
  }
  return seed;
}

function benchSeed(shape: BenchTenantShape): EmulatorSeed {
  if (shape.dedupe) return dedupeSeed(shape.dedupe);
  const seed = structuredClone(DEMO_SEED);
  // Secondaries first: the emulator finds an identity's owner by scanning users in insertion
  // order, and links consume secondaries in index order, so each scan stops near the front.
  for (let i = 0; i < shape.secondaries; i += 1) {
    seed.users.push({
      user_id: secondaryId(i),
      email: primaryEmail(i % shape.primaries),
      email_verified: true,
    });
  }
  for (let k = 0; k < shape.primaries; k += 1) {
    seed.users.push({ user_id: primaryId(k), email: primaryEmail(k), email_verified: true });
  }
  return seed;
}

/**
 * Counts the Management API answers as they complete and empties the journal every second, so
 * nothing is lost to its 10,000-entry bound. Requests still in flight at a sweep (status 0) are
 * kept aside and counted when they complete.
 */
function managementTally(journal: Journal) {
  let statuses: LinkStatuses = { total: 0, byStatus: {} };
  let inFlight: JournalEntry[] = [];
  let timer: NodeJS.Timeout | undefined;
  const sweep = () => {
    const seen = [...inFlight, ...journal.entries()];
    journal.clear();
    inFlight = [];
    for (const entry of seen) {
      if (!entry.path.startsWith('/api/v2/')) continue;
      if (entry.status === 0) {
        inFlight.push(entry);
        continue;
      }
      statuses.total += 1;
      statuses.byStatus[entry.status] = (statuses.byStatus[entry.status] ?? 0) + 1;
    }
  };
  return {
    get statuses() {
      return statuses;
    },
    sweep,
    reset() {
      statuses = { total: 0, byStatus: {} };
      inFlight = [];
      timer ??= setInterval(sweep, 1000).unref();
    },
  };
}

async function main() {
  if (!process.send) throw new Error('emulator-host must be started with an IPC channel (fork)');
  const send = process.send.bind(process);
  const shape: BenchTenantShape = JSON.parse(process.env.BENCH_TENANT ?? '{}') as BenchTenantShape;
  const emulator = await startAuth0Emulator({
    port: 0,
    host: '127.0.0.1',
    seed: benchSeed(shape),
    ...(shape.plan ? { plan: shape.plan } : {}),
  });

  const tally = managementTally(emulator.journal);
  async function run(command: HostCommand): Promise<unknown> {
    switch (command.op) {
      case 'reset':
        emulator.tenant.reset();
        return null;
      case 'set-rate-limit':
        emulator.setRateLimit(command.limit);
        return null;
      case 'clear-journal':
        emulator.journal.clear();
        return null;
      case 'link-statuses': {
        const statuses: LinkStatuses = { total: 0, byStatus: {} };
        for (const entry of emulator.journal.entries({ route: 'link' })) {
          statuses.total += 1;
          statuses.byStatus[entry.status] = (statuses.byStatus[entry.status] ?? 0) + 1;
        }
        return statuses;
      }
      case 'management-tally':
        if (command.reset) {
          emulator.journal.clear();
          tally.reset();
        } else tally.sweep();
        return tally.statuses;
      case 'route-counts': {
        const counts: RouteCounts = {};
        for (const entry of emulator.journal.entries()) counts[entry.route] = (counts[entry.route] ?? 0) + 1;
        return counts;
      }
      case 'mint-user-tokens':
        return Promise.all(command.subs.map((sub) => emulator.tokens.userAccessToken({ sub })));
      case 'mint-id-tokens':
        return Promise.all(command.subs.map((sub) => emulator.tokens.idToken({ sub })));
      case 'mint-admin-token':
        return emulator.tokens.adminToken({ scope: command.scope });
    }
  }

  process.on('message', (message: HostRequest) => {
    run(message).then(
      (value) => send({ id: message.id, ok: true, value } satisfies HostReply),
      (error: unknown) => send({ id: message.id, ok: false, error: String(error) } satisfies HostReply),
    );
  });
  // The parent going away (or closing the channel) ends the emulator too.
  process.on('disconnect', () => {
    void emulator.close().finally(() => process.exit(0));
  });
  send({ ready: true, origin: emulator.origin } satisfies HostReady);
}

main().catch((error: unknown) => {
  console.error('emulator-host:', error);
  process.exit(1);
});
