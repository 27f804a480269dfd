import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../src/policy/breaker.js';
import { type BreakerProfile, builtinProfiles } from '../../src/policy/profile.js';
import { createVirtualClock } from '../../src/policy/virtual-clock.js';

/**
 * The built-in window breakers against a total outage: healthy traffic at a
 * steady rate for two windows, then every call fails. How long until the
 * breaker opens, at rates from a trickle to a flood.
 */
function msToOpen(options: BreakerProfile, perSecond: number): number {
  const clock = createVirtualClock(0);
  const breaker = new CircuitBreaker(options, clock);
  const step = 1000 / perSecond;
  let t = 0;
  for (; t < 2 * options.windowMs; t += step) breaker.success(breaker.tryAcquire(t)!, 10, t);
  const outage = t;
  for (; t < outage + 10 * options.windowMs; t += step) {
    const permit = breaker.tryAcquire(t);
    if (permit === undefined) return t - outage;
    breaker.failure(permit, t);
  }
  return Number.POSITIVE_INFINITY;
}

describe('window breaker defaults open within seconds of a total outage', () => {
  it.each([0.5, 1, 5, 50, 200])('idempotent at %s calls/s: open within 6 s', (rate) => {
    const b = builtinProfiles.idempotent.breaker as BreakerProfile;
    expect(msToOpen(b, rate)).toBeLessThanOrEqual(6_000);
  });

  it.each([0.34, 1, 5, 50, 200])('llm at %s calls/s: open within 8 s', (rate) => {
    const b = builtinProfiles.llm.breaker as BreakerProfile;
    expect(msToOpen(b, rate)).toBeLessThanOrEqual(8_000);
  });

  it('a flood of failures opens no later than a trickle', () => {
    const b = builtinProfiles.llm.breaker as BreakerProfile;
    expect(msToOpen(b, 200)).toBeLessThanOrEqual(msToOpen(b, 1));
  });
});
