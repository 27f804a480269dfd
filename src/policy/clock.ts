/**
 * Every policy reads time and schedules timers through a `Clock`, so tests
 * drive a 30-second breaker in microseconds with a virtual clock and nothing
 * depends on wall time.
 *
 * The system clock's timers are deliberately *not* `unref`'d: a backoff that
 * someone awaits is pending work, and an unref'd one lets a script exit in the
 * middle of a retry (exit code 13 under top-level await). Instead every timer
 * a policy starts is cleared (or, for the shared attempt-timeout timer,
 * unref'd) the moment its operation ends, and breakers and cooldowns keep no
 * timer at all, so nothing holds the process after the last call.
 */
export type TimerHandle = unknown;

export interface Clock {
  /** Milliseconds since the epoch (or since the virtual clock's origin). */
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  /** Lets a pending timer hold the process open again (optional: virtual clocks ignore it). */
  ref?(handle: TimerHandle): void;
  /** Stops a pending timer from holding the process open. */
  unref?(handle: TimerHandle): void;
}

export const systemClock: Clock = {
  now: Date.now,
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
  ref(handle) {
    (handle as ReturnType<typeof setTimeout>).ref();
  },
  unref(handle) {
    (handle as ReturnType<typeof setTimeout>).unref();
  },
};

/** A source of uniform numbers in [0, 1); injectable so jitter is reproducible. */
export type Random = () => number;
