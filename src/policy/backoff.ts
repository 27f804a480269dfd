import type { Random } from './clock.js';

export interface BackoffOptions {
  /**
   * `exponential`: initial × multiplier^(n−1), capped. `decorrelated`: a random
   * step between the initial delay and three times the previous one (AWS's
   * "decorrelated jitter"), capped. `constant`: always the initial delay.
   */
  readonly kind: 'exponential' | 'decorrelated' | 'constant';
  readonly initialMs: number;
  readonly maxMs: number;
  readonly multiplier: number;
  /** `full`: a uniform draw in [0, delay] — the spread that breaks thundering herds. */
  readonly jitter: 'full' | 'none';
}

/**
 * The delay before retry number `retry` (1 for the first retry). Always within
 * [0, maxMs], whatever the inputs.
 */
export function backoffDelay(
  options: BackoffOptions,
  retry: number,
  previousMs: number,
  random: Random,
): number {
  const { initialMs, maxMs } = options;
  let delay: number;
  switch (options.kind) {
    case 'constant':
      delay = initialMs;
      break;
    case 'decorrelated': {
      const prev = previousMs > 0 ? previousMs : initialMs;
      const hi = Math.max(initialMs, prev * 3);
      return clamp(initialMs + random() * (hi - initialMs), maxMs);
    }
    default:
      delay = initialMs * options.multiplier ** Math.max(0, retry - 1);
  }
  delay = clamp(delay, maxMs);
  return options.jitter === 'full' ? clamp(random() * delay, maxMs) : delay;
}

function clamp(ms: number, maxMs: number): number {
  if (!Number.isFinite(ms) || ms < 0) return maxMs;
  return Math.min(ms, maxMs);
}
