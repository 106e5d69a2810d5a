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
 * Delivers messages at least once and in order per primary: one queue per primary, whose head
 * is attempted (and retried after `retryDelaysMs[n]`) until it is delivered or dead-lettered,
 * before the next message of that primary. Different primaries do not wait for each other.
 */
export class DeliveryScheduler {
  private readonly queues = new Map<string, ScheduledMessage[]>();
  private readonly known = new Set<string>();
  private readonly running = new Set<Promise<void>>();
  private readonly stopping = new AbortController();

  constructor(
    private readonly retryDelaysMs: readonly number[],
    private readonly hooks: DeliveryHooks,
  ) {}

  /** Messages not yet delivered or dead-lettered. */
  get size(): number {
    return this.known.size;
  }

  /** Queues `message` behind its primary's earlier ones; a key already queued is ignored. */
  add(message: ScheduledMessage): void {
    if (this.stopping.signal.aborted || this.known.has(message.key)) return;
    this.known.add(message.key);
    const queue = this.queues.get(message.primaryId);
    if (queue) {
      queue.push(message);
      return;
    }
    const fresh = [message];
    this.queues.set(message.primaryId, fresh);
    const run = this.drain(message.primaryId, fresh).finally(() => this.running.delete(run));
    this.running.add(run);
  }

  /** Stops at once (an attempt in flight is aborted) and forgets what is queued. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.all([...this.running]);
    this.queues.clear();
    this.known.clear();
  }

  private async drain(primaryId: string, queue: ScheduledMessage[]): Promise<void> {
    const signal = this.stopping.signal;
    while (queue.length > 0 && !signal.aborted) {
      const message = queue[0];
      await waitUntil(message.nextAttemptAt, signal);
      if (signal.aborted) return;
      const outcome = await this.hooks.attempt(message, message.attempts + 1, signal);
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
    }
    if (!signal.aborted) this.queues.delete(primaryId);
  }
}
