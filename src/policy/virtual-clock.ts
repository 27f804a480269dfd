import type { Clock, TimerHandle } from './clock.js';

interface VirtualTimer {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

export interface VirtualClock extends Clock {
  /** Moves time forward by `ms`, firing due timers in order and letting promises settle between them. */
  advance(ms: number): Promise<void>;
  /** Fires timers (advancing time to each) until `promise` settles; returns its result. */
  run<T>(promise: Promise<T>, options?: { maxMs?: number }): Promise<T>;
  /** Timers not yet fired. */
  pendingTimers(): number;
  /** How far the next timer is from now, or undefined when none is pending. */
  nextTimerIn(): number | undefined;
}

/** Lets every queued microtask and I/O callback run before time moves on. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A clock for tests: time stands still until the test moves it. Between two
 * timers it drains promise chains, so async retry loops progress the way they
 * would in real time, without the fake-timer traps of Jest or Sinon.
 */
export function createVirtualClock(start = 0): VirtualClock {
  let now = start;
  let nextId = 1;
  const timers = new Map<number, VirtualTimer>();

  const nextDue = (limit: number): VirtualTimer | undefined => {
    let best: VirtualTimer | undefined;
    for (const t of timers.values()) {
      if (t.at <= limit && (best === undefined || t.at < best.at || (t.at === best.at && t.id < best.id)))
        best = t;
    }
    return best;
  };

  const clock: VirtualClock = {
    now: () => now,
    setTimeout(callback, ms) {
      const id = nextId++;
      timers.set(id, { id, at: now + Math.max(0, ms), callback });
      return id;
    },
    clearTimeout(handle: TimerHandle) {
      timers.delete(handle as number);
    },
    async advance(ms) {
      const until = now + ms;
      await settle();
      for (let t = nextDue(until); t; t = nextDue(until)) {
        timers.delete(t.id);
        now = Math.max(now, t.at);
        t.callback();
        await settle();
      }
      now = until;
      await settle();
    },
    async run(promise, options) {
      const maxMs = options?.maxMs ?? 24 * 60 * 60 * 1000;
      const limit = now + maxMs;
      let done = false;
      const tracked = promise.finally(() => {
        done = true;
      });
      tracked.catch(() => {});
      await settle();
      while (!done) {
        const t = nextDue(limit);
        if (!t) break;
        timers.delete(t.id);
        now = Math.max(now, t.at);
        t.callback();
        await settle();
      }
      if (!done) throw new Error(`virtual clock: promise still pending with no timer due within ${maxMs} ms`);
      return tracked;
    },
    pendingTimers: () => timers.size,
    nextTimerIn() {
      const t = nextDue(Number.POSITIVE_INFINITY);
      return t === undefined ? undefined : Math.max(0, t.at - now);
    },
  };
  return clock;
}
