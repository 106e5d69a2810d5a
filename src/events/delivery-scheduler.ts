import { setMaxListeners } from 'node:events';
import type { AttemptOutcome, OutboxMessage } from './webhook-delivery.js';

/** A message in delivery: where it is kept, and how far its retry schedule has gone. */
export interface ScheduledMessage extends OutboxMessage {
  /** The outbox's own key for it (a stream entry id, a sequence number). */
  key: string;
  /** Failed attempts so far. */
  attempts: number;
  /** Not before this time (ms since the epoch); 0: at once. */
  nextAttemptAt: number;
}

/** What the outbox does at each step; none of these may throw (they log and go on). */
export interface DeliveryHooks {
  attempt(message: ScheduledMessage, attemptNumber: number, signal: AbortSignal): Promise<AttemptOutcome>;
  delivered(message: ScheduledMessage): Promise<void>;
  /** A failed attempt with retries left; `attempts` and `nextAttemptAt` are already updated. */
  retrying(message: ScheduledMessage, error: string): Promise<void>;
  /** The last attempt of the schedule failed. */
  dead(message: ScheduledMessage, error: string): Promise<void>;
  /** A message left the scheduler (delivered or dead-lettered). */
  settled?(): void;
}

/** Delivery attempts in flight at once, over all primaries, by default. */
export const MAX_CONCURRENT_ATTEMPTS = 32;

function unboundedController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

function waitUntil(time: number, signal: AbortSignal): Promise<void> {
  const ms = time - Date.now();
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

/**
 * A counting semaphore: at most `size` holders; the others wait in arrival order. A waiter is let
 * go without a slot (`false`) once `signal` aborts.
 */
class AttemptSlots {
  private free: number;
  private readonly waiting: ((taken: boolean) => void)[] = [];

  constructor(size: number, signal: AbortSignal) {
    this.free = size;
    signal.addEventListener('abort', () => {
      for (const wake of this.waiting.splice(0)) wake(false);
    });
  }

  take(signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    if (this.free > 0) {
      this.free -= 1;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  give(): void {
    const next = this.waiting.shift();
    if (next) next(true);
    else this.free += 1;
  }
}

/**
 * Delivers messages at least once and in order per primary: one queue per primary, whose head
 * is attempted (and retried after `retryDelaysMs[n]`) until it is delivered or dead-lettered,
 * before the next message of that primary. Different primaries do not wait for each other, except
 * for a slot: at most `maxConcurrentAttempts` attempts are in flight at once.
 */
export class DeliveryScheduler {
  private readonly queues = new Map<string, ScheduledMessage[]>();
  private readonly known = new Set<string>();
  private readonly running = new Set<Promise<void>>();
  // Every waiting primary and every attempt in flight listens to it: as many listeners as the
  // backlog allows, which Node's leak warning (past 10) would wrongly report.
  private readonly stopping = unboundedController();
  private readonly slots: AttemptSlots;
  private readonly roomWaiters: { below: number; wake: () => void }[] = [];

  constructor(
    private readonly retryDelaysMs: readonly number[],
    private readonly hooks: DeliveryHooks,
    options: { maxConcurrentAttempts?: number } = {},
  ) {
    this.slots = new AttemptSlots(
      options.maxConcurrentAttempts ?? MAX_CONCURRENT_ATTEMPTS,
      this.stopping.signal,
    );
  }

  /** Messages not yet delivered or dead-lettered. */
  get size(): number {
    return this.known.size;
  }

  get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  /** The webhook-ids of the messages not yet delivered or dead-lettered. */
  heldWebhookIds(): string[] {
    return [...this.queues.values()].flatMap((queue) => queue.map((message) => message.webhookId));
  }

  /**
   * Queues `message` behind its primary's earlier ones. `false` when it was not queued: its key is
   * already held (an entry claimed twice), or the scheduler has stopped.
   */
  add(message: ScheduledMessage): boolean {
    if (this.stopping.signal.aborted || this.known.has(message.key)) return false;
    this.known.add(message.key);
    const queue = this.queues.get(message.primaryId);
    if (queue) {
      queue.push(message);
      return true;
    }
    const fresh = [message];
    this.queues.set(message.primaryId, fresh);
    const run = this.drain(message.primaryId, fresh).finally(() => this.running.delete(run));
    this.running.add(run);
    return true;
  }

  /** Resolves once fewer than `count` messages are held, or the scheduler has stopped. */
  whenBelow(count: number): Promise<void> {
    if (this.size < count || this.stopped) return Promise.resolve();
    return new Promise((wake) => this.roomWaiters.push({ below: count, wake }));
  }

  /** Stops at once (an attempt in flight is aborted) and forgets what is queued. */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.wakeRoomWaiters();
    await Promise.all([...this.running]);
    this.queues.clear();
    this.known.clear();
  }

  private wakeRoomWaiters(): void {
    for (let i = this.roomWaiters.length - 1; i >= 0; i -= 1) {
      const waiter = this.roomWaiters[i];
      if (this.stopped || this.size < waiter.below) {
        this.roomWaiters.splice(i, 1);
        waiter.wake();
      }
    }
  }

  private async attemptInSlot(
    message: ScheduledMessage,
    signal: AbortSignal,
  ): Promise<AttemptOutcome | null> {
    if (!(await this.slots.take(signal))) return null;
    try {
      if (signal.aborted) return null;
      return await this.hooks.attempt(message, message.attempts + 1, signal);
    } finally {
      this.slots.give();
    }
  }

  private async drain(primaryId: string, queue: ScheduledMessage[]): Promise<void> {
    const signal = this.stopping.signal;
    while (queue.length > 0 && !signal.aborted) {
      const message = queue[0];
      await waitUntil(message.nextAttemptAt, signal);
      if (signal.aborted) return;
      const outcome = await this.attemptInSlot(message, signal);
      if (outcome === null) return;
      if (outcome.ok) {
        await this.hooks.delivered(message);
      } else if (signal.aborted) {
        return;
      } else {
        message.attempts += 1;
        if (message.attempts <= this.retryDelaysMs.length) {
          message.nextAttemptAt = Date.now() + this.retryDelaysMs[message.attempts - 1];
          await this.hooks.retrying(message, outcome.error);
          continue;
        }
        await this.hooks.dead(message, outcome.error);
      }
      queue.shift();
      this.known.delete(message.key);
      this.hooks.settled?.();
      this.wakeRoomWaiters();
    }
    if (!signal.aborted) this.queues.delete(primaryId);
  }
}
