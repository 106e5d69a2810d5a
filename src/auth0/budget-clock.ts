/** Time source and timers, injectable so tests can drive the bucket without waiting. */
export interface BudgetClock {
  now(): number;
  /** Calls `callback` after `delayMs`; returns a function that cancels it. */
  setTimer(callback: () => void, delayMs: number): () => void;
}

export const systemClock: BudgetClock = {
  now: () => Date.now(),
  setTimer(callback, delayMs) {
    const timer = setTimeout(callback, delayMs);
    // A waiting call must not keep a stopping process alive.
    timer.unref();
    return () => clearTimeout(timer);
  },
};
