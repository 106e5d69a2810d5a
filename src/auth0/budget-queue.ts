import type { RateLimitedError } from '../errors.js';
import type { BudgetClock } from './budget-clock.js';

/** Gives the slot back; calling it more than once does nothing. */
export type ReleaseBudget = () => void;

interface Waiter {
  resolve(release: ReleaseBudget): void;
  reject(error: Error): void;
  cancelDeadline(): void;
  /** Its deadline passed while a take was in flight: refused unless that take grants it. */
  expired: boolean;
  /** Auth0 answered this call 429: it waits ahead of calls that have not been sent yet. */
  retry: boolean;
}

export interface BudgetQueueOptions {
  clock: BudgetClock;
  /** Most calls in flight at once. */
  maxConcurrency: number;
  /** Most calls waiting. */
  maxQueueLength: number;
  /** Told the queue length whenever it changes (for a gauge). */
  onQueueChange?: (queueLength: number) => void;
  /** A waiter's deadline passed (it is marked expired; the owner refuses it when no take is in flight). */
  onDeadline(): void;
  /** A slot came back: the owner may grant the next waiter. */
  onRelease(): void;
}

/**
 * The calls waiting for the tenant's budget, in FIFO order (a retry of a call Auth0 answered 429
 * ahead of calls not yet sent, behind earlier retries), and the cap on calls in flight. It knows
 * nothing of tokens: its owner decides when the next waiter goes.
 */
export class BudgetQueue {
  private readonly waiters: Waiter[] = [];
  private inFlightCount = 0;
  private reportedLength = 0;

  constructor(private readonly options: BudgetQueueOptions) {}

  get length(): number {
    return this.waiters.length;
  }

  get inFlight(): number {
    return this.inFlightCount;
  }

  get isFull(): boolean {
    return this.waiters.length >= this.options.maxQueueLength;
  }

  /** Calls that could be granted now: waiting ones, as far as the concurrency cap allows. */
  get grantable(): number {
    return Math.min(this.waiters.length, this.options.maxConcurrency - this.inFlightCount);
  }

  /** Where a new waiter would stand: at the back, or (a retry) behind the retries already waiting. */
  positionFor(retry: boolean): number {
    return retry ? this.waiters.filter((w) => w.retry).length : this.waiters.length;
  }

  /** Queues a call at `position`; it is granted by `grantNext` or refused once `maxWaitMs` has passed. */
  enqueue(position: number, maxWaitMs: number, retry: boolean): Promise<ReleaseBudget> {
    return new Promise<ReleaseBudget>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, cancelDeadline: () => undefined, expired: false, retry };
      waiter.cancelDeadline = this.options.clock.setTimer(() => {
        waiter.expired = true;
        this.options.onDeadline();
      }, maxWaitMs);
      this.waiters.splice(position, 0, waiter);
    });
  }

  /** Grants the call at the head of the queue its slot; at least one must wait. */
  grantNext(): void {
    const waiter = this.waiters.shift() as Waiter;
    waiter.cancelDeadline();
    this.inFlightCount += 1;
    let released = false;
    waiter.resolve(() => {
      if (released) return;
      released = true;
      this.inFlightCount -= 1;
      this.options.onRelease();
    });
  }

  /** Refuses every waiter whose deadline has passed with `refusal()`; false when there was none. */
  refuseExpired(refusal: () => RateLimitedError): boolean {
    const expired = this.waiters.filter((w) => w.expired);
    if (expired.length === 0) return false;
    for (const waiter of expired) this.waiters.splice(this.waiters.indexOf(waiter), 1);
    this.report();
    const error = refusal();
    for (const waiter of expired) waiter.reject(error);
    return true;
  }

  /** Tells the listener the queue length if it changed since it was last told. */
  report(): void {
    if (this.waiters.length === this.reportedLength) return;
    this.reportedLength = this.waiters.length;
    this.options.onQueueChange?.(this.waiters.length);
  }
}
