import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { RedisTarget } from '../config.js';
import { closeRedis, openRedis, waitForReplica, type ReplicaAck } from '../shared-state/redis-connection.js';
import { RedisLease } from '../shared-state/redis-lease.js';
import { AppendSpool } from './append-spool.js';
import { deadLetterFields } from './dead-letters.js';
import { DeliveryScheduler, type ScheduledMessage } from './delivery-scheduler.js';
import { forgetIdleConsumers } from './outbox-consumers.js';
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
import type { OutboxMessage } from './webhook-delivery.js';

export interface RedisOutboxOptions extends OutboxDependencies {
  /** The shared Redis, whichever its shape (config.ts); a string is a standalone URL. */
  target: RedisTarget | string;
  keys: WebhookKeys;
}

// One replica delivers at a time: the holder of a lease (RedisLease, 3 s, renewed every second on
// its own timer). The holder stops reading, claiming and attempting as soon as its lease may be
// lost (a renewal refused, or none confirmed for 2 s: Redis slow or away, the process stalled), so
// two replicas deliver side by side only for an attempt already in flight when the lease went.
// A new holder first takes over every entry another consumer read and did not settle
// (XAUTOCLAIM), where its retry schedule stood, and only then reads new entries.
const LEASE_TTL_MS = 3000;
const TICK_MS = 1000;
// A blocked read ends within this: an old holder's last read is answered before its lease's key
// can expire (2 s of held time + 0.5 s < 3 s).
const READ_BLOCK_MS = 500;
const READ_COUNT = 100;
// Longest an append waits for a replica of the stream's master to have it (WAIT), within the
// connection's command timeout.
const REPLICA_WAIT_MS = 700;
/** Messages held in memory before the holder stops reading and claiming until some settle. */
export const MAX_BACKLOG = 1000;

type StreamEntry = [id: string, fields: string[]];

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** One lease held: its scheduler lives and dies with it. */
interface Term {
  lease: RedisLease;
  scheduler: DeliveryScheduler;
  /** The takeover claim is done: new entries are being read. */
  reading: boolean;
}

/**
 * The outbox with Redis (DESIGN §12): a stream per tenant that every replica appends to and
 * reads through one consumer group. An entry leaves the stream when it is delivered (XACK, XDEL)
 * or dead-lettered (moved to the dead-letter stream, kept until replayed). Appends Redis does not
 * take are spooled in this process and written once it answers (AppendSpool).
 */
