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
  /**
   * Milliseconds on a clock that never steps: durations, deadlines and open
   * periods are differences of two readings. (The system clock's readings
   * start near the epoch, but are not the wall clock: compare them only with
   * each other, never with `Date.now()` or another process's.)
   */
  now(): number;
  /**
   * The wall clock, read only to notice time this process did not see pass:
   * the monotonic clock stops while the host is suspended (a laptop asleep, a
   * paused VM), the wall clock does not. Optional: without it, such time goes
   * unnoticed.
   */
  wallNow?(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  /** Lets a pending timer hold the process open again (optional: virtual clocks ignore it). */
  ref?(handle: TimerHandle): void;
  /** Stops a pending timer from holding the process open. */
  unref?(handle: TimerHandle): void;
}

/**
 * Anchored once to the wall clock, then driven by `performance.now()`: an NTP
 * step or a manual change of the system time (10 s back, say) must not make a
 * 500 ms attempt timeout last 10.5 s, nor hold a breaker open 11 s. The wall
 * clock is read only where the wire needs it (HTTP dates); state shared
 * between processes takes its time from Redis, so they agree.
 */
const origin = performance.timeOrigin;

export const systemClock: Clock = {
  now: () => origin + performance.now(),
  wallNow: () => Date.now(),
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
