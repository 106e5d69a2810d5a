// One writer per primary (DESIGN §8): link, unlink and merge of one primary take turns, in one
// process and across replicas sharing Redis; different primaries never wait; a caller that would
// wait longer than AUTH0_MAX_WAIT_MS gets CONFLICT / PRIMARY_BUSY.
import { Redis } from 'ioredis';
import { startAuth0Emulator, type Auth0Emulator } from '../../src/auth0-emulator/index.js';
import { adminLink, identitiesInTenant, type Answer } from '../support/account-mutations.js';
import { startGatewayProcess, waitFor, type GatewayProcess } from '../support/gateway-process.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';

const PRIMARY = 'auth0|65f00000000000000000ow01';
const OTHER_PRIMARY = 'auth0|65f00000000000000000ow02';
const SECONDARIES = ['github|8001', 'github|8002', 'github|8003'];
const OTHER_SECONDARY = 'github|8004';
const EMAIL = 'omar@example.com';

function seed(emulator: Auth0Emulator) {
  for (const id of [PRIMARY, OTHER_PRIMARY]) {
    emulator.tenant.addUser({
      user_id: id,
      email: EMAIL,
      email_verified: true,
      // `prefs` is one top-level key every merge changes: Auth0's PATCH replaces it whole, so two
      // merges planned from the same read would overwrite each other's part of it.
      user_metadata: { own: 'primary', prefs: { primary: true } },
      app_metadata: { plan: 'pro' },
    });
  }
  for (const id of [...SECONDARIES, OTHER_SECONDARY]) {
    const n = id.split('|')[1];
    emulator.tenant.addUser({
      user_id: id,
      email: EMAIL,
      email_verified: true,
      user_metadata: { prefs: { [`s${n}`]: n }, [`only${n}`]: n, own: `secondary ${n}` },
      app_metadata: { [`app${n}`]: n },
    });
  }
}

/** What the primary's metadata must be after the merges of `applied` secondaries, and only theirs. */
function expectedMetadata(applied: string[]) {
  const user: Record<string, unknown> = { own: 'primary', prefs: { primary: true } };
  const app: Record<string, unknown> = { plan: 'pro' };
  for (const id of applied) {
    const n = id.split('|')[1];
    (user.prefs as Record<string, unknown>)[`s${n}`] = n;
    user[`only${n}`] = n;
    app[`app${n}`] = n;
  }
  return { user, app };
}

describe('one writer per primary', () => {
  let emulator: Auth0Emulator;
  let redis: RedisServer;
  let alone: GatewayProcess;
  let replicas: GatewayProcess[];
  let admin: string;

  beforeAll(async () => {
    emulator = await startAuth0Emulator({ port: 0 });
    redis = await startRedisServer();
    const env = { CALLER_RATE_LIMIT: '1000000/60', AUTH0_MAX_WAIT_MS: '2000' };
    [alone, ...replicas] = await Promise.all([
      startGatewayProcess(emulator.origin, env),
      startGatewayProcess(emulator.origin, { ...env, REDIS_URL: redis.url }),
      startGatewayProcess(emulator.origin, { ...env, REDIS_URL: redis.url }),
    ]);
  }, 30_000);
  afterAll(async () => {
    await Promise.all([alone, ...(replicas ?? [])].map((g) => g?.stop()));
    await redis?.stop();
    await emulator?.close();
  });
  beforeEach(async () => {
    emulator.tenant.reset();
    seed(emulator);
    admin = await emulator.tokens.adminToken({ scope: 'update:users read:users' });
  });

  async function lockKeysInRedis(): Promise<string[]> {
    const client = new Redis(redis.url, { lazyConnect: true });
    await client.connect();
    try {
      return await client.keys('*writer-lock*');
    } finally {
      client.disconnect();
    }
  }

  async function threeMergesAtOnce(urls: string[]) {
    // Slow reads: without the lock all three would plan from the same, unmerged primary.
    emulator.faults.add({ route: 'get-user', latencyMs: 150, times: 6 });
    // The first link to reach Auth0 is refused.
    emulator.faults.add({
      route: 'link',
      status: 403,
      body: { statusCode: 403, error: 'Forbidden', message: 'Refused by a rule' },
    });
    const answers = await Promise.all(
      SECONDARIES.map((id, i) => adminLink(urls[i % urls.length], admin, PRIMARY, id, true)),
    );
    const refused = SECONDARIES.filter((_, i) => !answers[i].ok);
    const applied = SECONDARIES.filter((_, i) => answers[i].ok);
    expect(answers.filter((a) => !a.ok)).toEqual([{ ok: false, code: 'FORBIDDEN' }]);
    expect(refused).toHaveLength(1);

    const primary = emulator.tenant.getUser(PRIMARY)!;
    const expected = expectedMetadata(applied);
    // The union of the two applied merges and the primary's own values; the third's keys absent.
    expect(primary.user_metadata).toEqual(expected.user);
    expect(primary.app_metadata).toEqual(expected.app);
    expect(identitiesInTenant(emulator, PRIMARY)!.sort()).toEqual([PRIMARY, ...applied].sort());
    expect(identitiesInTenant(emulator, refused[0])).toEqual([refused[0]]);
  }

  it('three merges into one primary at once in one process: the applied two both land, the refused one leaves nothing', async () => {
    await threeMergesAtOnce([alone.url]);
  });

  it('the same across two replicas sharing Redis, and no lock is left behind', async () => {
    await threeMergesAtOnce(replicas.map((r) => r.url));
    expect(await lockKeysInRedis()).toEqual([]);
  });

  it('answers PRIMARY_BUSY after AUTH0_MAX_WAIT_MS while another replica holds the primary; other primaries do not wait', async () => {
    // The first link is held at Auth0 beyond AUTH0_MAX_WAIT_MS (2 s), then succeeds.
    emulator.faults.add({ route: 'link', latencyMs: 3000 });
    const held = adminLink(replicas[0].url, admin, PRIMARY, SECONDARIES[0]);
    await waitFor(async () => emulator.journal.count('link') === 1, 5000, 'the first link at Auth0');

    let heldAnswer: Answer | undefined;
    void held.then((answer) => (heldAnswer = answer));
    const [busy, other] = await Promise.all([
      adminLink(replicas[1].url, admin, PRIMARY, SECONDARIES[1]),
      adminLink(replicas[1].url, admin, OTHER_PRIMARY, OTHER_SECONDARY),
    ]);
    expect(busy).toEqual({ ok: false, code: 'CONFLICT', reason: 'PRIMARY_BUSY' });
    expect(other).toMatchObject({ ok: true, identities: [OTHER_PRIMARY, OTHER_SECONDARY] });
    // Both answered while the first link was still in flight.
    expect(heldAnswer).toBeUndefined();
    // The busy caller sent nothing to Auth0 for the primary it could not have.
    expect(emulator.journal.count('link')).toBe(2);

    expect(await held).toMatchObject({ ok: true, identities: [PRIMARY, SECONDARIES[0]] });
    expect(await lockKeysInRedis()).toEqual([]);
  });
});
