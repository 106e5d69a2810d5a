// Two gateway processes share Redis: an event written by a replica that dies is delivered by the
// other (DESIGN §12). The receiver is down while the first replica holds the event.
import { Redis } from 'ioredis';
import { DEMO, startAuth0Emulator, type Auth0Emulator } from '../../src/auth0-emulator/index.js';
import { loadConfig } from '../../src/config.js';
import { WEBHOOK_GROUP, webhookKeys } from '../../src/events/redis-keys.js';
import { LinkAccountsDocument } from '../generated/graphql.js';
import { startGatewayProcess, waitFor, type GatewayProcess } from '../support/gateway-process.js';
import { execute } from '../support/graphql-client.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import {
  metricsOf,
  newWebhookSecret,
  sampleOf,
  startTestReceiver,
  type TestReceiver,
} from '../support/webhook-receiver.js';

describe('webhooks across replicas (two gateway processes, redis-server, receiver)', () => {
  const secret = newWebhookSecret();
  let redis: RedisServer;
  let client: Redis;
  let emulator: Auth0Emulator;
  let receiver: TestReceiver;
  const gateways: GatewayProcess[] = [];

  beforeAll(async () => {
    redis = await startRedisServer();
    client = new Redis(redis.url);
    emulator = await startAuth0Emulator({ port: 0 });
    receiver = await startTestReceiver(secret, { listening: false });
  });
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.stop()));
    client?.disconnect();
    await emulator?.close();
    await receiver?.stop();
    await redis?.stop();
  });

  it('delivers through replica B the event replica A wrote before it was killed', async () => {
    const env = {
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: 'webhook-replicas-test:',
      WEBHOOK_URL: receiver.url,
      WEBHOOK_SECRET: secret,
      // Long enough for the takeover (a lease of 3 s) to come before the schedule ends.
      WEBHOOK_RETRY_DELAYS: Array(20).fill('500ms').join(','),
    };
    const keys = webhookKeys(
      loadConfig({
        AUTH0_DOMAIN: emulator.origin,
        AUTH0_CLIENT_ID: DEMO.serviceClientId,
        AUTH0_CLIENT_SECRET: DEMO.serviceClientSecret,
        ...env,
      }),
    );
    // A first, alone, so it is the replica that delivers; then B.
    const a = await startGatewayProcess(emulator.origin, env);
    gateways.push(a);
    await waitFor(async () => (await client.exists(keys.lease)) === 1, 10_000, 'A holds the delivery lease');
    const b = await startGatewayProcess(emulator.origin, env);
    gateways.push(b);

    const admin = await emulator.tokens.adminToken({ scope: 'update:users read:users' });
    const result = await execute(
      a.url,
      LinkAccountsDocument,
      {
        primaryId: DEMO.users.alice,
        input: { admin: { provider: 'github', userId: DEMO.users.aliceGithub } },
      },
      { token: admin },
    );
    expect(result.body.errors).toBeUndefined();
    await waitFor(
      async () => sampleOf(await metricsOf(a.origin), 'webhook_failed_attempts_total') >= 1,
      10_000,
      'A tried the receiver',
    );

    await a.kill('SIGKILL');
    await receiver.start();

    await receiver.waitForEvents(1, 15_000);
    expect(receiver.events[0].event).toMatchObject({
      type: 'account.linked',
      data: { primaryId: DEMO.users.alice, formerUserId: DEMO.users.aliceGithub },
    });
    await waitFor(
      async () => sampleOf(await metricsOf(b.origin), 'webhook_deliveries_total') === 1,
      10_000,
      'B counted the delivery',
    );
    expect(receiver.events).toHaveLength(1);
    expect(await client.xlen(keys.outbox)).toBe(0);
    // The killed replica's consumer is gone from the group once its entries were taken over.
    expect(await client.xinfo('CONSUMERS', keys.outbox, WEBHOOK_GROUP)).toHaveLength(1);
  });
});
