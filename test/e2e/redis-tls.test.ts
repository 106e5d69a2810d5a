// The service on a Redis that speaks only TLS, as an ACL user limited to the commands
// docs/replicas.md lists (read from that page), and its refusal of plain redis:// to a host that is
// not loopback (DESIGN §5, §10; issue 27).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { startAuth0Emulator, type Auth0Emulator } from '../../src/auth0-emulator/index.js';
import { adminLink } from '../support/account-mutations.js';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';
import { postGraphQL } from '../support/graphql-client.js';
import { startTlsRedis, type TlsRedis } from '../support/redis-tls.js';
import { newWebhookSecret, startTestReceiver, type TestReceiver } from '../support/webhook-receiver.js';

const PREFIX = 'tls-test:';
const USER = 'query U($id: ID!) { user(id: $id) { id identities { id } } }';
const QUERY = 'query Typename { __typename }';
const persisted = {
  persistedQuery: { version: 1, sha256Hash: createHash('sha256').update(QUERY).digest('hex') },
};

/** The `+command` rules of the ACL SETUSER line in docs/replicas.md. */
function documentedCommands(): string[] {
  const page = readFileSync(new URL('../../docs/replicas.md', import.meta.url), 'utf8');
  const line = page.split('\n').find((l) => l.startsWith('ACL SETUSER '));
  if (!line) throw new Error('docs/replicas.md lists no ACL SETUSER line');
  return line
    .split(' ')
    .filter((rule) => rule.startsWith('+'))
    .map((rule) => rule.slice(1));
}

const primary = 'auth0|tlsprimary0000000000';
const secondary = (n: number) => `auth0|tlssecondary${String(n).padStart(6, '0')}`;

describe('Redis over TLS with an ACL user limited to the documented commands', () => {
  let redis: TlsRedis;
  let emulator: Auth0Emulator;
  let receiver: TestReceiver;
  let gateways: GatewayProcess[] = [];
  let inspector: Redis;

  beforeAll(async () => {
    const password = 'tls-user-password-0123456789';
    [redis, emulator] = await Promise.all([
      startTlsRedis({
        aclUser: { name: 'gateway', password, commands: documentedCommands(), keyPrefix: PREFIX },
      }),
      startAuth0Emulator({ port: 0 }),
    ]);
    const secret = newWebhookSecret();
    receiver = await startTestReceiver(secret);
    emulator.tenant.addUser({ user_id: primary, email: 'tls@example.com', email_verified: true });
    for (let n = 0; n < 3; n++) {
      emulator.tenant.addUser({ user_id: secondary(n), email: 'tls@example.com', email_verified: true });
    }
    const common = {
      REDIS_KEY_PREFIX: PREFIX,
      // The test's own CA: the gateway verifies the server's certificate against it.
      NODE_EXTRA_CA_CERTS: redis.caFile,
      ADMIN_LINK_POLICY: 'trust',
      ADMIN_CALLER_RATE_LIMIT: '1000/60',
      WEBHOOK_URL: receiver.url,
      WEBHOOK_SECRET: secret,
    };
    gateways = await Promise.all([
      // Credentials apart from the URL, and in it.
      startGatewayProcess(emulator.origin, {
        ...common,
        REDIS_URL: redis.address,
        REDIS_USERNAME: 'gateway',
        REDIS_PASSWORD: password,
      }),
      startGatewayProcess(emulator.origin, { ...common, REDIS_URL: redis.url }),
    ]);
    inspector = new Redis({ host: redis.host, port: redis.port, ...redis.admin, lazyConnect: true });
    await inspector.connect();
  }, 30_000);
  afterAll(async () => {
    inspector?.disconnect();
    await Promise.all(gateways.map((g) => g.stop()));
    await receiver?.stop();
    await emulator?.close();
    await redis?.stop();
  });

  it('links, shares the token, the read cache and its invalidation, persisted queries and events through it', async () => {
    const [a, b] = gateways;
    for (const g of gateways) expect((await g.readyz()).body.checks.redis).toBe(true);
    const token = await emulator.tokens.adminToken({ scope: 'update:users read:users' });
    const read = async (g: GatewayProcess) => {
      const result = await postGraphQL<{ user: { identities: { id: string }[] } | null }>(
        g.url,
        { query: USER, variables: { id: primary } },
        { token },
      );
      expect(result.body.errors).toBeUndefined();
      return result.body.data?.user?.identities.map((i) => i.id) ?? [];
    };
    expect(await read(b)).toEqual([primary]);
    expect((await adminLink(a.url, token, primary, secondary(0))).ok).toBe(true);
    // B's cached copy was dropped by A's invalidation (pub/sub through the ACL user).
    expect(await read(b)).toEqual([primary, secondary(0)]);
    expect((await adminLink(b.url, token, primary, secondary(1))).ok).toBe(true);
    expect(await read(a)).toEqual([primary, secondary(0), secondary(1)]);
    expect(emulator.journal.count('token')).toBe(1);

    // A query registered on A is served by B from its hash alone.
    const registered = await postGraphQL(a.url, { query: QUERY, extensions: persisted });
    expect(registered.body.errors).toBeUndefined();
    const byHash = await postGraphQL<{ __typename: string }>(b.url, { extensions: persisted });
    expect(byHash.body.data?.__typename).toBe('Query');

    await receiver.waitForEvents(2, 10_000);
    expect(new Set(receiver.events.map((e) => e.webhookId)).size).toBe(2);

    // Everything lives under the user's prefix, and the user was never refused a command.
    const keys = await inspector.keys('*');
    expect(keys.filter((k) => k.includes(':caller:'))).toHaveLength(1);
    expect(keys.filter((k) => !k.startsWith(PREFIX))).toEqual([]);
    for (const g of gateways) expect(g.output()).not.toMatch(/NOPERM|NOAUTH|WRONGPASS|ERR /);
  });

  it.each([
    [{ REDIS_URL: 'redis://10.1.2.3:6379' }, 'REDIS_URL'],
    [{ REDIS_CLUSTER_NODES: 'redis://10.1.2.3:6379,redis://10.1.2.4:6379' }, 'REDIS_CLUSTER_NODES'],
    [{ REDIS_SENTINELS: '10.1.2.3:26379', REDIS_SENTINEL_MASTER: 'gw' }, 'REDIS_SENTINELS'],
  ])('refuses plain redis:// to a host that is not loopback (%j), naming %s', async (env, variable) => {
    const refused = startGatewayProcess(emulator.origin, {
      ...env,
      REDIS_USERNAME: 'gateway',
      REDIS_PASSWORD: 'hunter2-secret',
    });
    const error = await refused.then(
      () => new Error('the gateway started'),
      (e: unknown) => e as Error,
    );
    expect(error.message).toContain(`${variable}: plain redis:// is allowed only for loopback hosts`);
    expect(error.message).not.toContain('hunter2');
  });
});
