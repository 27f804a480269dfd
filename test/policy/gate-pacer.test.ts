/**
 * The pacer alone: a small state machine driven by 429s, answers and
 * admissions, with time given as numbers. It learns a pace only from cycles
 * in which the dependency accepted calls, and its pace is never zero.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Pacer } from '../../src/policy/gate/pacer.js';

describe('pacer', () => {
  it('a cycle with nothing accepted measures no pace: a refused probe leaves it in slow start', () => {
    const p = new Pacer(16);
    p.waiting(true, 0);
    // Sixteen in flight meet the limit; after the cooldown the lone probe is refused again.
    p.exhausted(100, 0, 16);
    for (let i = 0; i < 16; i++) p.answered('rate_limited', 15 - i, 4, 0);
    expect(p.admits(0, 100)).toBe(true);
    p.admit();
    expect(p.admits(1, 100)).toBe(false);
    p.exhausted(120, 101, 1);
    p.answered('rate_limited', 0, 4, 101);
    expect(p.ratePerMs).toBeUndefined();
    expect(p.ramping).toBe(true);
    expect(p.msUntilNext()).toBeUndefined();
  });

  it('measures the pace from the calls accepted between two exhaustions that callers waited through', () => {
    const p = new Pacer(16);
    p.waiting(true, 0);
    p.exhausted(100, 0, 0);
    // Ten calls accepted over the next second, then the allowance is spent again.
    for (let i = 1; i <= 10; i++) {
      expect(p.admits(0, i * 100)).toBe(true);
      p.admit();
      p.answered('answered', 0, 1, i * 100);
    }
    p.exhausted(100, 1_000, 0);
    // 10 calls, plus half of one (the cycle ended within a call of the next), over 1 s.
    expect(p.ratePerMs! * 1_000).toBeCloseTo(10.5, 5);
    expect(p.ramping).toBe(false);
  });

  it('a cycle callers did not wait through measured their load, not the dependency: nothing is learned', () => {
    const p = new Pacer(16);
    p.exhausted(100, 0, 0);
    for (let i = 1; i <= 3; i++) p.answered('answered', 0, 0, i * 100);
    p.exhausted(100, 1_000, 0);
    expect(p.ratePerMs).toBeUndefined();
  });

  it('whatever the 429s, answers and clock steps, the pace is never zero and every wait is a finite timer', () => {
    const event = fc.oneof(
      fc.record({ kind: fc.constant('429' as const), retryAfterMs: fc.integer({ min: 1, max: 60_000 }) }),
      fc.record({
        kind: fc.constant('answer' as const),
        outcome: fc.constantFrom('answered', 'rate_limited'),
      }),
      fc.record({ kind: fc.constant('admit' as const) }),
      fc.record({ kind: fc.constant('wait' as const), on: fc.boolean() }),
      fc.record({ kind: fc.constant('step' as const), ms: fc.integer({ min: 0, max: 120_000 }) }),
    );
    fc.assert(
      fc.property(fc.array(event, { maxLength: 200 }), (events) => {
        const p = new Pacer(16);
        let now = 0;
        let inFlight = 0;
        for (const e of events) {
          if (e.kind === '429') p.exhausted(e.retryAfterMs, now, inFlight);
          else if (e.kind === 'answer' && inFlight > 0) p.answered(e.outcome, --inFlight, 1, now);
          else if (e.kind === 'admit' && p.admits(inFlight, now)) {
            p.admit();
            inFlight++;
          } else if (e.kind === 'wait') p.waiting(e.on, now);
          else if (e.kind === 'step') now += e.ms;
          const rate = p.ratePerMs;
          if (rate !== undefined) expect(rate).toBeGreaterThan(0);
          const next = p.msUntilNext();
          if (next !== undefined) {
            expect(Number.isFinite(next)).toBe(true);
            expect(next).toBeLessThanOrEqual(2_147_483_647);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
