/**
 * The virtual clock as a test fixture, for vitest and node:test alike: the
 * runner's own `beforeEach`/`afterEach` are passed in, so this module imports
 * neither runner. Each test gets a fresh clock behind the same object, so
 * policies built at the top of a file keep working across tests.
 */
import type { TimerHandle } from '../policy/clock.js';
import { createVirtualClock, type VirtualClock } from '../policy/virtual-clock.js';

type Hook = (fn: () => void | Promise<void>) => unknown;

/** The hooks of a test runner: vitest's and node:test's both fit. */
export interface TestHooks {
  readonly beforeEach: Hook;
  readonly afterEach: Hook;
}

export interface TestClockOptions {
  /** Where each test's time starts. Default 0. */
  readonly start?: number;
  /**
   * Fail a test that ends with timers still pending: a retry or a timeout of
   * an operation the test never awaited. Default false.
   */
  readonly failOnPendingTimers?: boolean;
}

export interface TestClock extends VirtualClock {
  /** Milliseconds of virtual time since the current test began. */
  elapsed(): number;
  /** Settles `promise` as `run` does, returning its outcome instead of throwing. */
  settle<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }>;
}

/** A virtual clock that starts afresh before each test of the runner whose hooks are given. */
export function useVirtualClock(hooks: TestHooks, options: TestClockOptions = {}): TestClock {
  const start = options.start ?? 0;
  let current = createVirtualClock(start);
  hooks.beforeEach(() => {
    current = createVirtualClock(start);
  });
  hooks.afterEach(() => {
    const pending = current.pendingTimers();
    if (options.failOnPendingTimers && pending > 0)
      throw new Error(
        `useVirtualClock: the test ended with ${pending} timer(s) pending (an operation it never awaited)`,
      );
  });
  return {
    now: () => current.now(),
    setTimeout: (callback: () => void, ms: number) => current.setTimeout(callback, ms),
    clearTimeout: (handle: TimerHandle) => current.clearTimeout(handle),
    advance: (ms) => current.advance(ms),
    run: (promise, o) => current.run(promise, o),
    pendingTimers: () => current.pendingTimers(),
    nextTimerIn: () => current.nextTimerIn(),
    elapsed: () => current.now() - start,
    async settle(promise) {
      try {
        return { ok: true, value: await current.run(promise) };
      } catch (error) {
        return { ok: false, error };
      }
    },
  };
}
