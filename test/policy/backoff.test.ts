import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type BackoffOptions, backoffDelay } from '../../src/policy/backoff.js';

describe('backoff', () => {
  it('grows exponentially without jitter and stops at the cap', () => {
    const o: BackoffOptions = {
      kind: 'exponential',
      initialMs: 100,
      maxMs: 1000,
      multiplier: 2,
      jitter: 'none',
    };
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(o, n, 0, Math.random))).toEqual([
      100, 200, 400, 800, 1000,
    ]);
  });

  it('full jitter draws uniformly below the exponential delay', () => {
    const o: BackoffOptions = {
      kind: 'exponential',
      initialMs: 100,
      maxMs: 10_000,
      multiplier: 2,
      jitter: 'full',
    };
    expect(backoffDelay(o, 3, 0, () => 0.5)).toBe(200);
    expect(backoffDelay(o, 3, 0, () => 0)).toBe(0);
  });

  it('decorrelated jitter steps between the initial delay and three times the previous', () => {
    const o: BackoffOptions = {
      kind: 'decorrelated',
      initialMs: 100,
      maxMs: 10_000,
      multiplier: 2,
      jitter: 'full',
    };
    expect(backoffDelay(o, 2, 1000, () => 1)).toBe(3000);
    expect(backoffDelay(o, 2, 1000, () => 0)).toBe(100);
  });

  it('every delay stays within [0, cap] for any settings and any random source', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('exponential', 'decorrelated', 'constant'),
        fc.constantFrom('full', 'none'),
        fc.integer({ min: 0, max: 100_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.double({ min: 1, max: 100, noNaN: true }),
        fc.integer({ min: 1, max: 2000 }),
        fc.double({ min: 0, max: 1e9, noNaN: true }),
        fc.double({ min: 0, max: 0.9999999, noNaN: true }),
        (kind, jitter, initialMs, maxMs, multiplier, retry, previous, r) => {
          const d = backoffDelay({ kind, jitter, initialMs, maxMs, multiplier }, retry, previous, () => r);
          return Number.isFinite(d) && d >= 0 && d <= maxMs;
        },
      ),
      { numRuns: 3000 },
    );
  });
});
