import { DeliveryScheduler, type ScheduledMessage } from '../../../src/events/delivery-scheduler.js';
import type { AttemptOutcome } from '../../../src/events/webhook-delivery.js';

const message = (key: string, primaryId: string): ScheduledMessage => ({
  key,
  webhookId: `msg_${key}`,
  primaryId,
  body: '{}',
  attempts: 0,
  nextAttemptAt: 0,
});

/** A scheduler whose attempts answer from `script` (per webhook id, in order; then success). */
function harness(script: Record<string, boolean[]>, delays = [1, 1]) {
  const log: string[] = [];
  let settle: () => void = () => undefined;
  const allSettled = (count: number) =>
    new Promise<void>((resolve) => {
      settle = () => {
        if (log.filter((l) => l.startsWith('delivered') || l.startsWith('dead')).length >= count) resolve();
      };
    });
  const scheduler = new DeliveryScheduler(delays, {
    attempt: async (m, n): Promise<AttemptOutcome> => {
      const ok = script[m.webhookId]?.[n - 1] ?? true;
      log.push(`attempt ${m.webhookId} ${n}`);
      return ok ? { ok: true, status: 204 } : { ok: false, error: 'HTTP 503' };
    },
    delivered: async (m) => void log.push(`delivered ${m.webhookId}`),
    retrying: async (m) => void log.push(`retrying ${m.webhookId} ${m.attempts}`),
    dead: async (m) => void log.push(`dead ${m.webhookId} ${m.attempts}`),
    settled: () => settle(),
  });
  return { scheduler, log, allSettled };
}

describe('DeliveryScheduler', () => {
  it('keeps a primary in order: its next message waits while the first is retried', async () => {
    const { scheduler, log, allSettled } = harness({ msg_1: [false, false, true] });
    const done = allSettled(2);
    scheduler.add(message('1', 'p'));
    scheduler.add(message('2', 'p'));
    await done;
    expect(log).toEqual([
      'attempt msg_1 1',
      'retrying msg_1 1',
      'attempt msg_1 2',
      'retrying msg_1 2',
      'attempt msg_1 3',
      'delivered msg_1',
      'attempt msg_2 1',
      'delivered msg_2',
    ]);
  });

  it('dead-letters after the last delay of the schedule, then goes on with the primary', async () => {
    const { scheduler, log, allSettled } = harness({ msg_1: [false, false, false] });
    const done = allSettled(2);
    scheduler.add(message('1', 'p'));
    scheduler.add(message('2', 'p'));
    await done;
    expect(log.filter((l) => !l.startsWith('attempt'))).toEqual([
      'retrying msg_1 1',
      'retrying msg_1 2',
      'dead msg_1 3',
      'delivered msg_2',
    ]);
  });

  it('ignores a key it already holds (an entry claimed twice is delivered once)', async () => {
    const { scheduler, log, allSettled } = harness({});
    const done = allSettled(2);
    expect(scheduler.add(message('1', 'p'))).toBe(true);
    expect(scheduler.add(message('1', 'p'))).toBe(false);
    // Another key behind it on the same primary: it settles only after everything queued before it.
    expect(scheduler.add(message('2', 'p'))).toBe(true);
    await done;
    expect(log).toEqual(['attempt msg_1 1', 'delivered msg_1', 'attempt msg_2 1', 'delivered msg_2']);
  });

  it('lets a primary go on while another primary waits for its retry', async () => {
    // msg_1's retry waits an hour: msg_2 of another primary is delivered meanwhile.
    const { scheduler, log, allSettled } = harness({ msg_1: [false] }, [3_600_000]);
    const done = allSettled(1);
    scheduler.add(message('1', 'p'));
    scheduler.add(message('2', 'q'));
    await done;
    expect(log).toEqual(['attempt msg_1 1', 'attempt msg_2 1', 'retrying msg_1 1', 'delivered msg_2']);
    await scheduler.stop();
  });

  it('keeps at most maxConcurrentAttempts attempts in flight; the others wait for a slot', async () => {
    let inFlight = 0;
    let most = 0;
    const held: (() => void)[] = [];
    let settled = 0;
    const scheduler = new DeliveryScheduler(
      [],
      {
        attempt: async (): Promise<AttemptOutcome> => {
          inFlight += 1;
          most = Math.max(most, inFlight);
          await new Promise<void>((release) => held.push(release));
          inFlight -= 1;
          return { ok: true, status: 204 };
        },
        delivered: async () => undefined,
        retrying: async () => undefined,
        dead: async () => undefined,
        settled: () => void (settled += 1),
      },
      { maxConcurrentAttempts: 3 },
    );
    for (let i = 0; i < 7; i += 1) scheduler.add(message(String(i), `p${i}`));
    await new Promise((resolve) => setImmediate(resolve));
    expect(held).toHaveLength(3);
    while (settled < 7) {
      held.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(most).toBe(3);
    expect(scheduler.size).toBe(0);
  });

  it('resolves whenBelow once enough messages settled, and at stop', async () => {
    const { scheduler, allSettled } = harness({ msg_3: [false] }, [3_600_000]);
    const done = allSettled(2);
    scheduler.add(message('1', 'p'));
    scheduler.add(message('2', 'q'));
    scheduler.add(message('3', 'r'));
    const belowTwo = scheduler.whenBelow(2);
    await done;
    await belowTwo;
    expect(scheduler.size).toBe(1);
    const belowOne = scheduler.whenBelow(1);
    await scheduler.stop();
    await belowOne;
    expect(scheduler.heldWebhookIds()).toEqual([]);
  });
});
