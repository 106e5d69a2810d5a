// Link and unlink events as signed webhooks (DESIGN §12): a real gateway, emulator, Redis and a
// receiver on loopback running the example receiver's code.
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { DEMO } from '../../src/auth0-emulator/index.js';
import { loadConfig } from '../../src/config.js';
import { MAX_CONCURRENT_ATTEMPTS } from '../../src/events/delivery-scheduler.js';
import { fieldsOf, webhookKeys } from '../../src/events/redis-keys.js';
import { LinkAccountsDocument, UnlinkAccountDocument } from '../generated/graphql.js';
import { waitFor } from '../support/gateway-process.js';
import { execute } from '../support/graphql-client.js';
import { loopbackOnlyEnv } from '../support/network-guard.js';
import { demoTokens, startHarness, type Harness } from '../support/harness.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import {
  metricsOf,
  newWebhookSecret,
  sampleOf,
  startTestReceiver,
  type TestReceiver,
} from '../support/webhook-receiver.js';

const { alice, aliceGoogle, aliceGithub } = DEMO.users;
const CLI = resolve('dist/src/events/webhooks-cli.js');
const run = promisify(execFile);

// Users of this suite whose metadata values must never reach a body or a log line.
const MERGE_PRIMARY = 'auth0|6650a1b2c3d4e5f6000000e1';
const MERGE_SECONDARY = 'github|770001';
const METADATA_VALUES = ['meta-value-primary-1f3a', 'meta-value-secondary-9c2d', 'meta-value-app-77b0'];

