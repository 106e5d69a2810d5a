// Gateway processes share Redis (DESIGN §12): an event written by a replica that dies is delivered
// by another; a lease holder that stalls past its lease sends nothing once it runs again, so each
// primary's events arrive in order, none lost; the lease is renewed while its holder lives and
// handed over at once on SIGTERM.
import { Redis } from 'ioredis';
import { DEMO, startAuth0Emulator, type Auth0Emulator } from '../../src/auth0-emulator/index.js';
import { loadConfig } from '../../src/config.js';
import { WEBHOOK_GROUP, fieldsOf, webhookKeys } from '../../src/events/redis-keys.js';
import { LinkAccountsDocument, UnlinkAccountDocument } from '../generated/graphql.js';
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

describe('webhooks across replicas (gateway processes, redis-server, receiver)', () => {
  const secret = newWebhookSecret();
  let redis: RedisServer;
  let client: Redis;
  let emulator: Auth0Emulator;
  let receiver: TestReceiver;
  let admin: string;
  const gateways: GatewayProcess[] = [];
  const env = () => ({
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: 'webhook-replicas-test:',
    WEBHOOK_URL: receiver.url,
    WEBHOOK_SECRET: secret,
    // Long enough for a takeover (a lease of 3 s) to come before the schedule ends.
    WEBHOOK_RETRY_DELAYS: Array(20).fill('500ms').join(','),
  });
  const keys = () =>
    webhookKeys(
      loadConfig({
        AUTH0_DOMAIN: emulator.origin,
        AUTH0_CLIENT_ID: DEMO.serviceClientId,
        AUTH0_CLIENT_SECRET: DEMO.serviceClientSecret,
        ...env(),
      }),
    );
  const start = async () => {
    const gateway = await startGatewayProcess(emulator.origin, env());
    gateways.push(gateway);
    return gateway;
  };
  const link = (via: GatewayProcess, primaryId: string, secondaryId: string) =>
    execute(
      via.url,
      LinkAccountsDocument,
      { primaryId, input: { admin: { provider: secondaryId.split('|')[0], userId: secondaryId } } },
      { token: admin },
    );
  const unlink = (via: GatewayProcess, primaryId: string, secondaryId: string) => {
    const [provider, userId] = secondaryId.split('|');
    return execute(via.url, UnlinkAccountDocument, { primaryId, provider, userId }, { token: admin });
  };
  const consumers = async () =>
    ((await client.xinfo('CONSUMERS', keys().outbox, WEBHOOK_GROUP)) as string[][]).map((flat) =>
      fieldsOf(flat.map(String)),
    );

  beforeAll(async () => {
    redis = await startRedisServer();
    client = new Redis(redis.url);
    emulator = await startAuth0Emulator({ port: 0 });
    receiver = await startTestReceiver(secret, { listening: false });
    admin = await emulator.tokens.adminToken({ scope: 'update:users read:users' });
  });
  afterAll(async () => {
    for (const gateway of gateways) gateway.signal('SIGCONT');
    await Promise.all(gateways.map((g) => g.stop()));
    client?.disconnect();
    await emulator?.close();
    await receiver?.stop();
    await redis?.stop();
  });

  let b: GatewayProcess;
  let c: GatewayProcess;

  it('delivers through replica B the event replica A wrote before it was killed', async () => {
    // A first, alone, so it is the replica that delivers; then B.
    const a = await start();
    await waitFor(
      async () => (await client.exists(keys().lease)) === 1,
      10_000,
      'A holds the delivery lease',
    );
    b = await start();

    const result = await link(a, DEMO.users.alice, DEMO.users.aliceGithub);
    expect(result.body.errors).toBeUndefined();
    await waitFor(
      async () => sampleOf(await metricsOf(a.origin), 'webhook_failed_attempts_total') >= 1,
      10_000,
      'A tried the receiver',
    );
    const killed = (await consumers()).map((consumer) => consumer.name);

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
    expect(await client.xlen(keys().outbox)).toBe(0);
    // The killed replica's consumer holds nothing now; it is forgotten only after 10 minutes idle.
    expect((await consumers()).filter((consumer) => killed.includes(consumer.name))).toEqual([
      expect.objectContaining({ pending: '0' }),
    ]);
  });

  it('keeps each primary in order, none lost, when the lease holder stalls past its lease', async () => {
    // B holds the lease (A is gone); C waits.
    c = await start();
    receiver.clear();
    const pairs = [0, 1, 2].map((i) => ({
      primary: `auth0|6650a1b2c3d4e5f6000002a${i}`,
      first: `github|66${100 + i}`,
      second: `google-oauth2|1090000000000000000${i}`,
    }));
    for (const { primary, first, second } of pairs) {
      for (const user_id of [primary, first, second]) {
        emulator.tenant.addUser({
          user_id,
          email: `stall${primary.slice(-1)}@example.com`,
          email_verified: true,
        });
      }
    }
    receiver.failAll(503);
    for (const { primary, first, second } of pairs) {
      expect((await link(b, primary, first)).body.errors).toBeUndefined();
      expect((await link(b, primary, second)).body.errors).toBeUndefined();
    }
    // B is retrying each primary's first event, the second one queued behind it.
    await waitFor(
      async () => new Set(receiver.requests.map((r) => r.webhookId)).size === pairs.length,
      10_000,
      'B tried each primary’s first event',
    );
    const owner = await client.get(keys().lease);

    b.signal('SIGSTOP');
    try {
      await waitFor(
        async () => ![null, owner].includes(await client.get(keys().lease)),
        10_000,
        'C took the lease while B was stalled',
      );
      receiver.recover();
      await receiver.waitForEvents(2 * pairs.length, 15_000);
    } finally {
      b.signal('SIGCONT');
    }
    // B runs again: it notices the lost lease and sends nothing more. A third event per primary,
    // written through B, comes after anything B could still have sent.
    await waitFor(
      async () => b.logLines().some((line) => String(line.msg).includes('lease lost')),
      10_000,
      'B noticed it lost the lease',
    );
    for (const { primary, first } of pairs)
      expect((await unlink(b, primary, first)).body.errors).toBeUndefined();
    await receiver.waitForEvents(3 * pairs.length, 15_000);
    await waitFor(
      async () => sampleOf(await metricsOf(c.origin), 'webhook_events_pending') === 0,
      10_000,
      'outbox empty',
    );

    for (const { primary, first, second } of pairs) {
      expect(
        receiver.events
          .filter(({ event }) => event.data.primaryId === primary)
          .map(({ event }) => [event.type, event.data.formerUserId ?? event.data.detachedUserId]),
      ).toEqual([
        ['account.linked', first],
        ['account.linked', second],
        ['account.unlinked', first],
      ]);
    }
    expect(receiver.events).toHaveLength(3 * pairs.length);
  });

  it('renews the lease while its holder lives, and SIGTERM hands it over at once', async () => {
    // Keyspace events of the lease key: `set` (taken), `expire` (renewed), `del` (given back),
    // `expired` (left to lapse).
    await client.config('SET', 'notify-keyspace-events', 'Kg$x');
    const subscriber = new Redis(redis.url);
    const seen: string[] = [];
    subscriber.on('message', (_channel: string, event: string) => seen.push(event));
    try {
      await subscriber.subscribe(`__keyspace@0__:${keys().lease}`);
      const owner = await client.get(keys().lease);
      expect(owner).not.toBeNull();
      // Four renewals span more than the lease's 3 s: without them the key would have expired.
      await waitFor(async () => seen.filter((e) => e === 'expire').length >= 4, 10_000, 'four renewals');
      expect(await client.get(keys().lease)).toBe(owner);
      expect(seen).not.toContain('expired');

      seen.length = 0;
      await c.stop();
      await waitFor(async () => seen.includes('set'), 10_000, 'B took the lease');
      const handedOver = seen.filter((e) => e !== 'expire');
      expect(handedOver.slice(0, 2)).toEqual(['del', 'set']);
      expect(seen).not.toContain('expired');
    } finally {
      subscriber.disconnect();
    }
  });
});
