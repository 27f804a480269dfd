import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type BreakerOptions, type BreakerTransition, CircuitBreaker } from '../../src/policy/breaker.js';
import { createVirtualClock } from '../../src/policy/virtual-clock.js';

const base: BreakerOptions = {
  mode: 'consecutive',
  consecutiveFailures: 3,
  failureRatio: 0.5,
  minimumThroughput: 4,
  windowMs: 10_000,
  buckets: 10,
  slowCallMs: null,
  slowCallRatio: 1,
  openMs: 30_000,
  openMultiplier: 2,
  maxOpenMs: 120_000,
  halfOpenProbes: 1,
  halfOpenMaxWaitMs: 5_000,
};

function make(over: Partial<BreakerOptions> = {}) {
  const clock = createVirtualClock(1_000_000);
  const breaker = new CircuitBreaker({ ...base, ...over }, clock);
  const transitions: BreakerTransition[] = [];
  breaker.onTransition((t) => transitions.push(t));
  const fail = () => breaker.failure(breaker.tryAcquire()!);
  const succeed = () => breaker.success(breaker.tryAcquire()!, 1);
  return { clock, breaker, transitions, fail, succeed };
}

describe('circuit breaker', () => {
  it('trips after N consecutive failures and rejects until the open period ends', async () => {
    const { breaker, clock, fail, succeed, transitions } = make();
    fail();
    fail();
    succeed(); // resets the run
    fail();
    fail();
    expect(breaker.state).toBe('closed');
    fail();
    expect(breaker.state).toBe('open');
    expect(breaker.tryAcquire()).toBeUndefined();
    expect(breaker.retryAfterMs()).toBe(30_000);
    await clock.advance(29_999);
    expect(breaker.tryAcquire()).toBeUndefined();
    await clock.advance(1);
    expect(breaker.state).toBe('half_open');
    expect(transitions.map((t) => `${t.from}>${t.to}:${t.reason}`)).toEqual([
      'closed>open:failures',
      'open>half_open:open_elapsed',
    ]);
  });

  it('a successful half-open probe closes it; a failed one reopens it for longer', async () => {
    const { breaker, clock, fail } = make();
    for (let i = 0; i < 3; i++) fail();
    await clock.advance(30_000);
    const probe = breaker.tryAcquire()!;
    expect(probe.probe).toBeGreaterThan(0);
    expect(breaker.tryAcquire()).toBeUndefined(); // one probe only
    breaker.failure(probe);
    expect(breaker.state).toBe('open');
    expect(breaker.retryAfterMs()).toBe(60_000); // doubled
    await clock.advance(60_000);
    breaker.success(breaker.tryAcquire()!, 1);
    expect(breaker.state).toBe('closed');
    // A later trip starts again from the base open period.
    for (let i = 0; i < 3; i++) fail();
    expect(breaker.retryAfterMs()).toBe(30_000);
  });

  it('a probe that never answers is given up after halfOpenMaxWaitMs, so the breaker cannot stick half-open', async () => {
    const { breaker, clock, fail, transitions } = make();
    for (let i = 0; i < 3; i++) fail();
    await clock.advance(30_000);
    const hung = breaker.tryAcquire()!;
    await clock.advance(5_000);
    expect(breaker.state).toBe('open');
    expect(transitions.at(-1)?.reason).toBe('probe_timeout');
    // The hung probe's late answer belongs to an old generation and changes nothing.
    breaker.success(hung, 1);
    expect(breaker.state).toBe('open');
  });

  it('window mode waits for the minimum throughput, then trips on the failure ratio', () => {
    const { breaker, fail, succeed } = make({ mode: 'window', minimumThroughput: 4, failureRatio: 0.5 });
    fail();
    fail();
    fail();
    expect(breaker.state).toBe('closed'); // 3 calls < minimum throughput
    succeed();
    expect(breaker.state).toBe('closed'); // success does not trip
    fail();
    expect(breaker.state).toBe('open'); // 4 failures of 5
  });

  it('window mode forgets failures that slid out of the window', async () => {
    const { breaker, clock, fail, succeed } = make({
      mode: 'window',
      minimumThroughput: 4,
      failureRatio: 0.5,
    });
    fail();
    fail();
    fail();
    await clock.advance(10_000);
    fail();
    succeed();
    succeed();
    succeed();
    expect(breaker.state).toBe('closed');
  });

  it('trips on the slow-call ratio when enabled', () => {
    const { breaker } = make({ mode: 'window', minimumThroughput: 2, slowCallMs: 100, slowCallRatio: 0.5 });
    breaker.success(breaker.tryAcquire()!, 150);
    breaker.success(breaker.tryAcquire()!, 150);
    expect(breaker.state).toBe('open');
  });

  it('isolate holds it open; disable never opens', () => {
    const { breaker, fail } = make();
    const release = breaker.isolate();
    expect(breaker.tryAcquire()).toBeUndefined();
    release();
    expect(breaker.state).toBe('closed');
    breaker.disable();
    for (let i = 0; i < 10; i++) fail();
    expect(breaker.tryAcquire()).toBeDefined();
    expect(breaker.state).toBe('disabled');
  });

  type Step =
    | { op: 'call'; outcome: 'success' | 'failure' | 'release' | 'hold' }
    | { op: 'wait'; ms: number };
  const step: fc.Arbitrary<Step> = fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        op: fc.constant('call' as const),
        outcome: fc.constantFrom('success', 'failure', 'failure', 'release', 'hold'),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('wait' as const),
        ms: fc.constantFrom(0, 1_000, 4_999, 30_000, 60_000, 240_000),
      }),
    },
  );

  it('property: nothing is admitted while open, and half-open never has more probes out than allowed', async () => {
    let reachedHalfOpen = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<'consecutive' | 'window'>('consecutive', 'window'),
        fc.integer({ min: 1, max: 3 }),
        fc.array(step, { minLength: 10, maxLength: 80 }),
        async (mode, probes, steps) => {
          const { breaker, clock } = make({ mode, halfOpenProbes: probes, minimumThroughput: 2 });
          let probesOut = 0;
          breaker.onTransition((t) => {
            if (t.to === 'half_open') {
              probesOut = 0;
              reachedHalfOpen++;
            }
          });
          for (const s of steps) {
            if (s.op === 'wait') {
              await clock.advance(s.ms);
              continue;
            }
            const before = breaker.state;
            const permit = breaker.tryAcquire();
            if (before === 'open' && breaker.state === 'open') expect(permit).toBeUndefined();
            if (!permit) continue;
            if (permit.probe !== 0) {
              probesOut++;
              expect(probesOut).toBeLessThanOrEqual(probes);
            }
            if (s.outcome === 'hold') continue;
            if (permit.probe !== 0) probesOut--;
            if (s.outcome === 'success') breaker.success(permit, 1);
            else if (s.outcome === 'failure') breaker.failure(permit);
            else breaker.release(permit);
          }
        },
      ),
      { numRuns: 300 },
    );
    // The property is only worth something if the generator reaches half-open often.
    expect(reachedHalfOpen).toBeGreaterThan(100);
  });
});
