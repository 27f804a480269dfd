/**
 * What the gate learns from 429s: the cooldown is in place before a 429'd
 * call's slot wakes anyone, callers who cannot wait that long are let go at
 * once, and after a cooldown waiters are admitted at the dependency's pace
 * instead of all at once. The last tests drive a simulated token-bucket
 * dependency on a virtual clock, so their figures are exact, not timings.
 */
import { describe, expect, it } from 'vitest';
import { RateLimitedError } from '../../src/failure/errors.js';
import { Gate, type GateOptions } from '../../src/policy/gate.js';
import { sleep } from '../../src/policy/sleep.js';
import { createVirtualClock, type VirtualClock } from '../../src/policy/virtual-clock.js';

function gate(over: Partial<GateOptions> = {}) {
  const clock = createVirtualClock(0);
  const g = new Gate({ concurrency: 8, maxQueue: 64, queueTimeoutMs: null, rate: null, ...over }, clock);
  return { clock, g };
}

describe('gate cooldown after a 429', () => {
  it('keeps the slot of a 429 from waking a waiter before the cooldown ends', async () => {
    const { clock, g } = gate({ concurrency: 1 });
    expect(g.tryEnter(clock.now())).toBe(true);
    let admitted = false;
    const waiter = g.enter().then(() => {
      admitted = true;
    });
    // As the pipeline does it: the cooldown first, then the slot back.
    g.rateLimited(200, clock.now());
    g.leave('rate_limited');
    await clock.advance(199);
    expect(admitted).toBe(false);
    await clock.advance(1);
    await waiter;
    expect(admitted).toBe(true);
  });

  it('lets go at once, rate limited, every waiter who would give up before the cooldown ends', async () => {
    const { clock, g } = gate({ concurrency: 1 });
    g.tryEnter(clock.now());
    const short = g.enter({ deadlineAt: 100 }).catch((e: unknown) => e);
    const long = g.enter({ deadlineAt: 10_000 }).then(() => 'admitted');
    await clock.advance(1);
    g.rateLimited(5_000, clock.now());
    const err = await short;
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).failure.delivery).toBe('not_sent');
    expect(clock.now()).toBe(1);
    g.leave('rate_limited');
    expect(await clock.run(long)).toBe('admitted');
    expect(clock.now()).toBeGreaterThanOrEqual(5_001);
  });

  it('after the first cooldown, admits one call, then more as the dependency accepts them (a slow start)', async () => {
    const { clock, g } = gate({ concurrency: 4 });
    // Four in flight meet the limit: the ramp will double up to two, then add one per round trip.
    for (let i = 0; i < 4; i++) expect(g.tryEnter(clock.now())).toBe(true);
    let admitted = 0;
    const waiters = Array.from({ length: 8 }, () => g.enter().then(() => admitted++));
    g.rateLimited(100, clock.now());
    for (let i = 0; i < 4; i++) g.leave('rate_limited');
    await clock.advance(99);
    expect(admitted).toBe(0);
    await clock.advance(1);
    expect(admitted).toBe(1);
    g.leave('answered');
    await clock.advance(1);
    expect(admitted).toBe(3);
    g.leave('answered');
    g.leave('answered');
    await clock.advance(1);
    // 2 + 1/2 + 1/2.5: still two in flight, not three.
    expect(admitted).toBe(5);
    // Linear from here, and never past the gate's own limit: the ramp ends there.
    while (admitted < 8) {
      expect(g.inFlight).toBeLessThanOrEqual(4);
      g.leave('answered');
      await clock.advance(1);
    }
    await Promise.all(waiters);
    while (g.inFlight > 0) g.leave('answered');
  });
});

interface Simulated {
  /** Virtual ms until the last call was answered. */
  readonly elapsedMs: number;
  readonly limited: number;
}

/**
 * `calls` calls from `concurrency` callers through the gate to a dependency
 * that allows `rate` calls per second with a burst of `burst`, answering 429
 * with its exact wait (`precise`) or that wait rounded up to whole seconds,
 * each call taking `rttMs`. A 429'd caller waits its Retry-After and tries again.
 */
async function simulate(
  clock: VirtualClock,
  g: Gate,
  o: { precise: boolean; rttMs: number },
): Promise<Simulated> {
  const rate = 20;
  const burst = 20;
  const calls = 200;
  let tokens = burst;
  let last = clock.now();
  let limited = 0;
  let next = 0;
  const serve = (): number | undefined => {
    const now = clock.now();
    tokens = Math.min(burst, tokens + ((now - last) * rate) / 1_000);
    last = now;
    if (tokens >= 1) {
      tokens -= 1;
      return undefined;
    }
    limited++;
    const ms = Math.ceil(((1 - tokens) * 1_000) / rate);
    return o.precise ? ms : Math.ceil(ms / 1_000) * 1_000;
  };
  const caller = async () => {
    while (next < calls) {
      next++;
      for (;;) {
        if (!g.tryEnter(clock.now())) await g.enter();
        await sleep(clock, o.rttMs / 2);
        const wait = serve();
        await sleep(clock, o.rttMs / 2);
        if (wait !== undefined) g.rateLimited(wait, clock.now());
        g.leave(wait === undefined ? 'answered' : 'rate_limited');
        if (wait === undefined) break;
        await sleep(clock, wait);
      }
    }
  };
  const start = clock.now();
  await clock.run(Promise.all(Array.from({ length: 20 }, caller)));
  return { elapsedMs: clock.now() - start, limited };
}

describe('gate pacing against a rate-limited dependency (20/s, burst 20, 200 calls, 20 callers)', () => {
  // The best possible finish: the burst at once, then one call per 50 ms.
  const bestMs = 9_000;

  for (const precise of [true, false]) {
    for (const rttMs of [1, 20, 100]) {
      it(`finishes within 5 % of the best possible time with few 429s (${precise ? 'retry-after-ms' : 'retry-after in whole seconds'}, ${rttMs} ms calls)`, async () => {
        const { clock, g } = gate({ concurrency: 16, maxQueue: 256 });
        const { elapsedMs, limited } = await simulate(clock, g, { precise, rttMs });
        expect(elapsedMs).toBeLessThanOrEqual(bestMs * 1.05);
        expect(limited).toBeLessThan(40);
        expect(g.pacedRatePerSecond).toBeGreaterThan(18);
        // The pace steps up while no 429 answers it (5 %, then 10 %, ...): at the end it may be a step above.
        expect(g.pacedRatePerSecond).toBeLessThan(24);
      });
    }
  }
});
