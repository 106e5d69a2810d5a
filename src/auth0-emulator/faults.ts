// Fault rules, matched per route and consumed in the order they were added.
import type { FaultRule, Faults, RouteName } from './types.js';

interface ActiveRule {
  rule: FaultRule;
  remaining: number;
}

export class FaultInjector implements Faults {
  private rules: ActiveRule[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();

  add(rule: FaultRule): void {
    const times = rule.times ?? 1;
    if (!Number.isInteger(times) || times < 1) throw new Error('FaultRule.times must be a positive integer');
    this.rules.push({ rule: { ...rule }, remaining: times });
  }

  clear(): void {
    this.rules = [];
  }

  /** The first live rule for this route (or '*'), consumed once; undefined when none applies. */
  take(route: RouteName | 'unknown'): FaultRule | undefined {
    const active = this.rules.find(
      (r) => r.remaining > 0 && (r.rule.route === '*' || r.rule.route === route),
    );
    if (!active) return undefined;
    active.remaining -= 1;
    if (active.remaining === 0) this.rules = this.rules.filter((r) => r !== active);
    return active.rule;
  }

  /** Resolves after `ms`; the timer is cancelled (and never resolves) when the emulator closes. */
  delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  cancelTimers(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
