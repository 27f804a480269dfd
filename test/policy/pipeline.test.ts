import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  CancelledError,
  CircuitOpenError,
  DependencyFailedError,
  isBreakwaterError,
  OutcomeUnknownError,
  RateLimitedError,
  RetryBudgetExhaustedError,
  TimeoutError,
} from '../../src/failure/errors.js';
import type { PolicyEvent } from '../../src/policy/events.js';
import { createPolicy } from '../../src/policy/pipeline.js';
import type { ProfileInput } from '../../src/policy/profile.js';
import { createVirtualClock } from '../../src/policy/virtual-clock.js';
import { caught } from '../fakes/caught.js';

/** An HTTP-ish error, shaped like the SDKs' APIError. */
const httpError = (status: number, headers: Record<string, string> = {}) =>
  Object.assign(new Error(`HTTP ${status}`), { status, headers });
const resetAfterWrite = () =>
  new TypeError('fetch failed', {
    cause: Object.assign(new Error('reset'), { code: 'ECONNRESET', syscall: 'read' }),
  });
const refused = () =>
  new TypeError('fetch failed', {
    cause: Object.assign(new Error('refused'), { code: 'ECONNREFUSED', syscall: 'connect' }),
  });

const quick: ProfileInput = {
  timeout: { attemptMs: 1_000, totalMs: 10_000 },
  retry: { maxAttempts: 3, backoff: { initialMs: 100, maxMs: 1_000, jitter: 'none' }, budget: false },
  breaker: { mode: 'consecutive', consecutiveFailures: 3, openMs: 5_000, windowMs: 2_000 },
};

function setup(profile: ProfileInput = quick) {
  const clock = createVirtualClock(1_700_000_000_000);
  const events: PolicyEvent[] = [];
  const policy = createPolicy(profile, {
    clock,
    random: () => 0.5,
    dependency: 'dep',
    observer: { event: (e) => events.push(e) },
  });
  return { clock, policy, events };
}

describe('the seed scenarios', () => {
  it('transient failures are recovered by retries', async () => {
    const { clock, policy, events } = setup();
    let calls = 0;
    const value = await clock.run(
      policy.run(async () => {
        calls++;
        if (calls < 3) throw httpError(503, { 'retry-after': '1' });
        return 'ok';
      }),
    );
    expect(value).toBe('ok');
    expect(calls).toBe(3);
    const retries = events.filter((e) => e.type === 'retry_scheduled');
    expect(retries).toHaveLength(2);
    expect(retries[0]).toMatchObject({ delayMs: 1000, fromRetryAfter: true });
  });

  it('persistent failures trip the breaker; later calls fail fast without reaching the dependency', async () => {
    const { clock, policy } = setup({ ...quick, retry: { ...quick.retry, maxAttempts: 1 } });
    let calls = 0;
    const down = async () => {
      calls++;
      throw httpError(500);
    };
    for (let i = 0; i < 3; i++)
      expect(await caught(clock.run(policy.run(down)))).toBeInstanceOf(DependencyFailedError);
    expect(policy.breaker?.state).toBe('open');
    const err = await caught(clock.run(policy.run(down)));
    expect(err).toBeInstanceOf(CircuitOpenError);
    expect((err as CircuitOpenError).retryAfterMs).toBe(5_000);
    expect(calls).toBe(3);
  });

  it('after the open period a half-open probe that succeeds closes it; one that fails reopens it', async () => {
    const { clock, policy, events } = setup({ ...quick, retry: { ...quick.retry, maxAttempts: 1 } });
    const down = async () => {
      throw httpError(500);
    };
    for (let i = 0; i < 3; i++) await caught(clock.run(policy.run(down)));
    await clock.advance(5_000);
    await caught(clock.run(policy.run(down))); // the probe fails
    expect(policy.breaker?.state).toBe('open');
    await clock.advance(10_000); // the open period doubled
    expect(await clock.run(policy.run(async () => 'back'))).toBe('back');
    expect(policy.breaker?.state).toBe('closed');
    const path = events
      .filter((e) => e.type === 'breaker_transition')
      .map((e) => (e.type === 'breaker_transition' ? e.to : ''));
    expect(path).toEqual(['open', 'half_open', 'open', 'half_open', 'closed']);
  });

  it('an open breaker stops the retry loop at once', async () => {
    const { clock, policy } = setup({ ...quick, retry: { ...quick.retry, maxAttempts: 10 } });
    let calls = 0;
    const err = await caught(
      clock.run(
        policy.run(async () => {
          calls++;
          throw httpError(502);
        }),
      ),
    );
    expect(err).toBeInstanceOf(CircuitOpenError);
    expect((err as CircuitOpenError).attempts).toHaveLength(3);
    expect(calls).toBe(3);
  });
});