describe('webhooks with Redis (gateway + emulator + redis-server + receiver over HTTP)', () => {
  const secret = newWebhookSecret();
  const prefix = `webhooks-test-${process.pid}:`;
  let redis: RedisServer;
  let receiver: TestReceiver;
  let h: Harness;
  let tokens: Awaited<ReturnType<typeof demoTokens>>;
  let client: Redis;
  const env = () => ({
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: prefix,
    WEBHOOK_URL: receiver.url,
    WEBHOOK_SECRET: secret,
    WEBHOOK_RETRY_DELAYS: '50ms,50ms',
  });
  // Everything delivered and every log line of the suite, for the last test's secrets check.
  const allBodies: string[] = [];
  const allTokens: string[] = [];

  beforeAll(async () => {
    redis = await startRedisServer();
    receiver = await startTestReceiver(secret);
    h = await startHarness({ env: env() });
    client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    client.on('error', () => undefined);
  });
  afterAll(async () => {
    client?.disconnect();
    await h?.close();
    await receiver?.stop();
    await redis?.stop();
  });
  beforeEach(async () => {
    h.emulator.tenant.reset();
    h.emulator.faults.clear();
    h.emulator.tenant.addUser({
      user_id: MERGE_PRIMARY,
      email: 'merge@example.com',
      email_verified: true,
      user_metadata: { color: METADATA_VALUES[0] },
    });
    h.emulator.tenant.addUser({
      user_id: MERGE_SECONDARY,
      email: 'merge@example.com',
      email_verified: true,
      user_metadata: { nickname: METADATA_VALUES[1] },
      app_metadata: { tier: METADATA_VALUES[2] },
    });
    tokens = await demoTokens(h.emulator);
    allTokens.push(...Object.values(tokens));
  });
  afterEach(() => {
    allBodies.push(...receiver.requests.map((r) => r.body));
    receiver.clear();
  });

  const adminLink = (primaryId: string, secondaryId: string, mergeMetadata = false) => {
    const bar = secondaryId.indexOf('|');
    return execute(
      h.url,
      LinkAccountsDocument,
      {
        primaryId,
        input: { admin: { provider: secondaryId.slice(0, bar), userId: secondaryId, mergeMetadata } },
      },
      { token: tokens.admin },
    );
  };
  const unlink = (token: string, primaryId: string, secondaryId: string) => {
    const bar = secondaryId.indexOf('|');
    return execute(
      h.url,
      UnlinkAccountDocument,
      { primaryId, provider: secondaryId.slice(0, bar), userId: secondaryId.slice(bar + 1) },
      { token },
    );
  };
  const keys = () =>
    webhookKeys(
      loadConfig({
        AUTH0_DOMAIN: h.emulator.origin,
        AUTH0_CLIENT_ID: DEMO.serviceClientId,
        AUTH0_CLIENT_SECRET: DEMO.serviceClientSecret,
        ...env(),
      }),
    );
  const metric = async (name: string) => sampleOf(await metricsOf(h.gateway.origin), name);
  /** Parsed log lines written since line `from`. */
  const logsSince = (from: number) =>
    h.logLines.slice(from).map((line) => JSON.parse(line) as Record<string, unknown>);
  /** Waits until `count` events verified and the outbox holds nothing more to deliver. */
  const settled = async (count: number) => {
    await receiver.waitForEvents(count);
    await waitFor(
      async () => sampleOf(await metricsOf(h.gateway.origin), 'webhook_events_pending') === 0,
      10_000,
      'outbox empty',
    );
  };
  const cli = (...args: string[]) => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
    return run(process.execPath, [CLI, ...args], {
      cwd: mkdtempSync(join(tmpdir(), 'webhooks-cli-')),
      env: loopbackOnlyEnv({
        PATH: process.env.PATH ?? '',
        AUTH0_DOMAIN: h.emulator.origin,
        AUTH0_CLIENT_ID: DEMO.serviceClientId,
        AUTH0_CLIENT_SECRET: DEMO.serviceClientSecret,
        ...env(),
      }),
    }).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
    );
  };

  it('has the event in the Redis outbox when the mutation answers', async () => {
    // The receiver hangs, so the entry stays in the stream until the test lets it go.
    receiver.hold();
    const result = await adminLink(alice, aliceGithub);
    const entries = await client.xrange(keys().outbox, '-', '+');
    receiver.release();
    expect(result.body.errors).toBeUndefined();

    expect(entries.map(([, flat]) => JSON.parse(fieldsOf(flat).body) as unknown)).toEqual([
      expect.objectContaining({
        type: 'account.linked',
        data: expect.objectContaining({ primaryId: alice, formerUserId: aliceGithub }),
      }),
    ]);
    await settled(1);
    expect(receiver.events.map((e) => e.webhookId)).toEqual([fieldsOf(entries[0][1]).webhookId]);
  });

  it('delivers one verified account.linked event for an admin link', async () => {
    const result = await adminLink(alice, aliceGithub);
    expect(result.body.errors).toBeUndefined();

    await settled(1);
    expect(receiver.requests).toHaveLength(1);
    const [{ event, webhookId }] = receiver.events;
    expect(webhookId).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(event).toEqual({
      type: 'account.linked',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      data: {
        primaryId: alice,
        provider: 'github',
        userId: '4031337',
        formerUserId: aliceGithub,
        mode: 'admin',
        callerSub: expect.stringMatching(/@clients$/),
        mergedMetadata: null,
        // The link's id is its event's webhook-id (DESIGN §12, §15).
        linkId: webhookId,
        reconciled: false,
      },
    });
  });

  it('delivers a jwt link with the caller and the merged key names, never their values', async () => {
    const result = await execute(
      h.url,
      LinkAccountsDocument,
      {
        primaryId: MERGE_PRIMARY,
        input: {
          jwt: {
            linkWith: await h.emulator.tokens.idToken({ sub: MERGE_SECONDARY }),
            mergeMetadata: true,
          },
        },
      },
      { token: await h.emulator.tokens.userAccessToken({ sub: MERGE_PRIMARY }) },
    );
    expect(result.body.errors).toBeUndefined();

    await settled(1);
    expect(receiver.events).toHaveLength(1);
    expect(receiver.events[0].event.data).toEqual({
      primaryId: MERGE_PRIMARY,
      provider: 'github',
      userId: '770001',
      formerUserId: MERGE_SECONDARY,
      mode: 'jwt',
      callerSub: MERGE_PRIMARY,
      mergedMetadata: { userMetadataKeys: ['nickname'], appMetadataKeys: [] },
      linkId: receiver.events[0].webhookId,
      reconciled: false,
    });
  });

  it('delivers one account.unlinked event with the user id of the detached identity', async () => {
    await adminLink(alice, aliceGithub);
    await settled(1);
    receiver.clear();

    const result = await unlink(tokens.alice, alice, aliceGithub);
    expect(result.body.errors).toBeUndefined();

    await settled(1);
    expect(receiver.requests).toHaveLength(1);
    expect(receiver.events[0].event).toMatchObject({
      type: 'account.unlinked',
      data: {
        primaryId: alice,
        provider: 'github',
        userId: '4031337',
        detachedUserId: aliceGithub,
        mode: 'jwt',
        callerSub: alice,
        reconciled: false,
      },
    });
  });

  it('retries a receiver that answers 503 twice: the third attempt, same webhook-id, nothing after its 2xx', async () => {
    receiver.failNext(503, 503);
    await adminLink(alice, aliceGithub);

    await settled(1);
    expect(receiver.requests.map((r) => r.status)).toEqual([503, 503, 204]);
    expect(new Set(receiver.requests.map((r) => r.webhookId)).size).toBe(1);
    expect(receiver.events).toHaveLength(1);
  });

  it('sends nothing for a link Auth0 refuses', async () => {
    h.emulator.faults.add({ route: 'link', status: 403 });
    const refused = await adminLink(alice, aliceGithub);
    expect(refused.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');

    // Events of one primary arrive in order: the first one to arrive is the later, applied link's.
    const applied = await adminLink(alice, aliceGoogle);
    expect(applied.body.errors).toBeUndefined();
    await settled(1);
    expect(receiver.requests).toHaveLength(1);
    expect(receiver.events[0].event.data).toMatchObject({ formerUserId: aliceGoogle });
  });

  // Needs the read-back of an ambiguous link answer (DESIGN §8), which turns this 503 into success.
  it('sends one event with reconciled: true for a link Auth0 applied and then answered 503', async () => {
    h.emulator.faults.add({ route: 'link', applyFirst: true, status: 503 });
    const result = await adminLink(alice, aliceGithub);
    expect(result.body.errors).toBeUndefined();

    await settled(1);
    expect(receiver.events).toHaveLength(1);
    expect(receiver.events[0].event.data).toMatchObject({ formerUserId: aliceGithub, reconciled: true });
  });

  it('delivers three operations on one primary in order, the first retried before the others go', async () => {
    receiver.failNext(503);
    expect((await adminLink(alice, aliceGithub)).body.errors).toBeUndefined();
    expect((await adminLink(alice, aliceGoogle)).body.errors).toBeUndefined();
    expect((await unlink(tokens.admin, alice, aliceGithub)).body.errors).toBeUndefined();

    await settled(3);
    expect(
      receiver.events.map(({ event }) => [event.type, event.data.formerUserId ?? event.data.detachedUserId]),
    ).toEqual([
      ['account.linked', aliceGithub],
      ['account.linked', aliceGoogle],
      ['account.unlinked', aliceGithub],
    ]);
    expect(receiver.requests.map((r) => r.status)).toEqual([503, 204, 204, 204]);
  });

  it('dead-letters after the schedule: counted in /metrics, listed by the command, delivered by replay', async () => {
    receiver.failNext(503, 503, 503);
    await adminLink(alice, aliceGithub);
    await waitFor(
      async () => sampleOf(await metricsOf(h.gateway.origin), 'webhook_events_dead') === 1,
      10_000,
      'one dead letter',
    );
    const metrics = await metricsOf(h.gateway.origin);
    expect(sampleOf(metrics, 'webhook_failed_attempts_total')).toBeGreaterThanOrEqual(3);
    expect(receiver.requests.map((r) => r.status)).toEqual([503, 503, 503]);
    const webhookId = receiver.requests[0].webhookId;
    // Logged at error level with its webhook-id, never its body.
    const deadLines = logsSince(0).filter((line) => line.webhookId === webhookId && line.level === 50);
    expect(deadLines).toEqual([
      expect.objectContaining({ type: 'account.linked', attempts: 3, lastError: 'HTTP 503' }),
    ]);
    expect(JSON.stringify(deadLines)).not.toContain(aliceGithub);

    const listed = await cli('dead');
    expect(listed.code).toBe(0);
    expect(
      listed.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as unknown),
    ).toEqual([
      {
        webhookId,
        type: 'account.linked',
        primaryId: alice,
        attempts: 3,
        lastError: 'HTTP 503',
        deadAt: expect.any(String),
      },
    ]);

    const replayed = await cli('replay', webhookId);
    expect(replayed.code).toBe(0);
    expect(JSON.parse(replayed.stdout)).toEqual({ webhookId, delivered: true, status: 204 });
    expect(receiver.events).toHaveLength(1);
    expect(receiver.events[0]).toMatchObject({ webhookId, event: { data: { formerUserId: aliceGithub } } });

    expect((await cli('dead')).stdout).toBe('');
    expect((await cli('replay', webhookId)).code).toBe(1);
    await waitFor(
      async () => sampleOf(await metricsOf(h.gateway.origin), 'webhook_events_dead') === 0,
      10_000,
      'no dead letter',
    );
  });

  it('spools events Redis did not take and writes them to the stream in order once it answers, before later events', async () => {
    const failedBefore = await metric('webhook_failed_attempts_total');
    await redis.stop();
    await receiver.stop();
    const from = h.logLines.length;
    expect((await adminLink(alice, aliceGithub)).body.errors).toBeUndefined();
    expect((await adminLink(alice, aliceGoogle)).body.errors).toBeUndefined();
    const spooled = logsSince(from).filter((line) => String(line.msg).includes('spooled in this process'));
    expect(spooled.map((line) => [line.level, line.webhookId])).toEqual([
      [40, expect.stringMatching(/^msg_/)],
      [40, expect.stringMatching(/^msg_/)],
    ]);
    expect(await metric('webhook_events_pending')).toBe(2);

    await redis.start();
    await receiver.start();
    // The server came back empty: the outbox takes the lease again and recreates its group.
    await waitFor(
      async () => (await client.exists(keys().lease)) === 1,
      10_000,
      'delivery lease taken again',
    );
    expect((await unlink(tokens.admin, alice, aliceGithub)).body.errors).toBeUndefined();

    await settled(3);
    expect(
      receiver.events.map(({ event, webhookId }) => [
        webhookId,
        event.type,
        event.data.formerUserId ?? event.data.detachedUserId,
      ]),
    ).toEqual([
      [spooled[0].webhookId, 'account.linked', aliceGithub],
      [spooled[1].webhookId, 'account.linked', aliceGoogle],
      [expect.stringMatching(/^msg_/), 'account.unlinked', aliceGithub],
    ]);
    // Nothing was attempted from memory while Redis was away, and nothing dead-lettered.
    expect(await metric('webhook_failed_attempts_total')).toBe(failedBefore);
    expect(await metric('webhook_events_dead')).toBe(0);
  });

  it(`keeps at most ${MAX_CONCURRENT_ATTEMPTS} attempts in flight while the receiver hangs, with events pending meanwhile`, async () => {
    const count = MAX_CONCURRENT_ATTEMPTS + 8;
    const pairs = Array.from({ length: count }, (_, i) => {
      const suffix = i.toString(16).padStart(2, '0');
      return { primary: `auth0|6650a1b2c3d4e5f6000001${suffix}`, secondary: `github|88${1000 + i}` };
    });
    for (const { primary, secondary } of pairs) {
      h.emulator.tenant.addUser({
        user_id: primary,
        email: `${primary.slice(-2)}@cap.example`,
        email_verified: true,
      });
      h.emulator.tenant.addUser({
        user_id: secondary,
        email: `${primary.slice(-2)}@cap.example`,
        email_verified: true,
      });
    }
    receiver.hold();
    for (let i = 0; i < count; i += 10) {
      const answers = await Promise.all(pairs.slice(i, i + 10).map((p) => adminLink(p.primary, p.secondary)));
      expect(answers.map((answer) => answer.body.errors)).toEqual(answers.map(() => undefined));
    }
    await waitFor(
      async () => (await metric('webhook_events_pending')) === count,
      10_000,
      'every event pending',
    );
    await waitFor(async () => receiver.held === MAX_CONCURRENT_ATTEMPTS, 10_000, 'the cap of attempts held');
    receiver.release();

    await settled(count);
    expect(receiver.mostHeld).toBe(MAX_CONCURRENT_ATTEMPTS);
    expect(new Set(receiver.events.map((e) => e.event.data.primaryId))).toEqual(
      new Set(pairs.map((p) => p.primary)),
    );
  });

  it('puts no token, secret or metadata value in any body or log line', async () => {
    // One more merge in admin mode, so app_metadata was merged too.
    expect((await adminLink(MERGE_PRIMARY, MERGE_SECONDARY, true)).body.errors).toBeUndefined();
    await settled(1);
    expect(receiver.events[0].event.data.mergedMetadata).toEqual({
      userMetadataKeys: ['nickname'],
      appMetadataKeys: ['tier'],
    });
    allBodies.push(...receiver.requests.map((r) => r.body));

    const everything = [...allBodies, ...h.logLines].join('\n');
    expect(allBodies.length).toBeGreaterThan(5);
    for (const value of [...METADATA_VALUES, ...allTokens, secret, secret.slice('whsec_'.length), 'ya29.']) {
      expect(everything).not.toContain(value);
    }
  });
});

