// The drain (DESIGN §8) on SIGTERM and SIGINT: /readyz 503 at once, requests in flight finish and
// late ones are served (with `Connection: close`) meanwhile, the listener stays open at least
// SHUTDOWN_MIN_DRAIN_MS, then exit 0. At SHUTDOWN_TIMEOUT_MS what is left is cut: the cut
// operations send nothing more to Auth0, their events are kept and their Redis locks are released
// only once they have stopped. The real process, links held at the emulator with latency faults.
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { startAuth0Emulator, DEMO, type Auth0Emulator } from '../../src/auth0-emulator/index.js';
import { loadConfig } from '../../src/config.js';
import { startAccountEvents, newWebhookId } from '../../src/events/account-events.js';
import { toAccountEvent } from '../../src/events/account-event.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { adminLink, identitiesInTenant } from '../support/account-mutations.js';
import { startGatewayProcess, waitFor, type GatewayProcess } from '../support/gateway-process.js';
import { postGraphQL, type GraphQLHttpResult } from '../support/graphql-client.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { newWebhookSecret, startTestReceiver, type TestReceiver } from '../support/webhook-receiver.js';

const EMAIL = 'dora@example.com';
const pairs = Array.from({ length: 10 }, (_, i) => ({
  primary: `auth0|65f00000000000000000dr${String(i).padStart(2, '0')}`,
  secondary: `github|90${String(i).padStart(2, '0')}`,
}));
// A second secondary of the first primary, for the replica that takes it over.
const LATE_SECONDARY = 'github|9099';

const CUT_WARNING = 'SHUTDOWN_TIMEOUT_MS reached: requests still in flight were cut';
const PINO_WARN = 40;

const LINK = `mutation($primaryId: ID!, $input: LinkAccountsInput!) {
  linkAccounts(primaryId: $primaryId, input: $input) { identities { id } }
}`;

/** An admin link with the whole HTTP answer (headers included). */
function linkOverHttp(url: string, token: string, primaryId: string, secondaryId: string) {
  const [provider, userId] = secondaryId.split('|');
  return postGraphQL<{ linkAccounts: { identities: { id: string }[] } }>(
    url,
    { query: LINK, variables: { primaryId, input: { admin: { provider, userId } } } },
    { token },
  );
}