describe('the decision table through the pipeline', () => {
  it('a non-idempotent call whose outcome is unknown runs once and reports outcome unknown', async () => {
    const { clock, policy, events } = setup();
    let calls = 0;
    const err = await caught(
      clock.run(
        policy.run(
          async () => {
            calls++;
            throw resetAfterWrite();
          },
          { effect: 'non-idempotent' },
        ),
      ),
    );
    expect(calls).toBe(1);
    expect(err).toBeInstanceOf(OutcomeUnknownError);
    expect((err as OutcomeUnknownError).outcome).toBe('unknown');
    expect((err as OutcomeUnknownError).failure).toMatchObject({ kind: 'network', delivery: 'unknown' });
    expect(events.some((e) => e.type === 'outcome_unknown')).toBe(true);
  });

  it('a non-idempotent call is retried when the request was never sent', async () => {
    const { clock, policy } = setup();
    let calls = 0;
    const v = await clock.run(
      policy.run(
        async () => {
          calls++;
          if (calls === 1) throw refused();
          return 'charged';
        },
        { effect: 'non-idempotent' },
      ),
    );
    expect(v).toBe('charged');
    expect(calls).toBe(2);
  });

  it('a non-idempotent call is retried under the same key when the dependency honors it', async () => {
    const { clock, policy } = setup();
    const keys: Array<string | undefined> = [];
    const v = await clock.run(
      policy.run(
        async (ctx) => {
          keys.push(ctx.idempotencyKey);
          if (keys.length === 1) throw httpError(500);
          return 'ok';
        },
        { effect: 'non-idempotent', idempotencyKey: 'k-1', keyHonored: true },
      ),
    );
    expect(v).toBe('ok');
    expect(keys).toEqual(['k-1', 'k-1']);
  });

  it('reconcile: found ends the operation with its result; not found allows one more try', async () => {
    const { clock, policy } = setup();
    let calls = 0;
    const found = await clock.run(
      policy.run(
        async () => {
          calls++;
          throw httpError(500);
        },
        { effect: 'non-idempotent', reconcile: async () => ({ found: true, value: 'already done' }) },
      ),
    );
    expect(found).toBe('already done');
    expect(calls).toBe(1);

    calls = 0;
    const retried = await clock.run(
      policy.run(
        async () => {
          calls++;
          if (calls === 1) throw httpError(500);
          return 'done now';
        },
        { effect: 'non-idempotent', reconcile: async () => ({ found: false }) },
      ),
    );
    expect(retried).toBe('done now');
    expect(calls).toBe(2);
  });

  it('a failing reconcile is outcome unknown, never a blind retry', async () => {
    const { clock, policy } = setup();
    let calls = 0;
    const err = await caught(
      clock.run(
        policy.run(
          async () => {
            calls++;
            throw httpError(504);
          },
          {
            effect: 'non-idempotent',
            reconcile: async () => {
              throw new Error('ledger unreachable');
            },
          },
        ),
      ),
    );
    expect(err).toBeInstanceOf(OutcomeUnknownError);
    expect(calls).toBe(1);
  });

  it('4xx answers are not retried and do not count against the breaker', async () => {
    const { clock, policy } = setup();
    let calls = 0;
    for (let i = 0; i < 5; i++) {
      const err = await caught(
        clock.run(
          policy.run(async () => {
            calls++;
            throw httpError(400);
          }),
        ),
      );
      expect(err).toBeInstanceOf(DependencyFailedError);
      expect((err as DependencyFailedError).retryable).toBe(false);
    }
    expect(calls).toBe(5);
    expect(policy.breaker?.state).toBe('closed');
  });

  it('retryIf vetoes a retry; retryOnResult retries a rejected result', async () => {
    const { clock, policy } = setup();
    let calls = 0;
    await caught(
      clock.run(
        policy.run(
          async () => {
            calls++;
            throw httpError(500);
          },
          { retryIf: (f) => f.status !== 500 },
        ),
      ),
    );
    expect(calls).toBe(1);
    calls = 0;
    const v = await clock.run(policy.run(async () => ++calls, { retryOnResult: (n) => n < 3 }));
    expect(v).toBe(3);
  });
});

