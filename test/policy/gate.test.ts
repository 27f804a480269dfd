import { describe, expect, it } from 'vitest';
import {
  CancelledError,
  GateRejectedError,
  RateLimitedError,
  TimeoutError,
} from '../../src/failure/errors.js';
import { Gate, type GateOptions } from '../../src/policy/gate.js';
import { createPolicy } from '../../src/policy/pipeline.js';
import { createVirtualClock } from '../../src/policy/virtual-clock.js';
import { caught } from '../fakes/caught.js';

function gate(over: Partial<GateOptions> = {}) {
  const clock = createVirtualClock(0);
  const g = new Gate({ concurrency: 1, maxQueue: 2, queueTimeoutMs: 1_000, rate: null, ...over }, clock);
  return { clock, g };
}

describe('gate', () => {
  it('admits up to the concurrency limit, then queues in order', async () => {
    const { clock, g } = gate();
    expect(g.tryEnter(clock.now())).toBe(true);
    expect(g.tryEnter(clock.now())).toBe(false);
    const order: string[] = [];
    const a = g.enter().then(() => order.push('a'));
    const b = g.enter().then(() => order.push('b'));
    await clock.advance(1);
    expect(order).toEqual([]);
    g.leave();
    await clock.advance(1);
    expect(order).toEqual(['a']);
    g.leave();
    await clock.run(Promise.all([a, b]));
    expect(order).toEqual(['a', 'b']);
  });

  it('rejects at once when the queue is full', async () => {
    const { clock, g } = gate({ maxQueue: 1 });
    g.tryEnter(clock.now());
    const waiting = caught(g.enter());
    const err = await caught(g.enter());
    expect(err).toBeInstanceOf(GateRejectedError);
    expect((err as GateRejectedError).reason).toBe('queue_full');
    await clock.advance(1_000);
    expect(((await waiting) as GateRejectedError).reason).toBe('queue_timeout');
  });

  it('a caller that gives up frees its queue slot at once', async () => {
    const { clock, g } = gate({ maxQueue: 1 });
    g.tryEnter(clock.now());
    const ctrl = new AbortController();
    const gaveUp = caught(g.enter({ signal: ctrl.signal }));
    await clock.advance(1);
    expect(g.queued).toBe(1);
    ctrl.abort();
    expect(await gaveUp).toBeInstanceOf(CancelledError);
    expect(g.queued).toBe(0);
    // The slot it held in the queue is free for the next caller.
    const next = g.enter();
    g.leave();
    await clock.run(next);
    expect(g.inFlight).toBe(1);
  });

  it('a queue wait ends at the deadline as a timeout', async () => {
    const { clock, g } = gate({ queueTimeoutMs: null });
    g.tryEnter(clock.now());
    const err = await clock.run(caught(g.enter({ deadlineAt: 300 })));
    expect(err).toBeInstanceOf(TimeoutError);
    expect(clock.now()).toBe(300);
  });

  it('a cooldown pauses everyone; one longer than the time left fails at once as rate limited', async () => {
    const { clock, g } = gate({ concurrency: 5, queueTimeoutMs: null });
    g.cooldown(2_000);
    expect(g.tryEnter(clock.now())).toBe(false);
    const err = await caught(g.enter({ deadlineAt: 1_000 }));
    expect(err).toBeInstanceOf(RateLimitedError);
    expect(clock.now()).toBe(0);
    await clock.run(g.enter({ deadlineAt: 5_000 }));
    expect(clock.now()).toBe(2_000);
  });

  it('the rate limit spaces admissions by the token rate', async () => {
    const { clock, g } = gate({
      concurrency: null,
      maxQueue: 10,
      queueTimeoutMs: null,
      rate: { limit: 2, intervalMs: 1_000 },
    });
    const times: number[] = [];
    const all = Array.from({ length: 4 }, () =>
      (g.tryEnter(clock.now()) ? Promise.resolve() : g.enter()).then(() => times.push(clock.now())),
    );
    await clock.run(Promise.all(all));
    expect(times).toEqual([0, 0, 500, 1_000]);
  });

  it('through a policy, a caller aborted in the queue never runs and leaves the slot to the next', async () => {
    const clock = createVirtualClock(0);
    const policy = createPolicy({ gate: { concurrency: 1, maxQueue: 5 } }, { clock });
    let release!: () => void;
    const holder = policy.run(() => new Promise<void>((r) => (release = r)));
    const ctrl = new AbortController();
    let ran = false;
    const aborted = caught(
      policy.run(
        async () => {
          ran = true;
        },
        { signal: ctrl.signal },
      ),
    );
    const third = policy.run(async () => 'third');
    await clock.advance(1);
    ctrl.abort();
    expect(await aborted).toBeInstanceOf(CancelledError);
    release();
    expect(await clock.run(third)).toBe('third');
    await holder;
    expect(ran).toBe(false);
  });
});
