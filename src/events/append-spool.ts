import type { Logger } from 'pino';
import { messageOf } from './outbox.js';
import type { OutboxMessage } from './webhook-delivery.js';

/** How soon a spool that Redis refused tries again (a reconnect also flushes it at once). */
const RETRY_MS = 250;

/**
 * Appends that Redis did not take (DESIGN §10: no request fails for Redis alone), kept in this
 * process in the order they came and written to the stream as soon as Redis answers. A primary
 * with spooled events has its later events spooled behind them, so this replica's events of one
 * primary reach the stream in order. An append that timed out may still have been applied: it is
 * then written twice, with one webhook-id.
 */
export class AppendSpool {
  private readonly queue: OutboxMessage[] = [];
  /** Spooled events per primary. */
  private readonly primaries = new Map<string, number>();
  private flushing: Promise<void> | undefined;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly write: (message: OutboxMessage) => Promise<void>,
    private readonly logger: Logger,
  ) {}

  /** Events spooled and not yet written. */
  get size(): number {
    return this.queue.length;
  }

  /** Writes `message` now, or spools it (behind its primary's spooled events). Never rejects. */
  async append(message: OutboxMessage): Promise<void> {
    if (!this.primaries.has(message.primaryId)) {
      try {
        await this.write(message);
        return;
      } catch (error) {
        this.logger.warn(
          { error: messageOf(error), webhookId: message.webhookId },
          'webhook outbox: Redis did not take the event; it is spooled in this process and written to Redis once Redis answers',
        );
      }
    } else {
      this.logger.warn(
        { webhookId: message.webhookId },
        'webhook outbox: spooled in this process behind the same primary’s earlier events, until Redis takes them',
      );
    }
    this.queue.push(message);
    this.primaries.set(message.primaryId, (this.primaries.get(message.primaryId) ?? 0) + 1);
    void this.flush();
  }

  /** Writes what is spooled, oldest first, until Redis refuses one; resolves when that pass ends. */
  flush(): Promise<void> {
    return (this.flushing ??= this.writeSpooled().finally(() => {
      this.flushing = undefined;
    }));
  }

  /** Stops retrying in the background; the webhook-ids still spooled (lost if the process exits). */
  close(): string[] {
    this.closed = true;
    clearTimeout(this.retry);
    return this.queue.map((message) => message.webhookId);
  }

  private async writeSpooled(): Promise<void> {
    clearTimeout(this.retry);
    while (this.queue.length > 0) {
      const message = this.queue[0];
      try {
        await this.write(message);
      } catch {
        if (!this.closed) this.retry = setTimeout(() => void this.flush(), RETRY_MS).unref();
        return;
      }
      this.queue.shift();
      const left = (this.primaries.get(message.primaryId) ?? 1) - 1;
      if (left > 0) this.primaries.set(message.primaryId, left);
      else this.primaries.delete(message.primaryId);
    }
  }
}