describe('Retry-After and the deadline', () => {
  it('a Retry-After beyond maxRetryAfterMs fails at once as rate limited', async () => {
    const { clock, policy } = setup({ ...quick, retry: { ...quick.retry, maxRetryAfterMs: 2_000 } });
    const start = clock.now();
    const err = await caught(
      clock.run(
        policy.run(async () => {
          throw httpError(429, { 'retry-after': '60' });
        }),
      ),
    );
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfterMs).toBe(60_000);
    expect(clock.now()).toBe(start);
  });

  it('a wait that would cross the deadline is not started', async () => {
    const { clock, policy } = setup();
    const start = clock.now();
    const err = await caught(
      clock.run(
        policy.run(
          async () => {
            throw httpError(429, { 'retry-after': '5' });
          },
          { deadlineMs: 3_000 },
        ),
      ),
    );
    expect(err).toBeInstanceOf(RateLimitedError);
    expect(clock.now()).toBe(start);
  });

  it('a 429 with Retry-After pauses every caller of the dependency', async () => {
    const { clock, policy, events } = setup();
    const seen: number[] = [];
    let first = true;
    const fn = async () => {
      seen.push(clock.now());
      if (first) {
        first = false;
        throw httpError(429, { 'retry-after-ms': '2000' });
      }
      return 'ok';
    };
    const a = policy.run(fn);
    await clock.advance(10);
    const b = policy.run(fn); // a different caller, arriving during the cooldown
    await clock.run(Promise.all([a, b]));
    const t0 = seen[0]!;
    expect(seen.slice(1).every((t) => t >= t0 + 2000)).toBe(true);
    expect(events.some((e) => e.type === 'cooldown_started')).toBe(true);
  });

  it('the attempt timeout aborts the signal fn holds, and the call ends as a timeout', async () => {
    const { clock, policy } = setup({ ...quick, retry: { ...quick.retry, maxAttempts: 1 } });
    let signal: AbortSignal | undefined;
    const err = await caught(
      clock.run(
        policy.run(
          (ctx) =>
            new Promise(() => {
              signal = ctx.signal;
            }),
        ),
      ),
    );
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as TimeoutError).scope).toBe('attempt');
    expect(signal?.aborted).toBe(true);
  });

  it('one call timing out never aborts another call', async () => {
    const { clock, policy } = setup({ ...quick, retry: { ...quick.retry, maxAttempts: 1 } });
    let healthy: AbortSignal | undefined;
    const hung = caught(policy.run((ctx) => new Promise(() => void ctx.signal)));
    await clock.advance(600);
    // Started while the hung call is still in flight; still running when it times out.
    const ok = policy.run(async (ctx) => {
      healthy = ctx.signal;
      await new Promise<void>((r) => clock.setTimeout(r, 700));
      return ctx.signal.aborted ? 'aborted' : 'fine';
    });
    expect(await clock.run(hung)).toBeInstanceOf(TimeoutError);
    expect(healthy?.aborted).toBe(false);
    expect(await clock.run(ok)).toBe('fine');
    // And a later call gets a fresh, unaborted signal.
    expect(await clock.run(policy.run((ctx) => ctx.signal.aborted))).toBe(false);
  });
});

describe('cancellation', () => {
  it('an abort during a backoff sleep ends the run at once as cancelled, and fn is not called again', async () => {
    const { clock, policy } = setup({
      ...quick,
      timeout: { totalMs: 300_000 },
      retry: { ...quick.retry, backoff: { initialMs: 60_000, maxMs: 60_000 } },
    });
    const ctrl = new AbortController();
    let calls = 0;
    const p = policy.run(
      async () => {
        calls++;
        throw httpError(503, { 'retry-after': '2' });
      },
      { signal: ctrl.signal, deadlineMs: 120_000 },
    );
    await clock.advance(500);
    const before = clock.now();
    ctrl.abort();
    const err = await caught(p);
    expect(err).toBeInstanceOf(CancelledError);
    expect(clock.now()).toBe(before);
    await clock.advance(120_000);
    expect(calls).toBe(1);
    expect(getEventListeners(ctrl.signal, 'abort')).toHaveLength(0);
  });

  it('an abort during an attempt aborts fn’s signal and ends the run without waiting for fn', async () => {
    const { clock, policy } = setup();
    const ctrl = new AbortController();
    let inner: AbortSignal | undefined;
    const p = policy.run(
      (ctx) => {
        inner = ctx.signal;
        return new Promise(() => {});
      },
      { signal: ctrl.signal },
    );
    await clock.advance(10);
    ctrl.abort(new Error('user left'));
    const err = await caught(p);
    expect(err).toBeInstanceOf(CancelledError);
    expect(inner?.aborted).toBe(true);
  });

  it('an already-aborted signal never calls fn', async () => {
    const { policy } = setup();
    let called = false;
    const err = await caught(
      policy.run(
        async () => {
          called = true;
        },
        { signal: AbortSignal.abort() },
      ),
    );
    expect(err).toBeInstanceOf(CancelledError);
    expect(called).toBe(false);
  });

  it('leaves no listener on the caller’s signal after success, failure or timeout', async () => {
    const { clock, policy } = setup();
    const ctrl = new AbortController();
    await clock.run(policy.run(async () => 1, { signal: ctrl.signal }));
    await caught(
      clock.run(
        policy.run(
          async () => {
            throw httpError(400);
          },
          { signal: ctrl.signal },
        ),
      ),
    );
    await caught(clock.run(policy.run(() => new Promise(() => {}), { signal: ctrl.signal })));
    expect(getEventListeners(ctrl.signal, 'abort')).toHaveLength(0);
  });
});

