import type { Clock } from './clock.js';
import { SlidingWindow } from './sliding-window.js';

export interface RetryBudgetOptions {
  /** Retries allowed per first attempt over the window (Envoy's 20 %, Finagle's and gRPC's throttling). */
  readonly ratio: number;
  /** Retries always allowed per second, so a quiet dependency can still be retried. */
  readonly minPerSecond: number;
  readonly windowMs: number;
}

/**
 * Caps retries at a ratio of first attempts over a sliding window, so an
 * outage cannot multiply the load on a dependency by the attempt count: with
 * a ratio of 0.2 the worst case is 1.2× the offered load, not 3×.
 */
export class RetryBudget {
  private readonly window: SlidingWindow<'first' | 'retry'>;

  constructor(
    private readonly options: RetryBudgetOptions,
    private readonly clock: Clock,
  ) {
    this.window = new SlidingWindow(options.windowMs, 10, ['first', 'retry'], clock.now());
  }

  recordFirstAttempt(now = this.clock.now()): void {
    this.window.add('first', now);
  }

  /** Takes one retry from the budget if there is one left. */
  tryAcquireRetry(now = this.clock.now()): boolean {
    const firsts = this.window.sum('first', now);
    const retries = this.window.sum('retry', now);
    const allowed = firsts * this.options.ratio + (this.options.minPerSecond * this.options.windowMs) / 1000;
    if (retries + 1 > allowed) return false;
    this.window.add('retry', now);
    return true;
  }
}
