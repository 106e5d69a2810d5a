// Child process: the Auth0 emulator on 127.0.0.1, driven by the benchmark over the IPC channel.
// It runs apart from the load generator so that neither steals the other's event loop.
import 'reflect-metadata';
import { DEMO_SEED, startAuth0Emulator, type EmulatorSeed } from '../src/auth0-emulator/index.js';
import {
  primaryEmail,
  primaryId,
  secondaryId,
  type BenchTenantShape,
  type HostCommand,
  type HostReady,
  type HostReply,
  type HostRequest,
  type LinkStatuses,
  type RouteCounts,
} from './protocol.js';

function benchSeed(shape: BenchTenantShape): EmulatorSeed {
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

async function main() {
  if (!process.send) throw new Error('emulator-host must be started with an IPC channel (fork)');
  const send = process.send.bind(process);
  const shape: BenchTenantShape = JSON.parse(process.env.BENCH_TENANT ?? '{}') as BenchTenantShape;
  const emulator = await startAuth0Emulator({ port: 0, host: '127.0.0.1', seed: benchSeed(shape) });

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
