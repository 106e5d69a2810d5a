// Reconciliation later survives a replica's death (DESIGN §8): the pending check lives in Redis, and
// another replica runs it. Two real processes sharing a real Redis; the first is killed (SIGKILL,
// no drain) right after it answered OUTCOME_UNKNOWN, before its check was due.
import { startAuth0Emulator, type Auth0Emulator } from '../../src/auth0-emulator/index.js';
import { adminLink, identitiesInTenant } from '../support/account-mutations.js';
import { startGatewayProcess, waitFor, type GatewayProcess } from '../support/gateway-process.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import {
  metricsOf,
  newWebhookSecret,
  sampleOf,
  startTestReceiver,
  type TestReceiver,
} from '../support/webhook-receiver.js';

const PRIMARY = 'auth0|65f00000000000000000rc01';
const SECONDARY = 'github|7002002';
const EMAIL = 'rosa@example.com';

describe('reconciliation across replicas (Redis)', () => {
  let emulator: Auth0Emulator;
  let redis: RedisServer;
  let receiver: TestReceiver;
  const replicas: GatewayProcess[] = [];

  beforeAll(async () => {
    redis = await startRedisServer();
    emulator = await startAuth0Emulator({ port: 0 });
    const secret = newWebhookSecret();
    receiver = await startTestReceiver(secret);
    const env = {
      AUTH0_TIMEOUT_MS: '1000',
      CALLER_RATE_LIMIT: '1000000/60',
      REDIS_URL: redis.url,
      WEBHOOK_URL: receiver.url,
      WEBHOOK_SECRET: secret,
      WEBHOOK_RETRY_DELAYS: '100,200,400',
    };
    // The first replica's check is due 2 s after its failure; the second looks every 50 ms.
    const reconciliation = { delaysMs: [2000, 4000], pollMs: 50 };
    replicas.push(await startGatewayProcess(emulator.origin, env, { reconciliation }));
    replicas.push(await startGatewayProcess(emulator.origin, env, { reconciliation }));
  }, 60_000);
  afterAll(async () => {
    await Promise.all(replicas.map((replica) => replica.stop()));
    await emulator?.close();
    await receiver?.stop();
    await redis?.stop();
  });

  it('a check left by a replica that is killed is run by the other: the link found applied gets its one event', async () => {
    const [first, second] = replicas;
    emulator.tenant.addUser({ user_id: PRIMARY, email: EMAIL, email_verified: true });
    emulator.tenant.addUser({ user_id: SECONDARY, email: EMAIL, email_verified: true });
    // Held past AUTH0_TIMEOUT_MS, then applied: after the first replica's read-back.
    emulator.faults.add({ route: 'link', latencyMs: 1500 });
    const admin = await emulator.tokens.adminToken({ scope: 'update:users read:users' });

    const answer = await adminLink(first.url, admin, PRIMARY, SECONDARY);
    expect(answer).toEqual({ ok: false, code: 'UPSTREAM_TIMEOUT', reason: 'OUTCOME_UNKNOWN' });
    await first.kill('SIGKILL');

    await waitFor(
      async () =>
        sampleOf(
          await metricsOf(second.origin),
          'account_reconciliations_total{operation="link",outcome="applied"}',
        ) === 1,
      10_000,
      'the second replica reconciled the link',
    );
    expect(identitiesInTenant(emulator, PRIMARY)).toContain(SECONDARY);
    await receiver.waitForEvents(1);
    expect(receiver.events).toHaveLength(1);
    expect(receiver.events[0].event).toMatchObject({
      type: 'account.linked',
      data: {
        primaryId: PRIMARY,
        formerUserId: SECONDARY,
        reconciled: true,
        linkId: receiver.events[0].webhookId,
      },
    });
  });
});
