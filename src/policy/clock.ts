/**
 * Every policy reads time and schedules timers through a `Clock`, so tests
 * drive a 30-second breaker in microseconds with a virtual clock and nothing
 * depends on wall time. The system clock's timers are `unref`'d: a pending
 * backoff or timeout never keeps the process alive.
 */
export type TimerHandle = unknown;

export interface Clock {
  /** Milliseconds since the epoch (or since the virtual clock's origin). */
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemClock: Clock = {
  now: Date.now,
  setTimeout(callback, ms) {
    const t = setTimeout(callback, ms);
    t.unref();
    return t;
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

/** A source of uniform numbers in [0, 1); injectable so jitter is reproducible. */
export type Random = () => number;
