import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { deadLetterFields } from './dead-letters.js';
import { DeliveryScheduler, type ScheduledMessage } from './delivery-scheduler.js';
import type { MemoryOutbox } from './memory-outbox.js';
import {
  countedAttempt,
  logDeadLetter,
  toDeadLetter,
  messageOf,
  type DeadLetter,
  type Outbox,
  type OutboxDependencies,
} from './outbox.js';
import { fieldsOf, WEBHOOK_GROUP, type WebhookKeys } from './redis-keys.js';

export interface RedisOutboxOptions extends OutboxDependencies {
  url: string;
  keys: WebhookKeys;
  /** Takes the events Redis cannot keep right now (this replica delivers them itself). */
  fallback: MemoryOutbox;
}

// One replica delivers at a time, so the events of one primary leave in order. It holds a lease
// that it renews every second; when it dies the lease expires and another replica takes over the
// dead one's unacknowledged entries (XAUTOCLAIM) where their retry schedule stood.
const LEASE_TTL_MS = 3000;
const TICK_MS = 1000;
const READ_BLOCK_MS = 1000;
const READ_COUNT = 100;

// Renews the lease only if this replica still holds it.
const RENEW_LEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0`;
const RELEASE_LEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`;

type StreamEntry = [id: string, fields: string[]];

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/**
 * The outbox with Redis (DESIGN §12): a stream per tenant that every replica appends to and
 * reads through one consumer group. An entry leaves the stream when it is delivered (XACK, XDEL)
 * or dead-lettered (moved to the dead-letter stream, kept until replayed).
 */
