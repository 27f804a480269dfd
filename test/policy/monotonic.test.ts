import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TimeoutError } from '../../src/failure/errors.js';
import { CircuitBreaker } from '../../src/policy/breaker.js';
import { systemClock } from '../../src/policy/clock.js';
import { createPolicy } from '../../src/policy/pipeline.js';
import { resolveProfile } from '../../src/policy/profile.js';

/**
 * The system clock under a wall clock that steps. Fake timers drive
 * `setTimeout` and `performance.now()` together; `vi.setSystemTime` moves the
 * wall clock (`Date`) alone, as an NTP step or an operator would. Nothing
 * here waits in real time.
 */
const TEN_SECONDS = 10_000;
let stepped: () => void;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
  stepped = () => vi.setSystemTime(Date.now() - TEN_SECONDS);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('durations on a monotonic clock (issue 12 item 12)', () => {
  it('the wall clock stepping back 10 s does not stretch a 500 ms attempt timeout', async () => {
    const policy = createPolicy({
      timeout: { attemptMs: 500, totalMs: 5_000 },
      retry: { maxAttempts: 1, budget: false },
      breaker: false,
      gate: false,
    });
    let ended: unknown;
    policy
      .run(() => new Promise(() => {}))
      .catch((e: unknown) => {
        ended = e;
      });
    await vi.advanceTimersByTimeAsync(100);
    stepped();
    await vi.advanceTimersByTimeAsync(400);
    expect(ended).toBeInstanceOf(TimeoutError);
    expect((ended as TimeoutError).scope).toBe('attempt');
  });

  it('nor a 1 s breaker open period', async () => {
    const b = resolveProfile({
      breaker: { mode: 'consecutive', consecutiveFailures: 1, openMs: 1_000 },
    }).breaker;
    if (b === false) throw new Error('profile has a breaker');
    const breaker = new CircuitBreaker(b, systemClock);
    const permit = breaker.tryAcquire();
    if (!permit) throw new Error('closed breaker admits');
    breaker.failure(permit);
    expect(breaker.state).toBe('open');
    stepped();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(breaker.state).toBe('half_open');
  });

  it('nor a 1 s Retry-After pause (the gate’s cooldown)', async () => {
    const policy = createPolicy({
      timeout: { attemptMs: 500, totalMs: 30_000 },
      retry: { maxAttempts: 2, budget: false, backoff: { initialMs: 1, jitter: 'none' } },
      breaker: false,
      // The gate holds the pause for every caller: the wait that stepped with the wall clock.
      gate: { concurrency: 4, maxQueue: 8, queueTimeoutMs: 30_000, rate: null },
    });
    let attempts = 0;
    let value: unknown;
    void policy
      .run(async () => {
        if (++attempts === 1)
          throw Object.assign(new Error('HTTP 429'), { status: 429, headers: { 'retry-after': '1' } });
        return 'ok';
      })
      .then((v) => {
        value = v;
      });
    await vi.advanceTimersByTimeAsync(10);
    expect(attempts).toBe(1);
    stepped();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(attempts).toBe(2);
    expect(value).toBe('ok');
  });
});
