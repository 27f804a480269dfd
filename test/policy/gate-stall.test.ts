/**
 * A gate that cannot stall a healthy dependency (issue 13), on the virtual
 * clock: the zero-pace case, the pace returning once the dependency accepts
 * calls again, and callers the gate cannot serve in time let go at once.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RateLimitedError } from '../../src/failure/errors.js';
import type { TimerHandle } from '../../src/policy/clock.js';
import { Gate, type GateOptions } from '../../src/policy/gate.js';
import { sleep } from '../../src/policy/sleep.js';
import { createVirtualClock, type VirtualClock } from '../../src/policy/virtual-clock.js';

const TIMEOUT_MAX = 2_147_483_647;

/**
 * The virtual clock with Node's rule for timers: a delay that is not a
 * number from 1 to 2^31 − 1 becomes 1 ms, with a TimeoutOverflowWarning when
 * it is too large (Infinity included), as `setTimeout` does.
 */
function nodeLikeClock(): VirtualClock {
  const clock = createVirtualClock(0);
  return {
    ...clock,
    setTimeout(callback: () => void, ms: number): TimerHandle {
      if (!(ms >= 1 && ms <= TIMEOUT_MAX)) {
        if (ms > TIMEOUT_MAX)
          process.emitWarning(
            `${ms} does not fit into a 32-bit signed integer.\nTimeout duration was set to 1.`,
            'TimeoutOverflowWarning',
          );
        return clock.setTimeout(callback, 1);
      }
      return clock.setTimeout(callback, ms);
    },
  };
}

let warnings: Error[];
const onWarning = (w: Error) => warnings.push(w);
beforeEach(() => {
  warnings = [];
  process.on('warning', onWarning);
});
afterEach(() => {
  process.off('warning', onWarning);
});

/** A dependency on the virtual clock: `answer()` is undefined when it accepts, or the Retry-After of its 429. */
type Dependency = (now: number) => number | undefined;

interface Herd {
  readonly served: number;
  readonly failures: unknown[];
  /** For each failure, how long its caller had waited at the gate (virtual ms). */
  readonly waitedMs: number[];
  /** Every pace the gate reported, after each 429. */
  readonly paces: Array<number | undefined>;
}

/**
 * `callers` callers, each making calls of `rttMs` through the gate to `dep`
 * until `calls` are served or their deadline passes; a 429'd caller waits
 * its Retry-After and tries again, as the pipeline does.
 */
async function herd(
  clock: VirtualClock,
  g: Gate,
  dep: Dependency,
  o: { callers: number; calls: number; rttMs: number; deadlineMs: number; stopAt?: number },
): Promise<Herd> {
  let next = 0;
  let served = 0;
  const failures: unknown[] = [];
  const waitedMs: number[] = [];
  const paces: Array<number | undefined> = [];
  const caller = async () => {
    while (next < o.calls && clock.now() < (o.stopAt ?? Number.POSITIVE_INFINITY)) {
      next++;
      const deadlineAt = clock.now() + o.deadlineMs;
      try {
        for (;;) {
          const entered = clock.now();
          if (!g.tryEnter(entered))
            await g.enter({ deadlineAt }).catch((err: unknown) => {
              waitedMs.push(clock.now() - entered);
              throw err;
            });
          await sleep(clock, o.rttMs);
          const wait = dep(clock.now());
          if (wait !== undefined) {
            g.rateLimited(wait, clock.now());
            paces.push(g.pacedRatePerSecond);
          }
          g.leave(wait === undefined ? 'answered' : 'rate_limited');
          if (wait === undefined) break;
          await sleep(clock, wait);
        }
        served++;
      } catch (err) {
        failures.push(err);
      }
    }
  };
  await clock.run(Promise.all(Array.from({ length: o.callers }, caller)));
  return { served, failures, waitedMs, paces };
}

function gate(clock: VirtualClock, over: Partial<GateOptions> = {}): Gate {
  return new Gate({ concurrency: 4, maxQueue: 64, queueTimeoutMs: null, rate: null, ...over }, clock);
}

