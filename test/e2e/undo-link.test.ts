import { Redis } from 'ioredis';
import {
  DEMO,
  startAuth0Emulator,
  type Auth0Emulator,
  type SeedUser,
} from '../../src/auth0-emulator/index.js';
import { deriveTokenKeys, openValue } from '../../src/shared-state/token-crypto.js';
import { LinkAccountsForUndoDocument, UndoLinkDocument } from '../generated/graphql.js';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';
import { execute } from '../support/graphql-client.js';
import { startHarness, type Harness } from '../support/harness.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { newWebhookSecret, startTestReceiver, type TestReceiver } from '../support/webhook-receiver.js';

// Users, roles and organizations of their own, so the demo tenant can change without touching these.
const PRIMARY = 'auth0|65f0000000000000000000d1';
const SECONDARY = 'github|7700101';
const OTHER = 'auth0|65f0000000000000000000d2';
const EDITOR = 'rol_undoEditor000001';
const VIEWER = 'rol_undoViewer000001';
const BILLING = 'rol_undoBilling00001';
const ACME = 'org_undoAcme00000001';
const GLOBEX = 'org_undoGlobex000001';

const USERS: SeedUser[] = [
  {
    user_id: PRIMARY,
    email: 'uma@example.com',
    email_verified: true,
    user_metadata: { theme: 'dark' },
    app_metadata: { plan: 'pro' },
  },
  {
    user_id: SECONDARY,
    email: 'uma@example.com',
    email_verified: true,
    user_metadata: { theme: 'light', locale: 'de' },
    app_metadata: { crm: 'c-42' },
    identities: [{ provider: 'github', user_id: 7700101, connection: 'github' }],
  },
  { user_id: OTHER, email: 'olga@example.com', email_verified: true },
];

function seed(h: { emulator: Auth0Emulator }): void {
  const tenant = h.emulator.tenant;
  tenant.reset();
  for (const user of USERS) tenant.addUser(user);
  tenant.addRole({ id: EDITOR, name: 'editor', users: [SECONDARY] });
  tenant.addRole({ id: VIEWER, name: 'viewer', users: [SECONDARY, PRIMARY] });
  tenant.addRole({ id: BILLING, name: 'billing-admin' });
  tenant.addOrganization({
    id: ACME,
    name: 'acme',
    members: [{ user_id: SECONDARY, roles: [{ id: BILLING }] }],
  });
  tenant.addOrganization({ id: GLOBEX, name: 'globex', members: [{ user_id: SECONDARY }] });
}

/** What the undo must give back: identities, metadata, roles and memberships of one user. */
function stateOf(h: { emulator: Auth0Emulator }, userId: string) {
  const user = h.emulator.tenant.getUser(userId);
  return {
    identities: (user?.identities ?? []).map((i) => `${i.provider}|${String(i.user_id)}`),
    user_metadata: user?.user_metadata ?? {},
    app_metadata: user?.app_metadata ?? {},
    roles: h.emulator.tenant.userRoleIds(userId).sort(),
    memberships: h.emulator.tenant
      .userMemberships(userId)
      .map((m) => ({ ...m, roleIds: [...m.roleIds].sort() }))
      .sort((a, b) => a.organizationId.localeCompare(b.organizationId)),
  };
}

const FULL_LINK = {
  primaryId: PRIMARY,
  input: {
    admin: {
      provider: 'github',
      userId: SECONDARY,
      mergeMetadata: true,
      carryRoles: true,
      carryOrganizations: true,
    },
  },
};

