/**
 * Properties of the quota over arbitrary schedules on a virtual clock:
 * it never admits more than the limit in any window (counted at admission
 * or at settling, the two ends of when a provider may count a request),
 * never holds a request that has room, and the configured-limit path and
 * the header path agree where they see the same thing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createVirtualClock } from '../../../src/policy/virtual-clock.js';
import { createQuota } from '../../../src/providers/quota/index.js';

const W = 10_000;
const L = 5_000;

interface Arrival {
  readonly gap: number;
  readonly tokens: number;
  readonly durationMs: number;
}

interface Trace {
  readonly arrival: number;
  readonly admitted: number;
  readonly settled: number;
  readonly tokens: number;
}

const arrivals = fc.array(
  fc.record({
    gap: fc.integer({ min: 0, max: 3_000 }),
    tokens: fc.integer({ min: 0, max: L }),
    durationMs: fc.integer({ min: 0, max: 4_000 }),
  }),
  { minLength: 1, maxLength: 40 },
);

/** Runs the schedule: each request acquires on arrival, is in flight for its duration, then settles. */
async function run(schedule: readonly Arrival[]): Promise<Trace[]> {
  const clock = createVirtualClock();
  const quota = createQuota({ tpm: L, windowMs: W, clock });
  const traces: Trace[] = [];
  let at = 0;
  const done = schedule.map((r, i) => {
    at += r.gap;
    return new Promise<void>((resolve, reject) => {
      clock.setTimeout(() => {
        const arrival = clock.now();
        quota.acquire(r.tokens).then((reservation) => {
          const admitted = clock.now();
          clock.setTimeout(() => {
            quota.settle(reservation, r.tokens);
            traces[i] = { arrival, admitted, settled: clock.now(), tokens: r.tokens };
            resolve();
          }, r.durationMs);
        }, reject);
      }, at);
    });
  });
  await clock.run(Promise.all(done));
  return traces;
}

/** The most tokens counted in any window [t, t + W), counting each request at `when`. */
function worstWindow(traces: readonly Trace[], when: (t: Trace) => number): number {
  let worst = 0;
  for (const a of traces) {
    const start = when(a);
    let sum = 0;
    for (const b of traces) if (when(b) >= start && when(b) < start + W) sum += b.tokens;
    worst = Math.max(worst, sum);
  }
  return worst;
}

describe('quota properties', () => {
  it('over any arrival schedule, the tokens in any window never exceed the limit, whenever the provider counts them', async () => {
    await fc.assert(
      fc.asyncProperty(arrivals, async (schedule) => {
        const traces = await run(schedule);
        expect(traces).toHaveLength(schedule.length);
        expect(worstWindow(traces, (t) => t.admitted)).toBeLessThanOrEqual(L);
        expect(worstWindow(traces, (t) => t.settled)).toBeLessThanOrEqual(L);
      }),
      { numRuns: 150 },
    );
  });

  it('no request waits when there is room and nobody is ahead of it, not even a millisecond past the moment room appears', async () => {
    await fc.assert(
      fc.asyncProperty(arrivals, async (schedule) => {
        const traces = await run(schedule);
        // At moment `at`, request i had no room, or someone was waiting ahead of it.
        const held = (i: number, at: number, tie: boolean) => {
          let used = 0;
          for (const [j, u] of traces.entries())
            if (j !== i && u.admitted <= at && u.settled + W > at) used += u.tokens;
          const ahead = traces.some(
            (u, j) => j < i && u.arrival <= at && (tie ? u.admitted >= at : u.admitted > at),
          );
          return used + traces[i]!.tokens > L || ahead;
        };
        for (const [i, t] of traces.entries()) {
          if (t.admitted === t.arrival) continue;
          // Held at its arrival for a reason, and still for a reason the moment before it was let in.
          expect(held(i, t.arrival, true)).toBe(true);
          expect(held(i, t.admitted - 1, false)).toBe(true);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('differential: configured limits and the headers of a provider with the same limit agree, and pacing by headers meets no refusal', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            gap: fc.integer({ min: 0, max: 4_000 }),
            tokens: fc.integer({ min: 1, max: L }),
            probe: fc.integer({ min: 0, max: L }),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        async (schedule) => {
          const clock = createVirtualClock();
          const configured = createQuota({ tpm: L, windowMs: W, clock });
          const byHeaders = createQuota({ windowMs: W, clock });
          // The provider: a sliding window of W over what it accepted, answering at once.
          const accepted: Array<{ at: number; tokens: number }> = [];
          const used = (now: number) =>
            accepted.filter((a) => a.at + W > now).reduce((sum, a) => sum + a.tokens, 0);
          for (const step of schedule) {
            await clock.advance(step.gap);
            // Knowing exactly what the provider counted, the two paths give the same wait for any size.
            expect(byHeaders.delayFor(step.tokens)).toBe(configured.delayFor(step.tokens));
            expect(byHeaders.delayFor(step.probe)).toBe(configured.delayFor(step.probe));
            await clock.advance(byHeaders.delayFor(step.tokens));
            const now = clock.now();
            const a = await configured.acquire(step.tokens);
            const b = await byHeaders.acquire(step.tokens);
            expect(clock.now()).toBe(now);
            // The provider never refuses a request the header path let through.
            expect(used(now) + step.tokens).toBeLessThanOrEqual(L);
            accepted.push({ at: now, tokens: step.tokens });
            const newest = Math.max(...accepted.filter((x) => x.at + W > now).map((x) => x.at));
            byHeaders.observe({ tokens: { remaining: L - used(now), limit: L, resetAt: newest + W } }, b);
            configured.settle(a, step.tokens);
            byHeaders.settle(b, step.tokens);
            expect(byHeaders.delayFor(step.probe)).toBe(configured.delayFor(step.probe));
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