export async function createRedisOutbox(options: RedisOutboxOptions): Promise<Outbox> {
  const { keys, logger, metrics } = options;
  const consumer = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const target =
    typeof options.target === 'string'
      ? ({ kind: 'standalone', url: options.target, tls: options.target.startsWith('rediss:') } as const)
      : options.target;
  const connection = (commandTimeoutMs: number) =>
    openRedis(target, {
      // Nothing a caller sent waits on Redis: commands fail at once while it is away.
      commandTimeoutMs,
      connectTimeoutMs: 2000,
      retryStrategy: (attempt) => Math.min(100 * 2 ** Math.min(attempt, 5), 2000),
      lazyConnect: true,
    });
  const client = connection(1000);
  // Blocking reads get a connection of their own, so they never hold the appends up.
  const reader = connection(READ_BLOCK_MS + 1000);
  client.on('error', () => undefined);
  reader.on('error', () => undefined);

  let closed = false;
  let term: Term | undefined;
  const appending = new Set<Promise<void>>();
  const countingAttempt = countedAttempt(options);

  // One warning per change of whether appends reach a replica (DESIGN §10's rule for Redis).
  let lastAck: ReplicaAck = 'acknowledged';
  const spool = new AppendSpool(async (message: OutboxMessage) => {
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
    // An event the service acknowledged must survive the master's death (DESIGN §10): the append
    // answers once a replica has it, where the master has one. A replica that stays silent for
    // the whole wait (down, or far behind) is logged once; the event is kept on the master alone
    // then, and appending again would deliver it twice.
    const ack = await waitForReplica(client, keys.outbox, REPLICA_WAIT_MS);
    if ((ack === 'not-acknowledged') !== (lastAck === 'not-acknowledged')) {
      if (ack === 'not-acknowledged') {
        logger.warn(
          { webhookId: message.webhookId },
          'webhook outbox: no replica acknowledged an event in time; it is kept on the Redis master alone',
        );
      } else {
        logger.warn('webhook outbox: replicas acknowledge events again');
      }
    }
    lastAck = ack;
  }, logger);
  client.on('ready', () => void spool.flush());
  await Promise.all([client.connect().catch(() => undefined), reader.connect().catch(() => undefined)]);

  /** Whether `current` may still act as the delivering replica (reading `lost` checks the lease's age). */
  const active = (current: Term) => term === current && !closed && !current.lease.lost;

  const ensureGroup = async () => {
    try {
      await client.xgroup('CREATE', keys.outbox, WEBHOOK_GROUP, '0', 'MKSTREAM');
    } catch (error) {
      if (!String(error).includes('BUSYGROUP')) throw error;
    }
  };

  // The stream's length as last read: while Redis is away, pending is that plus the spool.
  let streamLength = 0;
  const refreshGauges = async () => {
    try {
      const replies = await client.multi().xlen(keys.outbox).xlen(keys.dead).exec();
      streamLength = Number(replies?.[0]?.[1] ?? 0);
      metrics.webhookDead.set(Number(replies?.[1]?.[1] ?? 0));
    } catch {
      // Redis away: the dead letters keep their last count.
    }
    metrics.webhookPending.set(streamLength + spool.size);
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

  const endTerm = async (current: Term | undefined, why: 'lost' | 'stopped') => {
    if (!current || term !== current) return;
    term = undefined;
    if (why === 'lost') logger.warn('webhook delivery lease lost: this replica stopped delivering');
    await current.scheduler.stop();
    await current.lease.release();
  };

  const newTerm = (lease: RedisLease): Term => {
    const current: Term = { lease, scheduler: undefined!, reading: false };
    current.scheduler = new DeliveryScheduler(options.retryDelaysMs, {
      // Checked before every attempt, so a holder that stalled past its lease (a paused process,
      // a slow Redis) sends nothing once it runs again: its successor delivers these entries.
      attempt: (message, attemptNumber, signal) =>
        current.lease.lost
          ? Promise.resolve({ ok: false, error: 'lease lost' })
          : countingAttempt(message, attemptNumber, signal),
      delivered: (message) => settle(message),
      retrying: async (message, error) => {
        logger.warn(
          { webhookId: message.webhookId, attempts: message.attempts, lastError: error },
          'webhook delivery failed; retrying',
        );
        // A holder that lost its lease mid-attempt leaves the schedule to its successor.
        if (current.lease.lost) return;
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
    // The lease's signal aborts once it may be lost: stop everything this term does.
    lease.signal.addEventListener('abort', () => void endTerm(current, 'lost'), { once: true });
    return current;
  };

  /** Queues stream entries, resuming each one's retry schedule where Redis says it stood. */
  const schedule = async (current: Term, entries: StreamEntry[], resume: boolean) => {
    const live = entries.filter(
      (entry): entry is StreamEntry => Array.isArray(entry) && Array.isArray(entry[1]),
    );
    if (live.length === 0) return;
    const states = resume ? await client.hmget(keys.attempts, ...live.map(([id]) => id)) : [];
    if (!active(current)) return;
    live.forEach(([id, flat], i) => {
      const f = fieldsOf(flat);
      const [attempts, nextAttemptAt] = (states[i] ?? '0:0').split(':').map(Number);
      current.scheduler.add({
        key: id,
        webhookId: f.webhookId,
        primaryId: f.primaryId,
        body: f.body,
        attempts,
        nextAttemptAt,
      });
    });
  };

  /**
   * Takes over entries another consumer read and did not settle: all of them when `minIdleMs` is 0
   * (a new holder), else those idle that long (read by an old holder after this one took over).
   * Pauses while MAX_BACKLOG messages are held.
   */
  const claim = async (current: Term, minIdleMs: number) => {
    let cursor = '0-0';
    do {
      await current.scheduler.whenBelow(MAX_BACKLOG);
      if (!active(current)) return;
      const [next, entries] = (await client.xautoclaim(
        keys.outbox,
        WEBHOOK_GROUP,
        consumer,
        minIdleMs,
        cursor,
        'COUNT',
        READ_COUNT,
      )) as [string, StreamEntry[]];
      await schedule(current, entries, true);
      cursor = next;
    } while (cursor !== '0-0');
  };

  const readNew = async (current: Term) => {
    while (active(current)) {
      await current.scheduler.whenBelow(MAX_BACKLOG);
      if (!active(current)) return;
      try {
        const reply = (await reader.xreadgroup(
          'GROUP',
          WEBHOOK_GROUP,
          consumer,
          'COUNT',
          Math.min(READ_COUNT, MAX_BACKLOG - current.scheduler.size),
          'BLOCK',
          READ_BLOCK_MS,
          'STREAMS',
          keys.outbox,
          '>',
        )) as [string, StreamEntry[]][] | null;
        // Lost the lease while blocked: these stay in this consumer's PEL and the next holder
        // claims them once they are idle.
        if (!active(current)) return;
        for (const [, entries] of reply ?? []) await schedule(current, entries, false);
      } catch (error) {
        if (!active(current)) return;
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

  const forgetConsumers = async () => {
    const forgotten = await forgetIdleConsumers(client, keys.outbox, WEBHOOK_GROUP, { self: consumer });
    for (const { name, droppedEntries } of forgotten) {
      if (droppedEntries > 0) {
        // Cannot happen (only consumers holding nothing are deleted, in one script); if it did,
        // those entries would sit in the stream with no consumer to deliver them.
        logger.error(
          { consumer: name, droppedEntries },
          'webhook outbox: a consumer deleted from the group still held entries',
        );
      }
    }
  };

  /** A new holder: takes over, cleans up, then reads until the term ends. */
  const deliver = async (current: Term) => {
    try {
      await ensureGroup();
      // Claimed before new entries are read, so each primary keeps its order.
      await claim(current, 0);
      if (!active(current)) return;
      current.reading = true;
      await forgetConsumers().catch((error: unknown) =>
        logger.warn({ error: messageOf(error) }, 'webhook outbox: could not clean up the consumer group'),
      );
      await readNew(current);
    } catch (error) {
      logger.warn({ error: messageOf(error) }, 'webhook outbox: Redis command failed; retrying');
      await endTerm(current, 'stopped');
    }
  };

  let ticking = false;
  const tick = async () => {
    if (ticking || closed) return;
    ticking = true;
    try {
      const current = term;
      if (current) {
        if (current.lease.lost) {
          await endTerm(current, 'lost');
        } else if (current.reading && (await othersHoldEntries())) {
          // Entries a previous holder read after this one took over (it had not noticed yet).
          await claim(current, LEASE_TTL_MS);
        }
      } else if (client.status === 'ready') {
        const lease = await RedisLease.tryAcquire(client, keys.lease, { ttlMs: LEASE_TTL_MS });
        if (lease && closed) await lease.release();
        else if (lease) {
          const fresh = newTerm(lease);
          term = fresh;
          void deliver(fresh);
        }
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
    append(message) {
      const appended = spool.append(message);
      appending.add(appended);
      void appended.finally(() => {
        appending.delete(appended);
        // Not awaited: the mutation answers as soon as its event is kept.
        void refreshGauges();
      });
      return appended;
    },
    async close() {
      closed = true;
      clearInterval(timer);
      // Handing the lease back first lets another replica take over at once, not after its expiry.
      await endTerm(term, 'stopped');
      await Promise.all([...appending]);
      await spool.flush();
      const lost = spool.close();
      if (lost.length > 0) {
        logger.error(
          { lost: lost.length, webhookIds: lost },
          'webhook events that Redis never took are lost: this process exits with them still spooled',
        );
      }
      reader.disconnect();
      await closeRedis(client);
    },
  };
}