export async function createRedisOutbox(options: RedisOutboxOptions): Promise<Outbox> {
  const { keys, logger, metrics, fallback } = options;
  const consumer = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const client = new Redis(options.url, {
    // Nothing a caller sent waits on Redis: commands fail at once while it is away.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 1000,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(100 * 2 ** Math.min(attempt, 5), 2000),
    lazyConnect: true,
  });
  // Blocking reads get a connection of their own, so they never hold the appends up.
  const reader = client.duplicate({ commandTimeout: READ_BLOCK_MS + 2000 });
  client.on('error', () => undefined);
  reader.on('error', () => undefined);
  await Promise.all([client.connect().catch(() => undefined), reader.connect().catch(() => undefined)]);

  let closed = false;
  let scheduler: DeliveryScheduler | undefined;
  const attempt = countedAttempt(options);

  const ensureGroup = async () => {
    try {
      await client.xgroup('CREATE', keys.outbox, WEBHOOK_GROUP, '0', 'MKSTREAM');
    } catch (error) {
      if (!String(error).includes('BUSYGROUP')) throw error;
    }
  };

  // Removes an entry that left the outbox; left pending if Redis fails here, it is delivered again.
  const settle = async (message: ScheduledMessage, dead?: DeadLetter) => {
    try {
      const batch = client.multi();
      if (dead) batch.xadd(keys.dead, '*', ...deadLetterFields(dead, message));
      await batch
        .xack(keys.outbox, WEBHOOK_GROUP, message.key)
        .xdel(keys.outbox, message.key)
        .hdel(keys.attempts, message.key)
        .exec();
    } catch (error) {
      logger.warn(
        { error: messageOf(error), webhookId: message.webhookId },
        'webhook outbox: could not settle an entry; it will be delivered again',
      );
    }
    await refreshGauges();
  };

  const newScheduler = () =>
    new DeliveryScheduler(options.retryDelaysMs, {
      attempt,
      delivered: (message) => settle(message),
      retrying: async (message, error) => {
        logger.warn(
          { webhookId: message.webhookId, attempts: message.attempts, lastError: error },
          'webhook delivery failed; retrying',
        );
        await client
          .hset(keys.attempts, message.key, `${message.attempts}:${message.nextAttemptAt}`)
          .catch(() => undefined);
      },
      dead: async (message, error) => {
        const letter = toDeadLetter(message, error);
        await settle(message, letter);
        logDeadLetter(logger, letter);
      },
    });

  /** Queues stream entries, resuming each one's retry schedule where Redis says it stood. */
  const schedule = async (target: DeliveryScheduler, entries: StreamEntry[], resume: boolean) => {
    const live = entries.filter(
      (entry): entry is StreamEntry => Array.isArray(entry) && Array.isArray(entry[1]),
    );
    if (live.length === 0) return;
    const states = resume ? await client.hmget(keys.attempts, ...live.map(([id]) => id)) : [];
    live.forEach(([id, flat], i) => {
      const f = fieldsOf(flat);
      const [attempts, nextAttemptAt] = (states[i] ?? '0:0').split(':').map(Number);
      target.add({
        key: id,
        webhookId: f.webhookId,
        primaryId: f.primaryId,
        body: f.body,
        attempts,
        nextAttemptAt,
      });
    });
  };

  /** Takes over entries read by a replica that no longer delivers (all of them when `minIdleMs` is 0). */
  const claim = async (target: DeliveryScheduler, minIdleMs: number) => {
    let cursor = '0-0';
    do {
      const [next, entries] = (await client.xautoclaim(
        keys.outbox,
        WEBHOOK_GROUP,
        consumer,
        minIdleMs,
        cursor,
        'COUNT',
        READ_COUNT,
      )) as [string, StreamEntry[]];
      await schedule(target, entries, true);
      cursor = next;
    } while (cursor !== '0-0' && scheduler === target);
  };

  const readNew = async (target: DeliveryScheduler) => {
    while (!closed && scheduler === target) {
      try {
        const reply = (await reader.xreadgroup(
          'GROUP',
          WEBHOOK_GROUP,
          consumer,
          'COUNT',
          READ_COUNT,
          'BLOCK',
          READ_BLOCK_MS,
          'STREAMS',
          keys.outbox,
          '>',
        )) as [string, StreamEntry[]][] | null;
        if (scheduler !== target) return; // lost the lease while blocked: the next holder claims these
        for (const [, entries] of reply ?? []) await schedule(target, entries, false);
      } catch (error) {
        if (closed) return;
        if (String(error).includes('NOGROUP')) await ensureGroup().catch(() => undefined);
        else await pause(READ_BLOCK_MS);
      }
    }
  };

  /** Whether a consumer other than this one has entries it read and did not settle. */
  const othersHoldEntries = async () => {
    const summary = (await client.xpending(keys.outbox, WEBHOOK_GROUP)) as [
      number,
      string | null,
      string | null,
      [string, string][] | null,
    ];
    return (summary[3] ?? []).some(([name]) => name !== consumer);
  };

  // Every replica that once delivered is a consumer of the group; those left with nothing pending
  // are removed, so the group does not grow with every restart.
  const forgetIdleConsumers = async () => {
    const consumers = (await client.xinfo('CONSUMERS', keys.outbox, WEBHOOK_GROUP)) as unknown[][];
    for (const flat of consumers) {
      const info = fieldsOf(flat.map(String));
      if (info.name !== consumer && info.pending === '0') {
        await client.xgroup('DELCONSUMER', keys.outbox, WEBHOOK_GROUP, info.name);
      }
    }
  };

  const stopDelivering = async () => {
    const current = scheduler;
    scheduler = undefined;
    await current?.stop();
  };

  const refreshGauges = async () => {
    try {
      const replies = await client.multi().xlen(keys.outbox).xlen(keys.dead).exec();
      metrics.webhookPending.set(Number(replies?.[0]?.[1] ?? 0) + fallback.pending());
      metrics.webhookDead.set(Number(replies?.[1]?.[1] ?? 0) + fallback.deadLetters().length);
    } catch {
      metrics.webhookPending.set(fallback.pending());
    }
  };

  let ticking = false;
  const tick = async () => {
    if (ticking || closed) return;
    ticking = true;
    try {
      if (client.status !== 'ready') {
        await stopDelivering();
        return;
      }
      if (scheduler) {
        const renewed = await client.eval(RENEW_LEASE, 1, keys.lease, consumer, LEASE_TTL_MS);
        if (renewed !== 1) {
          logger.warn('webhook delivery lease lost: another replica delivers now');
          await stopDelivering();
        } else if (await othersHoldEntries()) {
          // Entries a previous holder read after this one took over (it had not noticed yet).
          await claim(scheduler, LEASE_TTL_MS);
        }
      } else if ((await client.set(keys.lease, consumer, 'PX', LEASE_TTL_MS, 'NX')) === 'OK') {
        const target = newScheduler();
        scheduler = target;
        try {
          await ensureGroup();
          // Everything another replica read and did not settle: it has lost the lease, so it no
          // longer delivers. Claimed before new entries are read, so each primary keeps its order.
          await claim(target, 0);
          await forgetIdleConsumers();
        } catch (error) {
          await stopDelivering();
          await client.eval(RELEASE_LEASE, 1, keys.lease, consumer).catch(() => undefined);
          throw error;
        }
        void readNew(target);
      }
    } catch (error) {
      logger.warn({ error: messageOf(error) }, 'webhook outbox: Redis command failed; retrying');
    } finally {
      await refreshGauges();
      ticking = false;
    }
  };
  const timer = setInterval(() => void tick(), TICK_MS);
  timer.unref();
  void tick();

  return {
    async append(message) {
      try {
        await client.xadd(
          keys.outbox,
          '*',
          'webhookId',
          message.webhookId,
          'primaryId',
          message.primaryId,
          'body',
          message.body,
        );
        metrics.webhookPending.inc();
      } catch (error) {
        // No request fails for Redis alone: this replica keeps and delivers the event itself.
        logger.warn(
          { error: messageOf(error), webhookId: message.webhookId },
          'webhook outbox: Redis unreachable; the event is kept in this process until delivered',
        );
        await fallback.append(message);
      }
    },
    async close() {
      closed = true;
      clearInterval(timer);
      const held = scheduler !== undefined;
      await stopDelivering();
      // Handing the lease back lets another replica take over at once instead of after its expiry.
      if (held) await client.eval(RELEASE_LEASE, 1, keys.lease, consumer).catch(() => undefined);
      reader.disconnect();
      await client.quit().catch(() => client.disconnect());
    },
  };
}
