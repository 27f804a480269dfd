import { describe, expect, it } from 'vitest';
import {
  createHedger,
  type HedgeEvent,
  type HedgeTask,
  resolveHedgeOptions,
} from '../../src/policy/hedge.js';
import { LatencyTracker } from '../../src/policy/latency-tracker.js';
import { createVirtualClock, type VirtualClock } from '../../src/policy/virtual-clock.js';

/** A request that answers `value` (or fails) after `ms` on the clock, and rejects when aborted. */
function task<T>(
  clock: VirtualClock,
  ms: number,
  value: T,
  log: { started: number[]; aborted: unknown[] },
  fail = false,
): HedgeTask<T> {
  return (signal) =>
    new Promise<T>((resolve, reject) => {
      log.started.push(clock.now());
      const t = clock.setTimeout(
        () => (fail ? reject(new Error(`failed: ${String(value)}`)) : resolve(value)),
        ms,
      );
      signal.addEventListener('abort', () => {
        log.aborted.push(signal.reason);
        clock.clearTimeout(t);
        reject(signal.reason);
      });
    });
}

function setup(options = {}) {
  const clock = createVirtualClock(0);
  const events: HedgeEvent[] = [];
  const hedger = createHedger({ afterMs: 100, ...options }, { clock, observer: (e) => events.push(e) });
  const log = { started: [] as number[], aborted: [] as unknown[] };
  return { clock, events, hedger, log };
}

describe('hedge options', () => {
  it('names the field and what was wrong', () => {
    expect(() => resolveHedgeOptions({ afterMs: -1 })).toThrow(/hedge\.afterMs: expected a non-negative/);
    expect(() => resolveHedgeOptions({ percentile: 0 }, 'groups.smart.hedge')).toThrow(
      /groups\.smart\.hedge\.percentile: expected a number in \(0, 1\]/,
    );
    expect(() => resolveHedgeOptions({ budget: 1.5 })).toThrow(/hedge\.budget: expected a share/);
    expect(() => resolveHedgeOptions({ minPerSecond: Number.NaN })).toThrow(/hedge\.minPerSecond/);
    expect(() => resolveHedgeOptions({ delay: 5 } as never)).toThrow(/hedge\.delay: unknown option/);
    expect(() => resolveHedgeOptions(null as never)).toThrow(/hedge: expected an object, got null/);
  });

  it('defaults: 2 s, 10 % of calls, one a second', () => {
    expect(resolveHedgeOptions({})).toMatchObject({ afterMs: 2_000, budget: 0.1, minPerSecond: 1 });
  });
});

