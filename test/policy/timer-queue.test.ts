import fc from 'fast-check';
import { expect, it } from 'vitest';
import { TimerQueue, timerEntry } from '../../src/policy/timer-queue.js';
import { createVirtualClock } from '../../src/policy/virtual-clock.js';

it('property: every entry fires once, at its due time, unless removed first', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          at: fc.integer({ min: 0, max: 500 }),
          delay: fc.integer({ min: 0, max: 1_000 }),
          removeAfter: fc.option(fc.integer({ min: 0, max: 1_500 })),
        }),
        { maxLength: 30 },
      ),
      async (plan) => {
        const clock = createVirtualClock(0);
        const q = new TimerQueue(clock);
        const fired: Array<{ i: number; at: number }> = [];
        plan.forEach((p, i) => {
          clock.setTimeout(() => {
            const e = timerEntry(() => fired.push({ i, at: clock.now() }));
            q.add(e, p.delay, clock.now());
            if (p.removeAfter !== null) clock.setTimeout(() => q.remove(e), p.removeAfter);
          }, p.at);
        });
        await clock.advance(3_000);
        const expected = plan
          .map((p, i) => ({
            i,
            due: p.at + p.delay,
            removedAt: p.removeAfter === null ? Number.POSITIVE_INFINITY : p.at + p.removeAfter,
          }))
          // A removal scheduled for the same instant as the firing may land either side: skip those.
          .filter((e) => e.removedAt !== e.due);
        for (const e of expected) {
          const f = fired.filter((x) => x.i === e.i);
          if (e.removedAt < e.due) expect(f).toEqual([]);
          else expect(f).toEqual([{ i: e.i, at: e.due }]);
        }
        expect(clock.pendingTimers()).toBeLessThanOrEqual(1);
      },
    ),
    { numRuns: 200 },
  );
});