describe('undoLink takes a link back (DESIGN §15)', () => {
  let h: Harness;
  let receiver: TestReceiver;
  let adminToken: string;

  beforeAll(async () => {
    const secret = newWebhookSecret();
    receiver = await startTestReceiver(secret);
    h = await startHarness({ env: { WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: secret } });
  });
  afterAll(async () => {
    await h.close();
    await receiver.stop();
  });
  beforeEach(async () => {
    seed(h);
    receiver.clear();
    adminToken = await h.emulator.tokens.adminToken({ scope: 'update:users read:users' });
  });

  const link = async () => {
    const result = await execute(h.url, LinkAccountsForUndoDocument, FULL_LINK, { token: adminToken });
    expect(result.body.errors).toBeUndefined();
    return result.body.data!.linkAccounts.linkId;
  };
  const undo = (linkId: string, token = adminToken) =>
    execute(h.url, UndoLinkDocument, { linkId }, { token });

  it('restores the secondary with its metadata, roles and memberships, and the primary exactly as before', async () => {
    const primaryBefore = stateOf(h, PRIMARY);
    const secondaryBefore = stateOf(h, SECONDARY);
    const linkId = await link();
    expect(h.emulator.tenant.getUser(SECONDARY)).toBeUndefined();
    await receiver.waitForEvents(1);

    const result = await undo(linkId);

    expect(result.body.errors).toBeUndefined();
    expect(result.body.data?.undoLink).toEqual({
      primary: {
        id: PRIMARY,
        identities: [{ id: PRIMARY }],
        userMetadata: { theme: 'dark' },
        appMetadata: { plan: 'pro' },
      },
      restored: {
        id: SECONDARY,
        userMetadata: { theme: 'light', locale: 'de' },
        appMetadata: { crm: 'c-42' },
      },
      keptOnPrimary: [],
    });
    expect(stateOf(h, PRIMARY)).toEqual(primaryBefore);
    expect(stateOf(h, SECONDARY)).toEqual(secondaryBefore);
    await receiver.waitForEvents(2);
    const unlinked = receiver.events.filter((e) => e.event.type === 'account.unlinked');
    expect(unlinked).toHaveLength(1);
    expect(unlinked[0].event.data).toMatchObject({
      primaryId: PRIMARY,
      detachedUserId: SECONDARY,
      undoOf: linkId,
    });
  });

  it('keeps a primary key changed between the link and the undo, and names it in keptOnPrimary', async () => {
    const linkId = await link();
    // The merge added `locale`; the user changes it before the undo (their own token, at Auth0).
    const own = await h.emulator.tokens.userAccessToken({
      sub: PRIMARY,
      scope: 'update:current_user_metadata',
      audience: `${h.emulator.origin}/api/v2/`,
    });
    const patched = await fetch(`${h.emulator.origin}/api/v2/users/${encodeURIComponent(PRIMARY)}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${own}`, 'content-type': 'application/json' },
      body: JSON.stringify({ user_metadata: { locale: 'fr' } }),
    });
    expect(patched.status).toBe(200);

    const result = await undo(linkId);

    expect(result.body.errors).toBeUndefined();
    expect(result.body.data?.undoLink.keptOnPrimary).toEqual(['user_metadata.locale']);
    expect(h.emulator.tenant.getUser(PRIMARY)?.user_metadata).toEqual({ theme: 'dark', locale: 'fr' });
    expect(h.emulator.tenant.getUser(PRIMARY)?.app_metadata).toEqual({ plan: 'pro' });
  });

  it('answers UNDO_INCOMPLETE after a fault past the unlink, finishes on the second call and repeats that success on the third', async () => {
    const primaryBefore = stateOf(h, PRIMARY);
    const secondaryBefore = stateOf(h, SECONDARY);
    const linkId = await link();
    await receiver.waitForEvents(1);
    h.emulator.journal.clear();
    // The secondary's metadata restore (the first PATCH after the unlink) fails once.
    // (every retry of it: the call fails).
    h.emulator.faults.add({ route: 'update-user', status: 503, times: 10 });

    const first = await undo(linkId);
    expect(first.body.errors?.[0].extensions).toMatchObject({
      code: 'UPSTREAM_ERROR',
      reason: 'UNDO_INCOMPLETE',
    });
    expect(h.emulator.tenant.getUser(SECONDARY)).toBeDefined();
    expect(h.emulator.tenant.getUser(SECONDARY)?.app_metadata ?? {}).toEqual({});
    h.emulator.faults.clear();

    const second = await undo(linkId);
    expect(second.body.errors).toBeUndefined();
    const third = await undo(linkId);
    expect(third.body.errors).toBeUndefined();
    expect(third.body.data).toEqual(second.body.data);

    // One unlink reached Auth0, and one event says so.
    expect(h.emulator.journal.entries().filter((e) => e.route === 'unlink')).toHaveLength(1);
    expect(stateOf(h, PRIMARY)).toEqual(primaryBefore);
    expect(stateOf(h, SECONDARY)).toEqual(secondaryBefore);
    await receiver.waitForEvents(2);
    expect(receiver.events.filter((e) => e.event.type === 'account.unlinked')).toHaveLength(1);
  });

  it('refuses a user undoing another user’s link: FORBIDDEN, and nothing reaches Auth0', async () => {
    const linkId = await link();
    h.emulator.journal.clear();
    const olga = await h.emulator.tokens.userAccessToken({
      sub: OTHER,
      scope: 'read:current_user update:current_user_identities',
    });

    const result = await undo(linkId, olga);

    expect(result.body.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN' });
    expect(h.emulator.journal.entries().filter((e) => e.method !== 'GET')).toEqual([]);
    expect(stateOf(h, PRIMARY).identities).toEqual([PRIMARY, SECONDARY]);
  });

  it('answers NOT_FOUND / UNDO_EXPIRED for a link id it never recorded', async () => {
    const result = await undo('msg_00000000000000000000000000000000');
    expect(result.body.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', reason: 'UNDO_EXPIRED' });
  });
});