describe('createHedger', () => {
  it('a primary that answers before the delay sends no hedge and leaves no timer', async () => {
    const { clock, hedger, log, events } = setup();
    const alt = task(clock, 10, 'hedge', log);
    const value = await clock.run(hedger.run(task(clock, 99, 'primary', log), { alternative: () => alt }));
    expect(value).toBe('primary');
    expect(log.started).toEqual([0]);
    expect(events).toEqual([]);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('a slow primary is hedged at the delay; the hedge wins and the primary is aborted', async () => {
    const { clock, hedger, log, events } = setup();
    const value = await clock.run(
      hedger.run(task(clock, 1_000, 'primary', log), { alternative: () => task(clock, 50, 'hedge', log) }),
    );
    expect(value).toBe('hedge');
    expect(log.started).toEqual([0, 100]);
    expect(log.aborted).toHaveLength(1);
    expect(clock.now()).toBe(150);
    expect(events).toEqual([
      { type: 'hedge', delayMs: 100 },
      { type: 'hedge.won', delayMs: 100, elapsedMs: 150 },
    ]);
    expect(hedger.stats()).toEqual({ calls: 1, hedges: 1, won: 1, denied: 0 });
  });

  it('the primary can still win after the hedge was sent; the hedge is aborted', async () => {
    const { clock, hedger, log, events } = setup();
    const value = await clock.run(
      hedger.run(task(clock, 120, 'primary', log), { alternative: () => task(clock, 500, 'hedge', log) }),
    );
    expect(value).toBe('primary');
    expect(log.aborted).toHaveLength(1);
    expect(events.map((e) => e.type)).toEqual(['hedge']);
  });

  it('a failure is not a win: the other request is awaited', async () => {
    const { clock, hedger, log } = setup();
    const value = await clock.run(
      hedger.run(task(clock, 150, 'primary', log, true), {
        alternative: () => task(clock, 300, 'hedge', log),
      }),
    );
    expect(value).toBe('hedge');
    expect(clock.now()).toBe(400);
    expect(log.aborted).toHaveLength(0);
  });

  it("both failing throws the primary's error", async () => {
    const { clock, hedger, log } = setup();
    const run = hedger.run(task(clock, 500, 'primary', log, true), {
      alternative: () => task(clock, 10, 'hedge', log, true),
    });
    await expect(clock.run(run)).rejects.toThrow('failed: primary');
  });

  it('a primary failing before the delay fails the call without a hedge', async () => {
    const { clock, hedger, log } = setup();
    const run = hedger.run(task(clock, 50, 'primary', log, true), {
      alternative: () => task(clock, 10, 'hedge', log),
    });
    await expect(clock.run(run)).rejects.toThrow('failed: primary');
    expect(log.started).toEqual([0]);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('no alternative: no hedge, no budget spent', async () => {
    const { clock, hedger, log, events } = setup({ budget: 0, minPerSecond: 0 });
    const value = await clock.run(
      hedger.run(task(clock, 500, 'primary', log), { alternative: () => undefined }),
    );
    expect(value).toBe('primary');
    expect(events).toEqual([{ type: 'hedge.skipped', reason: 'no_alternative' }]);
  });

  it('the budget caps hedges at its share of calls plus its minimum', async () => {
    const { clock, hedger, log } = setup({ budget: 0.1, minPerSecond: 0 });
    const calls = Array.from({ length: 40 }, () =>
      hedger.run(task(clock, 500, 'primary', log), { alternative: () => task(clock, 10, 'hedge', log) }),
    );
    await clock.run(Promise.all(calls));
    expect(hedger.stats()).toMatchObject({ calls: 40, hedges: 4, denied: 36 });
  });

  it('the caller aborting aborts both requests', async () => {
    const { clock, hedger, log } = setup();
    const caller = new AbortController();
    const run = hedger.run(task(clock, 1_000, 'primary', log), {
      signal: caller.signal,
      alternative: () => task(clock, 1_000, 'hedge', log),
    });
    run.catch(() => undefined);
    await clock.advance(200);
    caller.abort(new Error('caller'));
    await expect(run).rejects.toThrow('caller');
    expect(log.aborted).toHaveLength(2);
  });

  it('an observer that throws changes nothing', async () => {
    const clock = createVirtualClock(0);
    const log = { started: [] as number[], aborted: [] as unknown[] };
    const hedger = createHedger(
      { afterMs: 100 },
      {
        clock,
        observer: () => {
          throw new Error('observer bug');
        },
      },
    );
    const value = await clock.run(
      hedger.run(task(clock, 1_000, 'primary', log), { alternative: () => task(clock, 50, 'hedge', log) }),
    );
    expect(value).toBe('hedge');
    expect(log.aborted).toHaveLength(1);
  });

  it('with a percentile, hedges after that percentile of recent latency once enough are known', async () => {
    const clock = createVirtualClock(0);
    const latencies = new LatencyTracker();
    const hedger = createHedger({ afterMs: 1_000, percentile: 0.9 }, { clock, latencies });
    expect(hedger.delayMs()).toBe(1_000);
    for (let i = 1; i <= 19; i++) latencies.record(i * 10);
    expect(hedger.delayMs()).toBe(1_000); // 19 samples: not enough yet
    latencies.record(200);
    expect(hedger.delayMs()).toBe(180);
  });
});

describe('LatencyTracker', () => {
  it('keeps the last `size` samples', () => {
    const t = new LatencyTracker(3);
    for (const ms of [1000, 1, 2, 3]) t.record(ms);
    expect(t.count).toBe(3);
    expect(t.percentile(1)).toBe(3);
    expect(t.percentile(0.34)).toBe(2);
    expect(() => new LatencyTracker(0)).toThrow(/size: expected a positive integer/);
  });
});