describe('drain (real process)', () => {
  let emulator: Auth0Emulator;
  let redis: RedisServer;
  let admin: string;
  const started: GatewayProcess[] = [];

  const start = async (env: Record<string, string>) => {
    const gateway = await startGatewayProcess(emulator.origin, {
      LOG_LEVEL: 'info',
      CALLER_RATE_LIMIT: '1000000/60',
      REDIS_URL: redis.url,
      ...env,
    });
    started.push(gateway);
    return gateway;
  };

  const writerLocks = async () => {
    const inspector = new Redis(redis.url, { disconnectTimeout: 100 });
    try {
      return await inspector.keys('*writer-lock*');
    } finally {
      await inspector.quit().catch(() => inspector.disconnect());
    }
  };

  beforeAll(async () => {
    emulator = await startAuth0Emulator({ port: 0 });
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await Promise.all(started.map((g) => g.kill('SIGKILL')));
    await redis?.stop();
    await emulator?.close();
  });
  beforeEach(async () => {
    emulator.tenant.reset();
    for (const { primary, secondary } of pairs) {
      emulator.tenant.addUser({ user_id: primary, email: EMAIL, email_verified: true });
      // Metadata a merge would PATCH into the primary.
      emulator.tenant.addUser({
        user_id: secondary,
        email: EMAIL,
        email_verified: true,
        user_metadata: { theme: 'dark' },
      });
    }
    emulator.tenant.addUser({ user_id: LATE_SECONDARY, email: EMAIL, email_verified: true });
    admin = await emulator.tokens.adminToken({ scope: 'update:users read:users' });
  });

  it.each<NodeJS.Signals>(['SIGTERM', 'SIGINT'])(
    'on %s answers /readyz 503 "draining" before any link in flight ends, serves late requests with Connection: close, finishes all 10 links, then exits 0',
    async (signal) => {
      const gateway = await start({ SHUTDOWN_TIMEOUT_MS: '30000', SHUTDOWN_MIN_DRAIN_MS: '0' });
      // Each link is held at Auth0, then succeeds.
      emulator.faults.add({ route: 'link', latencyMs: 2000, times: pairs.length });
      const answers: (GraphQLHttpResult<unknown> | undefined)[] = pairs.map(() => undefined);
      const links = pairs.map(({ primary, secondary }, i) =>
        linkOverHttp(gateway.url, admin, primary, secondary).then((answer) => (answers[i] = answer)),
      );
      await waitFor(async () => emulator.journal.count('link') === pairs.length, 10_000, '10 links at Auth0');

      gateway.signal(signal);
      await waitFor(async () => (await gateway.readyz()).status === 503, 5000, '/readyz 503');
      // "At once": the 503 came while every link was still held at Auth0.
      expect(answers.every((answer) => answer === undefined)).toBe(true);
      const readiness = await gateway.readyz();
      expect(readiness.body).toEqual({ status: 'draining', checks: { draining: true } });
      expect(readiness.headers.get('connection')).toBe('close');
      // Still serving, and asking each client to take its next request elsewhere.
      const late = await postGraphQL(gateway.url, { query: '{ __typename }' });
      expect(late.body).toEqual({ data: { __typename: 'Query' } });
      expect(late.headers.get('connection')).toBe('close');

      await Promise.all(links);
      for (const [i, { primary, secondary }] of pairs.entries()) {
        expect(answers[i]!.body).toEqual({
          data: { linkAccounts: { identities: [{ id: primary }, { id: secondary }] } },
        });
        // Requests that were running when the drain began are answered with it too.
        expect(answers[i]!.headers.get('connection')).toBe('close');
        expect(identitiesInTenant(emulator, primary)).toEqual([primary, secondary]);
      }
      expect(await gateway.exited).toBe(0);
      const lines = gateway.logLines();
      expect(lines).toContainEqual(expect.objectContaining({ msg: 'drained: no request in flight', signal }));
      expect(lines.map((line) => line.msg)).not.toContain(CUT_WARNING);
    },
  );

  it('keeps an idle listener open for SHUTDOWN_MIN_DRAIN_MS, bounded by SHUTDOWN_TIMEOUT_MS, serving /readyz 503 and requests, then exits 0', async () => {
    // Ten minutes of minimum drain would outlast this test by far: SHUTDOWN_TIMEOUT_MS bounds it.
    const gateway = await start({ SHUTDOWN_TIMEOUT_MS: '1500', SHUTDOWN_MIN_DRAIN_MS: '600000' });
    gateway.signal('SIGTERM');
    // Nothing is in flight, yet the listener answers: a load balancer probing now sees the 503
    // rather than a refused connection.
    await waitFor(async () => (await gateway.readyz()).status === 503, 5000, '/readyz 503');
    const late = await postGraphQL(gateway.url, { query: '{ __typename }' });
    expect(late.body).toEqual({ data: { __typename: 'Query' } });
    expect(await gateway.exited).toBe(0);
    expect(gateway.logLines()).toContainEqual(
      expect.objectContaining({ msg: 'drained: no request in flight' }),
    );
  });

  it('at SHUTDOWN_TIMEOUT_MS tells the cut operations to stop: after the read in flight, no PATCH and no link are sent', async () => {
    const gateway = await start({
      SHUTDOWN_TIMEOUT_MS: '1000',
      SHUTDOWN_MIN_DRAIN_MS: '0',
      AUTH0_TIMEOUT_MS: '5000',
    });
    const { primary, secondary } = pairs[0];
    // The policy and merge reads: the first is held at Auth0 past the cut.
    emulator.faults.add({ route: 'get-user', latencyMs: 2500, times: 1 });
    const cut = adminLink(gateway.url, admin, primary, secondary, true).catch((error: unknown) => error);
    await waitFor(async () => emulator.journal.count('get-user') >= 1, 10_000, 'the reads at Auth0');

    gateway.signal('SIGTERM');
    // The client of the cut request sees its connection end, never a made-up answer.
    expect(String(await cut)).toMatch(/^TypeError: fetch failed/);
    expect(await gateway.exited).toBe(0);
    // The held read was answered after the cut; nothing was sent after it.
    expect(emulator.journal.entries({ route: 'get-user' }).map((e) => e.status)).toEqual([200, 200]);
    expect(emulator.journal.count('update-user')).toBe(0);
    expect(emulator.journal.count('link')).toBe(0);
    expect(identitiesInTenant(emulator, primary)).toEqual([primary]);
    expect(emulator.tenant.getUser(primary)!.user_metadata ?? {}).toEqual({});
    expect(gateway.logLines()).toContainEqual(
      expect.objectContaining({ level: PINO_WARN, cut: 1, stillRunning: 0, msg: CUT_WARNING }),
    );
  });

  describe('with events', () => {
    const secret = newWebhookSecret();
    let receiver: TestReceiver;
    beforeAll(async () => {
      receiver = await startTestReceiver(secret);
    });
    afterAll(() => receiver?.stop());

    it('releases the Redis lock of a cut link only once its POST has ended: another replica links the same primary after it, and its event is kept', async () => {
      const events = { WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: secret };
      const [draining, other] = await Promise.all([
        start({
          ...events,
          SHUTDOWN_TIMEOUT_MS: '1000',
          SHUTDOWN_MIN_DRAIN_MS: '0',
          AUTH0_TIMEOUT_MS: '5000',
        }),
        start({ ...events, AUTH0_MAX_WAIT_MS: '8000' }),
      ]);
      const { primary, secondary } = pairs[0];
      // The draining replica's link is held at Auth0 past the cut, then applied and answered 201.
      emulator.faults.add({ route: 'link', latencyMs: 2500, times: 1 });
      const cut = adminLink(draining.url, admin, primary, secondary).catch((error: unknown) => error);
      await waitFor(async () => emulator.journal.count('link') === 1, 10_000, 'the link at Auth0');
      expect(await writerLocks()).toHaveLength(1);

      draining.signal('SIGTERM');
      expect(String(await cut)).toMatch(/^TypeError: fetch failed/);
      // Cut; its link is still held at Auth0. The other replica asks for the same primary now.
      const next = adminLink(other.url, admin, primary, LATE_SECONDARY);
      await waitFor(async () => emulator.journal.count('link') === 2, 15_000, 'the second link at Auth0');
      // By the time the second link reached Auth0, the first had been answered: the lock was
      // still held while the cut link's POST was in flight.
      expect(emulator.journal.entries({ route: 'link' })[0].status).toBe(201);

      expect(await next).toEqual({
        ok: true,
        identities: [primary, secondary, LATE_SECONDARY],
        mergedMetadata: null,
      });
      expect(await draining.exited).toBe(0);
      expect(await writerLocks()).toEqual([]);
      // The cut link, applied after the cut, still has its event: kept in the shared outbox and
      // delivered (by either replica).
      await receiver.waitForEvents(2, 15_000);
      expect(receiver.events.map(({ event }) => event.data.formerUserId).sort()).toEqual(
        [secondary, LATE_SECONDARY].sort(),
      );
      expect(draining.logLines()).toContainEqual(
        expect.objectContaining({ level: PINO_WARN, cut: 1, stillRunning: 0, msg: CUT_WARNING }),
      );
    }, 40_000);
  });
});

