// What the lock and the outbox ask of a master that has a replica (DESIGN §10, issue 27): a lock
// is granted only once the replica has it (WAIT), so a failover cannot hand it to a second holder,
// and an event the outbox acknowledged is on the replica already. Real Redis behind Sentinel; the
// replica is frozen (SIGSTOP) to stand for one that does not answer.
import { Writable } from 'node:stream';
import { createLogger } from '../../../src/observability/logger.js';
import { createRedisOutbox } from '../../../src/events/redis-outbox.js';
import { createMetrics } from '../../../src/observability/metrics.js';
import { createRedisSharedState } from '../../../src/shared-state/redis.js';
import type { SharedState } from '../../../src/shared-state/shared-state.js';
import type { RedisTarget } from '../../../src/config.js';
import { parseInfo, redisCommand } from '../../support/redis-cluster.js';
import { startRedisSentinel, type RedisSentinelSet } from '../../support/redis-sentinel.js';

const lines: Record<string, unknown>[] = [];
const logger = createLogger({
  level: 'warn',
  destination: new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      callback();
    },
  }),
});

let sentinel: RedisSentinelSet;
let target: RedisTarget;
const opened: SharedState[] = [];

beforeAll(async () => {
  sentinel = await startRedisSentinel({ downAfterMs: 5000 });
  target = {
    kind: 'sentinel',
    sentinels: sentinel.sentinels,
    masterName: sentinel.masterName,
    tls: false,
  };
}, 30_000);
afterAll(async () => {
  await Promise.all(opened.map((state) => state.close()));
  await sentinel?.stop();
});

async function open(): Promise<SharedState> {
  const state = await createRedisSharedState({ target, keyPrefix: 'repl:', logger, tokenLockMs: 5000 });
  opened.push(state);
  return state;
}

/** The replica's process id, to freeze and thaw it. */
async function replicaPid(): Promise<number> {
  const { port } = await sentinel.master();
  const replica = sentinel.dataPorts.find((p) => p !== port)!;
  return Number(parseInfo(await redisCommand(replica, ['INFO', 'server'])).process_id);
}

async function onReplica(args: string[]): Promise<unknown> {
  const { port } = await sentinel.master();
  return redisCommand(
    sentinel.dataPorts.find((p) => p !== port)!,
    args,
  );
}

describe('a master with a replica', () => {
  it('grants a writer lock only once the replica has it and its fencing token', async () => {
    const state = await open();
    const lock = await state.writerLock('primary').acquire('auth0|w1', 1000);
    expect(lock).not.toBeNull();
    // On the replica at once: WAIT answered before the lock was granted.
    expect(await onReplica(['EXISTS', 'repl:t:writer-lock:primary:{auth0|w1}'])).toBe(1);
    expect(Number(await onReplica(['GET', 'repl:t:writer-fence:primary:{auth0|w1}']))).toBeGreaterThan(0);
    await lock!();
  });

  it('refuses the lock while the replica does not answer, and grants it once it does', async () => {
    const state = await open();
    const pid = await replicaPid();
    process.kill(pid, 'SIGSTOP');
    try {
      // The master took it, no replica confirmed it: given back, tried again until the wait ends.
      expect(await state.writerLock('primary').acquire('auth0|w2', 800)).toBeNull();
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const lock = await state.writerLock('primary').acquire('auth0|w2', 3000);
    expect(lock).not.toBeNull();
    await lock!();
  });

  it('answers an outbox append once the replica has the event, and says once when none did in time', async () => {
    const keys = { outbox: 'repl:{t}:o', dead: 'repl:{t}:d', attempts: 'repl:{t}:a', lease: 'repl:{t}:l' };
    const outbox = await createRedisOutbox({
      target,
      keys,
      logger,
      metrics: createMetrics({ redis: true, defaultMetrics: false }),
      retryDelaysMs: [60_000],
      // No delivery in this test: every attempt fails and waits a minute.
      attempt: async () => ({ ok: false, error: 'not in this test' }),
    });
    try {
      await outbox.append({ webhookId: 'msg_1', primaryId: 'auth0|p', body: '{}' });
      expect(await onReplica(['XLEN', keys.outbox])).toBe(1);
      const pid = await replicaPid();
      process.kill(pid, 'SIGSTOP');
      try {
        await outbox.append({ webhookId: 'msg_2', primaryId: 'auth0|p', body: '{}' });
        await outbox.append({ webhookId: 'msg_3', primaryId: 'auth0|p', body: '{}' });
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      const warnings = lines.filter((line) => String(line.msg).includes('no replica acknowledged'));
      expect(warnings.map((line) => line.webhookId)).toEqual(['msg_2']);
    } finally {
      await outbox.close();
    }
  });
});