describe('undo records in Redis (REDIS_URL set)', () => {
  let redis: RedisServer;
  let client: Redis;
  let h: Harness;
  const prefix = `undo-${process.pid}:`;

  beforeAll(async () => {
    redis = await startRedisServer();
    client = new Redis(redis.url);
    h = await startHarness({
      env: { REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix, LINK_UNDO_WINDOW: '1500' },
    });
  });
  afterAll(async () => {
    await h.close();
    client.disconnect();
    await redis?.stop();
  });

  it('keeps the record sealed under a tenant-tagged key, and answers UNDO_EXPIRED once the window has passed', async () => {
    seed(h);
    const adminToken = await h.emulator.tokens.adminToken({ scope: 'update:users read:users' });
    const linked = await execute(h.url, LinkAccountsForUndoDocument, FULL_LINK, { token: adminToken });
    const linkId = linked.body.data!.linkAccounts.linkId;
    const keys = await client.keys(`${prefix}*undo-record*`);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(new RegExp(`^${prefix}\\{[0-9a-f]{12}\\}:undo-record:[0-9a-f]{64}$`));
    // Kept for the window and no longer (LINK_UNDO_WINDOW=1500 ms).
    const ttl = await client.pttl(keys[0]);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1500);
    const stored = (await client.get(keys[0]))!;
    expect(stored).not.toContain('c-42');
    expect(stored).not.toContain(SECONDARY);
    // Opened with the gateway's keys (the client secret): what the undo writes back.
    const keysOfGateway = deriveTokenKeys(
      DEMO.serviceClientSecret,
      `undo-record|${h.emulator.origin}|${DEMO.serviceClientId}`,
    );
    const record = openValue(keysOfGateway, stored, keys[0]) as Record<string, unknown>;
    expect(record).toMatchObject({
      primaryId: PRIMARY,
      secondaryId: SECONDARY,
      secondary: { user_metadata: { theme: 'light', locale: 'de' }, app_metadata: { crm: 'c-42' } },
    });

    // Redis drops the key at the window's end (PX): wait for that, not for a time.
    while ((await client.exists(keys[0])) === 1) await new Promise((resolve) => setTimeout(resolve, 50));

    const result = await execute(h.url, UndoLinkDocument, { linkId }, { token: adminToken });
    expect(result.body.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', reason: 'UNDO_EXPIRED' });
    expect(h.emulator.tenant.getUser(PRIMARY)?.identities).toHaveLength(2);
  });
});

describe('undo across two replicas on one Redis', () => {
  let redis: RedisServer;
  let client: Redis;
  let emulator: Auth0Emulator;
  let replicaA: GatewayProcess;
  let replicaB: GatewayProcess;
  const prefix = `undo-replicas-${process.pid}:`;

  beforeAll(async () => {
    redis = await startRedisServer();
    client = new Redis(redis.url);
    emulator = await startAuth0Emulator({ port: 0 });
    const env = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix };
    [replicaA, replicaB] = await Promise.all([
      startGatewayProcess(emulator.origin, env),
      startGatewayProcess(emulator.origin, env),
    ]);
  });
  afterAll(async () => {
    await Promise.all([replicaA?.stop(), replicaB?.stop()]);
    client.disconnect();
    await emulator?.close();
    await redis?.stop();
  });

  it('undoes through replica B a link made through replica A: the record is read from Redis', async () => {
    const h = { emulator };
    seed(h);
    const secondaryBefore = stateOf(h, SECONDARY);
    const primaryBefore = stateOf(h, PRIMARY);
    const adminToken = await emulator.tokens.adminToken({ scope: 'update:users read:users' });

    const linked = await execute(replicaA.url, LinkAccountsForUndoDocument, FULL_LINK, { token: adminToken });
    expect(linked.body.errors).toBeUndefined();
    const linkId = linked.body.data!.linkAccounts.linkId;
    expect(emulator.tenant.getUser(SECONDARY)).toBeUndefined();
    // A's record is in Redis: B, another process, has no copy of its own to read.
    expect(await client.keys(`${prefix}*undo-record*`)).toHaveLength(1);

    const undone = await execute(replicaB.url, UndoLinkDocument, { linkId }, { token: adminToken });

    expect(undone.body.errors).toBeUndefined();
    expect(undone.body.data?.undoLink).toMatchObject({
      primary: { id: PRIMARY, identities: [{ id: PRIMARY }] },
      restored: { id: SECONDARY },
      keptOnPrimary: [],
    });
    // The secondary is a user of its own again, as it was; the primary as before the link.
    expect(stateOf(h, SECONDARY)).toEqual(secondaryBefore);
    expect(stateOf(h, PRIMARY)).toEqual(primaryBefore);
    expect(emulator.journal.entries({ route: 'unlink' })).toHaveLength(1);
  });
});
