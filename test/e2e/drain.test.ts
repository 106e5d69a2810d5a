// The SIGTERM drain (DESIGN §8): /readyz 503 at once, requests in flight finish, the listener keeps
// serving meanwhile, then exit 0; at SHUTDOWN_TIMEOUT_MS what is left is cut and the process's
// Redis locks are released. The real process, links held at the emulator with latency faults.
import { Redis } from 'ioredis';
import { startAuth0Emulator, type Auth0Emulator } from '../../src/auth0-emulator/index.js';
import { adminLink, identitiesInTenant, type Answer } from '../support/account-mutations.js';
import { startGatewayProcess, waitFor } from '../support/gateway-process.js';
import { postGraphQL } from '../support/graphql-client.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';

const EMAIL = 'dora@example.com';
const pairs = Array.from({ length: 10 }, (_, i) => ({
  primary: `auth0|65f00000000000000000dr${String(i).padStart(2, '0')}`,
  secondary: `github|90${String(i).padStart(2, '0')}`,
}));

describe('drain on SIGTERM (real process)', () => {
  let emulator: Auth0Emulator;
  let redis: RedisServer;
  let admin: string;

  beforeAll(async () => {
    emulator = await startAuth0Emulator({ port: 0 });
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
    await emulator?.close();
  });
  beforeEach(async () => {
    emulator.tenant.reset();
    for (const { primary, secondary } of pairs) {
      for (const user_id of [primary, secondary]) {
        emulator.tenant.addUser({ user_id, email: EMAIL, email_verified: true });
      }
    }
    admin = await emulator.tokens.adminToken({ scope: 'update:users read:users' });
  });

  it('answers /readyz 503 at once, keeps serving, finishes all 10 links in flight, then exits 0', async () => {
    const gateway = await startGatewayProcess(emulator.origin, {
      LOG_LEVEL: 'info',
      SHUTDOWN_TIMEOUT_MS: '30000',
      CALLER_RATE_LIMIT: '1000000/60',
      REDIS_URL: redis.url,
    });
    // Each link is held at Auth0, then succeeds.
    emulator.faults.add({ route: 'link', latencyMs: 4000, times: pairs.length });
    const answers: (Answer | undefined)[] = pairs.map(() => undefined);
    const links = pairs.map(({ primary, secondary }, i) =>
      adminLink(gateway.url, admin, primary, secondary).then((answer) => (answers[i] = answer)),
    );
    await waitFor(async () => emulator.journal.count('link') === pairs.length, 10_000, '10 links at Auth0');

    gateway.signal('SIGTERM');
    await waitFor(async () => (await gateway.readyz()).status === 503, 5000, '/readyz 503');
    expect((await gateway.readyz()).body.checks).toEqual({ draining: true });
    // Still serving while the links are in flight.
    expect(answers.every((answer) => answer === undefined)).toBe(true);
    const late = await postGraphQL(gateway.url, { query: '{ __typename }' });
    expect(late.body).toEqual({ data: { __typename: 'Query' } });

    await Promise.all(links);
    expect(answers.map((answer) => answer?.ok)).toEqual(pairs.map(() => true));
    for (const { primary, secondary } of pairs) {
      expect(identitiesInTenant(emulator, primary)).toEqual([primary, secondary]);
    }
    expect(await gateway.exited).toBe(0);
    const messages = gateway.logLines().map((line) => line.msg);
    expect(messages).toContain('drained: no request in flight');
    expect(messages).not.toContain('SHUTDOWN_TIMEOUT_MS reached: requests still in flight were cut');
  });

  it('at SHUTDOWN_TIMEOUT_MS cuts what is left, releases its Redis locks and exits 0', async () => {
    const gateway = await startGatewayProcess(emulator.origin, {
      LOG_LEVEL: 'info',
      SHUTDOWN_TIMEOUT_MS: '1000',
      REDIS_URL: redis.url,
    });
    emulator.faults.add({ route: 'link', latencyMs: 20_000 });
    const { primary, secondary } = pairs[0];
    const cut = adminLink(gateway.url, admin, primary, secondary).catch((error: unknown) => error);
    await waitFor(async () => emulator.journal.count('link') === 1, 10_000, 'the link at Auth0');
    const inspector = new Redis(redis.url, { disconnectTimeout: 100 });
    try {
      expect(await inspector.keys('*writer-lock*')).toHaveLength(1);
      gateway.signal('SIGTERM');
      expect(await gateway.exited).toBe(0);
      expect(await inspector.keys('*writer-lock*')).toEqual([]);
    } finally {
      await inspector.quit().catch(() => inspector.disconnect());
    }
    // The client of the cut request sees its connection end, never a made-up answer.
    expect(String(await cut)).toMatch(/^TypeError: fetch failed/);
    expect(gateway.logLines()).toContainEqual(
      expect.objectContaining({
        cut: 1,
        msg: 'SHUTDOWN_TIMEOUT_MS reached: requests still in flight were cut',
      }),
    );
  });
});
