import { cacheReadiness } from '../../../src/auth0/readiness.js';

describe('cacheReadiness', () => {
  it('runs one check for concurrent probes and reuses its answer until the interval has passed', async () => {
    let now = 0;
    let checks = 0;
    let release: (ready: boolean) => void = () => undefined;
    const check = () => {
      checks++;
      return new Promise<boolean>((resolve) => (release = resolve));
    };
    const probe = cacheReadiness(check, { ttlMs: 5000, now: () => now });

    const first = Array.from({ length: 50 }, () => probe());
    release(true);
    expect(await Promise.all(first)).toEqual(Array(50).fill(true));
    expect(checks).toBe(1);

    now = 4999;
    expect(await probe()).toBe(true);
    expect(checks).toBe(1);

    now = 5000;
    const next = probe();
    release(false);
    expect(await next).toBe(false);
    expect(checks).toBe(2);
  });

  it('does not keep a failed check: the next probe checks again', async () => {
    let calls = 0;
    const probe = cacheReadiness(async () => {
      calls++;
      if (calls === 1) throw new Error('boom');
      return true;
    });
    await expect(probe()).rejects.toThrow('boom');
    await expect(probe()).resolves.toBe(true);
  });
});
