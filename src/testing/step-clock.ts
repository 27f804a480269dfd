import { randomUUID } from 'node:crypto';
import type { Clock, TimerHandle } from '../policy/clock.js';

/**
 * A clock for tests that mix real local HTTP with timeouts: time moves only
 * when `drive` finds no real request in flight (other than those a fake
 * server is deliberately holding), and then only to the next timer. An
 * attempt timeout therefore fires exactly when the server is stalling, never
 * because a healthy request took a few real milliseconds too long.
 */
export interface StepClock extends Clock {
  /** Moves time to the earliest timer and fires it; false when there is none. */
  fireNext(): boolean;
  pending(): number;
}

export function createStepClock(start = 1_700_000_000_000): StepClock {
  let now = start;
  let nextId = 1;
  const timers = new Map<number, { at: number; id: number; callback: () => void }>();
  return {
    now: () => now,
    setTimeout(callback, ms) {
      const id = nextId++;
      timers.set(id, { at: now + Math.max(0, ms), id, callback });
      return id;
    },
    clearTimeout(handle: TimerHandle) {
      timers.delete(handle as number);
    },
    fireNext() {
      let best: { at: number; id: number; callback: () => void } | undefined;
      for (const t of timers.values())
        if (!best || t.at < best.at || (t.at === best.at && t.id < best.id)) best = t;
      if (!best) return false;
      timers.delete(best.id);
      now = Math.max(now, best.at);
      best.callback();
      return true;
    },
    pending: () => timers.size,
  };
}

/**
 * Requests the test's tools have in flight, each tagged with an id the fake
 * servers see in `x-test-request`; a server that holds a request on purpose
 * marks it stalled, which lets time move.
 */
export interface Tracker {
  /** Runs one request with its tag header; counted as in flight until `fn` settles. */
  run<T>(fn: (headers: Record<string, string>) => Promise<T>): Promise<T>;
  stall(id: string): void;
  unstall(id: string): void;
  busy(): boolean;
}

export const TRACK_HEADER = 'x-test-request';

export function createTracker(): Tracker {
  const inFlight = new Set<string>();
  const stalled = new Set<string>();
  return {
    async run(fn) {
      const id = randomUUID();
      inFlight.add(id);
      try {
        return await fn({ [TRACK_HEADER]: id });
      } finally {
        inFlight.delete(id);
      }
    },
    stall: (id) => stalled.add(id),
    unstall: (id) => stalled.delete(id),
    busy() {
      for (const id of inFlight) if (!stalled.has(id)) return true;
      return false;
    },
  };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Settles `promise`, firing timers one at a time whenever no real request is in flight. */
export async function drive<T>(clock: StepClock, tracker: Tracker, promise: Promise<T>): Promise<T> {
  let done = false;
  const tracked = promise.finally(() => {
    done = true;
  });
  tracked.catch(() => {});
  let idleWithoutTimers = 0;
  for (;;) {
    await turn();
    if (done) break;
    if (tracker.busy()) continue;
    // A second turn lets I/O callbacks queued behind the first one land before time moves.
    await turn();
    if (done) break;
    if (tracker.busy()) continue;
    if (clock.fireNext()) {
      idleWithoutTimers = 0;
      continue;
    }
    if (++idleWithoutTimers > 10_000)
      throw new Error('drive: nothing in flight, no timer due, and the promise is still pending');
  }
  return tracked;
}
