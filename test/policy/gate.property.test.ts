/**
 * The gate's parts together, under random load on the virtual clock: random
 * limits, callers with random deadlines, aborts and call lengths, and 429s
 * with random waits. Whatever happens, no more calls are in flight than the
 * limit allows, every caller is let in or turned away exactly once with a
 * typed error, by its deadline, and the gate ends empty with no timer left.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isBreakwaterError } from '../../src/failure/errors.js';
import { Gate } from '../../src/policy/gate.js';
import { sleep } from '../../src/policy/sleep.js';
import { createVirtualClock } from '../../src/policy/virtual-clock.js';

const callerArb = fc.record({
  startAt: fc.integer({ min: 0, max: 2_000 }),
  deadlineMs: fc.option(fc.integer({ min: 0, max: 5_000 }), { nil: undefined }),
  abortAfterMs: fc.option(fc.integer({ min: 0, max: 3_000 }), { nil: undefined, freq: 4 }),
  holdMs: fc.integer({ min: 0, max: 300 }),
  retryAfterMs: fc.option(fc.integer({ min: 1, max: 3_000 }), { nil: undefined, freq: 3 }),
});

const gateArb = fc.record({
  concurrency: fc.option(fc.integer({ min: 1, max: 4 }), { nil: null }),
  maxQueue: fc.integer({ min: 0, max: 8 }),
  queueTimeoutMs: fc.option(fc.integer({ min: 10, max: 2_000 }), { nil: null }),
  rate: fc.option(
    fc.record({ limit: fc.integer({ min: 1, max: 5 }), intervalMs: fc.integer({ min: 50, max: 1_000 }) }),
    { nil: null },
  ),
});

describe('gate under random load', () => {
  it('keeps its limit, ends every wait once and by its deadline, and leaves nothing behind', async () => {
    await fc.assert(
      fc.asyncProperty(
        gateArb,
        fc.array(callerArb, { minLength: 1, maxLength: 20 }),
        async (options, callers) => {
          const clock = createVirtualClock(0);
          const g = new Gate(options, clock);
          const problems: string[] = [];
          const one = async (c: (typeof callers)[number], i: number) => {
            await sleep(clock, c.startAt);
            const deadlineAt = c.deadlineMs === undefined ? undefined : clock.now() + c.deadlineMs;
            const ctrl = new AbortController();
            const abort =
              c.abortAfterMs === undefined ? undefined : clock.setTimeout(() => ctrl.abort(), c.abortAfterMs);
            let settled = 0;
            try {
              if (!g.tryEnter(clock.now())) await g.enter({ signal: ctrl.signal, deadlineAt });
              settled++;
            } catch (err) {
              settled++;
              if (!isBreakwaterError(err)) problems.push(`caller ${i}: untyped ${String(err)}`);
              if (deadlineAt !== undefined && clock.now() > deadlineAt)
                problems.push(`caller ${i}: turned away at ${clock.now()}, after its deadline ${deadlineAt}`);
              if (abort !== undefined) clock.clearTimeout(abort);
              return;
            }
            if (abort !== undefined) clock.clearTimeout(abort);
            if (settled !== 1) problems.push(`caller ${i}: settled ${settled} times`);
            if (options.concurrency !== null && g.inFlight > options.concurrency)
              problems.push(`caller ${i}: ${g.inFlight} in flight, limit ${options.concurrency}`);
            await sleep(clock, c.holdMs);
            if (c.retryAfterMs !== undefined) g.rateLimited(c.retryAfterMs, clock.now());
            g.leave(c.retryAfterMs === undefined ? 'answered' : 'rate_limited');
            const pace = g.pacedRatePerSecond;
            if (pace !== undefined && !(pace > 0 && Number.isFinite(pace))) problems.push(`pace ${pace}`);
          };
          await clock.run(Promise.all(callers.map(one)));
          expect(problems).toEqual([]);
          expect(g.inFlight).toBe(0);
          expect(g.queued).toBe(0);
          expect(clock.pendingTimers()).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