interface OtlpSpan {
  name: string;
  attributes?: { key: string; value: { stringValue?: string; intValue?: string | number } }[];
}

/** An OTLP/HTTP (JSON) collector on 127.0.0.1 that keeps the spans it is sent. */
async function startCollector() {
  const spans: OtlpSpan[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as {
        resourceSpans?: { scopeSpans?: { spans?: OtlpSpan[] }[] }[];
      };
      for (const r of body.resourceSpans ?? [])
        for (const ss of r.scopeSpans ?? []) spans.push(...(ss.spans ?? []));
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

describe('webhooks without Redis (in-process outbox), traced', () => {
  const secret = newWebhookSecret();
  let receiver: TestReceiver;
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let h: Harness | undefined;

  beforeAll(async () => {
    receiver = await startTestReceiver(secret);
    collector = await startCollector();
    h = await startHarness({
      env: {
        WEBHOOK_URL: receiver.url,
        WEBHOOK_SECRET: secret,
        WEBHOOK_RETRY_DELAYS: '50ms',
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
      },
    });
  });
  afterAll(async () => {
    await h?.close();
    await receiver?.stop();
    await collector?.close();
  });

  it('delivers from the process memory, retrying as scheduled, with a span per attempt', async () => {
    const gateway = h!;
    receiver.failNext(503);
    const tokens = await demoTokens(gateway.emulator);
    const result = await execute(
      gateway.url,
      LinkAccountsDocument,
      { primaryId: alice, input: { jwt: { linkWith: tokens.aliceGoogleIdToken } } },
      { token: tokens.alice },
    );
    expect(result.body.errors).toBeUndefined();

    await receiver.waitForEvents(1);
    expect(receiver.requests.map((r) => r.status)).toEqual([503, 204]);
    expect(receiver.events[0].event).toMatchObject({
      type: 'account.linked',
      data: { primaryId: alice, formerUserId: aliceGoogle, mode: 'jwt', callerSub: alice },
    });
    await waitFor(
      async () => sampleOf(await metricsOf(gateway.gateway.origin), 'webhook_deliveries_total') === 1,
      10_000,
      'delivery counted',
    );
    const metrics = await metricsOf(gateway.gateway.origin);
    expect(sampleOf(metrics, 'webhook_failed_attempts_total')).toBe(1);
    expect(sampleOf(metrics, 'webhook_events_pending')).toBe(0);

    // Closing flushes the spans still batched.
    await gateway.close();
    h = undefined;
    const attempts = collector.spans.filter((span) => span.name === 'webhook deliver');
    const attr = (span: OtlpSpan, key: string) => {
      const value = span.attributes?.find((a) => a.key === key)?.value;
      return value?.stringValue ?? (value?.intValue === undefined ? undefined : Number(value.intValue));
    };
    expect(
      attempts.map((span) => [attr(span, 'webhook.attempt'), attr(span, 'http.response.status_code')]),
    ).toEqual([
      [1, 503],
      [2, 204],
    ]);
    expect(new Set(attempts.map((span) => attr(span, 'webhook.id')))).toEqual(
      new Set([receiver.events[0].webhookId]),
    );
  });
});