describe('account events after close', () => {
  it('logs an event recorded once the outbox has closed at error level, with its webhook-id', async () => {
    const receiver = await startTestReceiver(newWebhookSecret());
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        callback();
      },
    });
    try {
      const config = loadConfig({
        AUTH0_DOMAIN: 'http://127.0.0.1:1',
        AUTH0_CLIENT_ID: DEMO.serviceClientId,
        AUTH0_CLIENT_SECRET: DEMO.serviceClientSecret,
        WEBHOOK_URL: receiver.url,
        WEBHOOK_SECRET: newWebhookSecret(),
      });
      const events = await startAccountEvents(config, {
        logger: createLogger({ level: 'info', destination }),
        metrics: createMetrics(),
      });
      await events.close();
      const webhookId = newWebhookId();
      const event = toAccountEvent('account.linked', {
        primaryId: pairs[0].primary,
        secondary: pairs[0].secondary,
        mode: 'admin',
        callerSubject: null,
        reconciled: false,
      });
      await events.record(event, webhookId);
      expect(lines).toContainEqual(
        expect.objectContaining({ level: 50, webhookId, type: 'account.linked', component: 'webhooks' }),
      );
      expect(receiver.requests).toEqual([]);
    } finally {
      await receiver.stop();
    }
  });
});
