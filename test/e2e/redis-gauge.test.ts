// auth0_link_gateway_redis_up: present with REDIS_URL only, and following Redis as it goes away.
import { waitFor } from '../support/gateway-process.js';
import { startHarness, type Harness } from '../support/harness.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';

const GAUGE = /^auth0_link_gateway_redis_up (\d+)$/m;

async function gauge(h: Harness): Promise<string | undefined> {
  const text = await (await fetch(`${h.gateway.origin}/metrics`)).text();
  return GAUGE.exec(text)?.[1];
}

describe('the auth0_link_gateway_redis_up gauge', () => {
  let redis: RedisServer;
  const running: Harness[] = [];
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((h) => h.close()));
  });
  afterAll(async () => {
    await redis.stop();
  });

  it('is absent from /metrics without REDIS_URL', async () => {
    const h = await startHarness();
    running.push(h);
    const text = await (await fetch(`${h.gateway.origin}/metrics`)).text();
    expect(text).toContain('graphql_operations_total');
    expect(text).not.toContain('redis_up');
  });

  it('reads 1 while Redis answers and drops to 0 when it goes away', async () => {
    const h = await startHarness({ env: { REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'gauge-test:' } });
    running.push(h);
    expect(await gauge(h)).toBe('1');

    await redis.stop();
    await waitFor(async () => (await gauge(h)) === '0', 10_000, 'gauge reads 0');
    const readyz = await fetch(`${h.gateway.origin}/readyz`);
    expect(readyz.status).toBe(200);
    expect(await readyz.json()).toMatchObject({ checks: { redis: false } });
  });
});