describe('the retry budget', () => {
  it('stops retrying when retries exceed the ratio of first attempts', async () => {
    const { clock, policy, events } = setup({
      ...quick,
      breaker: false,
      retry: { ...quick.retry, maxAttempts: 5, budget: { ratio: 0.5, minPerSecond: 0, windowMs: 10_000 } },
    });
    let calls = 0;
    const outcomes: unknown[] = [];
    for (let i = 0; i < 4; i++) {
      outcomes.push(
        await caught(
          clock.run(
            policy.run(async () => {
              calls++;
              throw httpError(500);
            }),
          ),
        ),
      );
    }
    // 4 first attempts allow 2 retries in all: 6 calls, not 4 × 5.
    expect(calls).toBe(6);
    expect(outcomes.filter((e) => e instanceof RetryBudgetExhaustedError).length).toBeGreaterThan(0);
    expect(events.filter((e) => e.type === 'budget_exhausted').length).toBeGreaterThan(0);
  });
});

describe('errors', () => {
  it('are recognizable by brand and code without instanceof', async () => {
    const { clock, policy } = setup({ ...quick, retry: { ...quick.retry, maxAttempts: 1 } });
    const err = await caught(clock.run(policy.run(() => new Promise(() => {}))));
    const copy = { ...(err as object), [Symbol.for('breakwater.error')]: true, code: 'timeout' };
    expect(isBreakwaterError(err, 'timeout')).toBe(true);
    expect(isBreakwaterError(copy, 'timeout')).toBe(true);
    expect(isBreakwaterError(new Error('x'))).toBe(false);
  });

  it('rejects a bad deadline naming the option', async () => {
    const { policy } = setup();
    await expect(policy.run(async () => 1, { deadlineMs: -1 })).rejects.toThrow(/deadlineMs/);
  });
});

describe('a keyed non-idempotent call that runs out of attempts after it may have acted', () => {
  it('is outcome unknown, not a plain failure, when nothing can tell', async () => {
    const { clock, policy } = setup();
    const err = await caught(
      clock.run(
        policy.run(
          async () => {
            throw httpError(500);
          },
          { effect: 'non-idempotent', idempotencyKey: 'k', keyHonored: true },
        ),
      ),
    );
    expect(err).toBeInstanceOf(OutcomeUnknownError);
    expect((err as OutcomeUnknownError).attempts).toHaveLength(3);
  });

  it('asks reconcile first: found ends it with the result, not found makes the failure definite', async () => {
    const opts = { effect: 'non-idempotent' as const, idempotencyKey: 'k', keyHonored: true };
    const down = async () => {
      throw httpError(504);
    };
    const one = setup();
    const found = one.policy.run(down, { ...opts, reconcile: async () => ({ found: true, value: 'ch_1' }) });
    expect(await one.clock.run(found)).toBe('ch_1');
    // A fresh policy: the first one's breaker opened on those three 504s.
    const two = setup();
    const notFound = two.policy.run(down, { ...opts, reconcile: async () => ({ found: false }) });
    expect(await caught(two.clock.run(notFound))).toBeInstanceOf(DependencyFailedError);
  });
});

it('attempt timeouts on the real clock leave nothing behind (one shared timer, never unref’d when gone)', async () => {
  const policy = createPolicy({ timeout: { attemptMs: 20 }, retry: { maxAttempts: 1 } });
  for (let i = 0; i < 3; i++) {
    const err = await caught(policy.run(() => new Promise(() => {})));
    expect(err).toBeInstanceOf(TimeoutError);
  }
  expect(await policy.run(async () => 'still fine')).toBe('still fine');
});
