import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createHedger, type HedgeTask } from '../../src/policy/hedge.js';
import { createVirtualClock, type VirtualClock } from '../../src/policy/virtual-clock.js';

interface Side {
  readonly ms: number;
  readonly fails: boolean;
}

const side = fc.record({ ms: fc.integer({ min: 0, max: 400 }), fails: fc.boolean() });
const call = fc.record({
  startAt: fc.integer({ min: 0, max: 5_000 }),
  primary: side,
  hedge: side,
  alternative: fc.boolean(),
});

interface Observed {
  started: number[];
  settledAt: number[];
  aborted: boolean[];
}

/** A request that answers after `s.ms` on the clock (or fails), and rejects when aborted, as an SDK does. */
function request(clock: VirtualClock, s: Side, value: string, seen: Observed, i: number): HedgeTask<string> {
  return (signal) =>
    new Promise<string>((resolve, reject) => {
      seen.started[i] = clock.now();
      const t = clock.setTimeout(() => {
        seen.settledAt[i] = clock.now();
        if (s.fails) reject(new Error(`${value} failed`));
        else resolve(value);
      }, s.ms);
      signal.addEventListener('abort', () => {
        seen.aborted[i] = true;
        clock.clearTimeout(t);
        reject(signal.reason);
      });
    });
}

describe('hedging (property)', () => {
  it('one result, the first success; the loser aborted; no hedge before the delay; hedges within the budget', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(call, { minLength: 1, maxLength: 30 }),
          fc.integer({ min: 0, max: 300 }),
          fc.constantFrom(0, 0.1, 0.25, 1),
          fc.constantFrom(0, 0.2, 1),
          async (plans, afterMs, budget, minPerSecond) => {
            const clock = createVirtualClock(0);
            const hedger = createHedger({ afterMs, budget, minPerSecond }, { clock });
            const outcomes: Array<{ ok: boolean; value: unknown; at: number }> = [];
            const seen = plans.map(() => ({ started: [], settledAt: [], aborted: [] }) as Observed);
            const runs = plans.map(
              (p, k) =>
                new Promise<void>((done) => {
                  clock.setTimeout(() => {
                    const s = seen[k]!;
                    const started = clock.now();
                    hedger
                      .run(request(clock, p.primary, `p${k}`, s, 0), {
                        alternative: () =>
                          p.alternative ? request(clock, p.hedge, `h${k}`, s, 1) : undefined,
                      })
                      .then(
                        (value) => outcomes.push({ ok: true, value, at: clock.now() - started }),
                        (value: unknown) => outcomes.push({ ok: false, value, at: clock.now() - started }),
                      )
                      .finally(done);
                  }, p.startAt);
                }),
            );
            await clock.run(Promise.all(runs));
            expect(outcomes).toHaveLength(plans.length);
            for (const [k, p] of plans.entries()) {
              const s = seen[k]!;
              const hedged = s.started[1] !== undefined;
              // No hedge before the delay, and only with an alternative.
              if (hedged) {
                expect(p.alternative).toBe(true);
                expect(s.started[1]! - s.started[0]!).toBeGreaterThanOrEqual(afterMs);
              }
              // Exactly one result: the first success in time, or the primary's error when none succeeded.
              const ends = [0, 1]
                .filter((i) => s.started[i] !== undefined && s.settledAt[i] !== undefined)
                .map((i) => ({ i, at: s.settledAt[i]!, ok: !(i === 0 ? p.primary : p.hedge).fails }));
              const firstOk = ends.filter((e) => e.ok).sort((a, b) => a.at - b.at || a.i - b.i)[0];
              const outcome = outcomes.find((o) =>
                o.ok
                  ? String(o.value).slice(1) === String(k)
                  : String((o.value as Error).message).startsWith(`p${k} `),
              );
              expect(outcome).toBeDefined();
              if (firstOk) {
                expect(outcome).toMatchObject({ ok: true, value: `${firstOk.i === 0 ? 'p' : 'h'}${k}` });
                // The loser, if it was still running, was aborted.
                const loser = 1 - firstOk.i;
                if (s.started[loser] !== undefined && s.settledAt[loser] === undefined)
                  expect(s.aborted[loser]).toBe(true);
              } else {
                expect(outcome).toMatchObject({ ok: false });
              }
              // A request that settled on its own was never aborted.
              for (const i of [0, 1]) if (s.settledAt[i] !== undefined) expect(s.aborted[i]).toBeUndefined();
            }
            // All calls start within one budget window (10 s): hedges ≤ calls × budget + minimum.
            const { hedges, calls } = hedger.stats();
            expect(calls).toBe(plans.length);
            expect(hedges).toBeLessThanOrEqual(Math.floor(calls * budget + minPerSecond * 10 + 1e-9));
            expect(clock.pendingTimers()).toBe(0);
          },
        ),
        { numRuns: 300 },
      );
      await new Promise((r) => setImmediate(r));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