describe('the zero-pace case (issue 13)', () => {
  it('a second 429 just after a short cooldown, nothing accepted between: pace never 0, no overflow warning, everyone served', async () => {
    const clock = nodeLikeClock();
    const g = gate(clock);
    // The first wave is refused with 100 ms; the probe after the cooldown with 120 ms; then everything is accepted.
    let refused = 0;
    const dep: Dependency = () => {
      refused++;
      if (refused <= 4) return 100;
      if (refused === 5) return 120;
      return undefined;
    };
    const { served, failures, paces } = await herd(clock, g, dep, {
      callers: 6,
      calls: 6,
      rttMs: 1,
      deadlineMs: 10_000,
    });
    expect(failures).toEqual([]);
    expect(served).toBe(6);
    for (const pace of paces) if (pace !== undefined) expect(pace).toBeGreaterThan(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.map((w) => w.name)).toEqual([]);
    expect(g.inFlight + g.queued).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
  });
});

/** A token bucket of `perSecond` calls, burst `burst`, that answers 429 with its exact wait, until `healsAt`. */
function limitedUntil(perSecond: number, burst: number, healsAt: number): Dependency {
  let tokens = burst;
  let last = 0;
  return (now) => {
    if (now >= healsAt) return undefined;
    tokens = Math.min(burst, tokens + ((now - last) * perSecond) / 1_000);
    last = now;
    if (tokens >= 1) {
      tokens -= 1;
      return undefined;
    }
    return Math.ceil(((1 - tokens) * 1_000) / perSecond);
  };
}

describe('the pace returns once the dependency accepts calls', () => {
  it('learned at 2/s, then the dependency heals: the gate is back to its concurrency limit within 30 s', async () => {
    const clock = createVirtualClock(0);
    const g = gate(clock);
    const dep = limitedUntil(2, 2, 10_000);
    let learned: number | undefined;
    let paceAt40s: number | undefined = -1;
    let last5s = 0;
    const observed: Dependency = (now) => {
      if (now >= 9_000 && learned === undefined) learned = g.pacedRatePerSecond;
      if (now >= 40_000 && paceAt40s === -1) paceAt40s = g.pacedRatePerSecond;
      const wait = dep(now);
      if (wait === undefined && now >= 35_000 && now < 40_000) last5s++;
      return wait;
    };
    const { failures } = await herd(clock, g, observed, {
      callers: 8,
      calls: Number.POSITIVE_INFINITY,
      rttMs: 10,
      deadlineMs: 60_000,
      stopAt: 40_010,
    });
    expect(failures).toEqual([]);
    expect(learned).toBeGreaterThan(1.5);
    expect(learned).toBeLessThan(3);
    // Four slots, 10 ms a call: 400 calls a second is all the gate's own limit allows.
    expect(paceAt40s).toBeUndefined();
    expect(last5s).toBeGreaterThan(0.9 * 5 * 400);
  });
});

describe('a caller the gate cannot serve in time', () => {
  it('is let go at once as rate_limited, never held until its deadline in the queue', async () => {
    const clock = createVirtualClock(0);
    const g = gate(clock, { concurrency: 8 });
    const dep = limitedUntil(2, 2, Number.POSITIVE_INFINITY);
    // The gate learns the dependency's pace (2 calls a second) from callers with time to spare...
    await herd(clock, g, dep, { callers: 4, calls: 20, rttMs: 10, deadlineMs: 60_000 });
    expect(g.pacedRatePerSecond).toBeGreaterThan(1.5);
    // ...then 12 callers arrive at once whose calls may wait 2 s: the pace cannot serve them all in time.
    const { served, failures, waitedMs } = await herd(clock, g, dep, {
      callers: 12,
      calls: 12,
      rttMs: 10,
      deadlineMs: 2_000,
    });
    expect(served).toBeGreaterThan(0);
    expect(failures.length).toBeGreaterThan(0);
    expect(served + failures.length).toBe(12);
    for (const f of failures) expect(f).toBeInstanceOf(RateLimitedError);
    // Let go at once, on entry: not one waited for its deadline.
    expect(waitedMs.every((ms) => ms === 0)).toBe(true);
  });
});

describe('waits longer than the longest timer', () => {
  it('a 30-day cooldown and a 40-day deadline: no overflow warning, admitted when the cooldown ends, not before', async () => {
    const clock = nodeLikeClock();
    const g = gate(clock, { concurrency: 1 });
    const day = 24 * 60 * 60 * 1000;
    g.cooldown(30 * day);
    let admittedAt: number | undefined;
    const waiter = g.enter({ deadlineAt: 40 * day }).then(() => {
      admittedAt = clock.now();
    });
    await clock.run(waiter, { maxMs: 50 * day });
    expect(admittedAt).toBe(30 * day);
    g.leave('answered');
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.map((w) => w.name)).toEqual([]);
    expect(clock.pendingTimers()).toBe(0);
  });
});
