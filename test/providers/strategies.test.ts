import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type DeploymentView, pickNext, STRATEGY } from '../../src/providers/groups/strategies.js';
import { type SkipReason, STRATEGIES } from '../../src/providers/groups/types.js';

const reasons: readonly (SkipReason | undefined)[] = [
  undefined,
  'open',
  'cooling',
  'no_quota',
  'context_too_small',
  'refused',
];

/** Any group's untried deployments, in declaration order. */
const views = fc
  .array(
    fc.record({
      weight: fc.double({ min: 0.01, max: 100, noNaN: true }),
      inFlight: fc.nat(50),
      latencyMs: fc.option(fc.double({ min: 0, max: 10_000, noNaN: true }), { nil: undefined }),
      headroom: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
      unhealthy: fc.constantFrom(...reasons),
    }),
    { minLength: 1, maxLength: 8 },
  )
  .map((vs) => vs.map((v, index): DeploymentView => ({ ...v, index })));

const randoms = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe('strategies', () => {
  it('never pick an unhealthy deployment while a healthy one is left; with none, wait for quota where the fewest wait (every strategy but ordered)', () => {
    fc.assert(
      fc.property(
        views,
        randoms,
        fc.constantFrom(...STRATEGIES.filter((s) => s !== 'ordered')),
        (vs, r, s) => {
          const pick = pickNext(vs, s, () => r)!;
          expect(vs).toContain(pick);
          const waiting = vs.filter((v) => v.unhealthy === 'no_quota');
          if (vs.some((v) => v.unhealthy === undefined)) expect(pick.unhealthy).toBeUndefined();
          // None healthy: wait for room where the fewest calls are in progress or waiting.
          else if (waiting.length > 0) {
            expect(pick.unhealthy).toBe('no_quota');
            expect(pick.inFlight).toBe(Math.min(...waiting.map((v) => v.inFlight)));
          } else expect(pick.index).toBe(0);
        },
      ),
    );
  });

  it('ordered always takes the first in declaration order', () => {
    fc.assert(
      fc.property(views, randoms, (vs, r) => {
        expect(pickNext(vs, 'ordered', () => r)!.index).toBe(0);
      }),
    );
  });

  it('least-in-flight picks one with the fewest calls in progress', () => {
    fc.assert(
      fc.property(views, randoms, (vs, r) => {
        const pick = STRATEGY['least-in-flight'](vs, () => r);
        expect(pick.inFlight).toBe(Math.min(...vs.map((v) => v.inFlight)));
      }),
    );
  });

  it('lowest-latency picks the fastest, counting one never measured as fastest', () => {
    fc.assert(
      fc.property(views, randoms, (vs, r) => {
        const pick = STRATEGY['lowest-latency'](vs, () => r);
        expect(pick.latencyMs ?? 0).toBe(Math.min(...vs.map((v) => v.latencyMs ?? 0)));
      }),
    );
  });

  it('most-quota picks the most headroom, counting unknown as full', () => {
    fc.assert(
      fc.property(views, randoms, (vs, r) => {
        const pick = STRATEGY['most-quota'](vs, () => r);
        expect(pick.headroom ?? 1).toBe(Math.max(...vs.map((v) => v.headroom ?? 1)));
      }),
    );
  });

  it('weighted converges to the weights', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 1, maxLength: 5 }),
        fc.integer(),
        (weights, seed) => {
          const vs: DeploymentView[] = weights.map((weight, index) => ({
            index,
            weight,
            inFlight: 0,
            latencyMs: undefined,
            headroom: undefined,
            unhealthy: undefined,
          }));
          // A seeded generator (mulberry32), so each run is reproducible from fast-check's seed.
          let a = seed >>> 0;
          const random = () => {
            a = (a + 0x6d2b79f5) >>> 0;
            let t = a;
            t = Math.imul(t ^ (t >>> 15), t | 1);
            t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
            return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
          };
          const n = 20_000;
          const counts = new Array<number>(weights.length).fill(0);
          for (let i = 0; i < n; i++) counts[STRATEGY.weighted(vs, random).index]!++;
          const total = weights.reduce((x, y) => x + y, 0);
          for (const [i, w] of weights.entries())
            expect(Math.abs(counts[i]! / n - w / total)).toBeLessThan(0.02);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('weighted splits the unit interval exactly by weight', () => {
    fc.assert(
      fc.property(views, randoms, (vs, r) => {
        const total = vs.reduce((x, v) => x + v.weight, 0);
        const pick = STRATEGY.weighted(vs, () => r);
        const before = vs.slice(0, pick.index).reduce((x, v) => x + v.weight, 0);
        // The point r * total lies in the picked deployment's slice (up to float rounding at the edges).
        expect(r * total).toBeGreaterThanOrEqual(before - 1e-9 * total);
        expect(r * total).toBeLessThanOrEqual(before + pick.weight + 1e-9 * total);
      }),
    );
  });
});
