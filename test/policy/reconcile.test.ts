import { describe, expect, it } from 'vitest';
import { CancelledError, OutcomeUnknownError } from '../../src/failure/errors.js';
import { createPolicy, type Reconciliation } from '../../src/policy/pipeline.js';
import type { ProfileInput } from '../../src/policy/profile.js';
import { createVirtualClock } from '../../src/policy/virtual-clock.js';
import { caught } from '../fakes/caught.js';

/** A 500 from a non-idempotent dependency: it may have acted, so the policy must ask before running again. */
const serverError = () => Object.assign(new Error('HTTP 500'), { status: 500 });

const payment = (totalMs: number | null): ProfileInput => ({
  effect: 'non-idempotent',
  timeout: { attemptMs: 500, totalMs },
  retry: { maxAttempts: 3, backoff: { initialMs: 10, jitter: 'none' }, budget: false },
  breaker: false,
  gate: false,
});

function setup(totalMs: number | null = 1_000) {
  const clock = createVirtualClock(1_000_000);
  const policy = createPolicy(payment(totalMs), { clock, dependency: 'charge' });
  let runs = 0;
  const charge = async () => {
    runs++;
    throw serverError();
  };
  return { clock, policy, charge, runs: () => runs };
}

describe('reconcile ends, and fails safe (issue 12 item 6, policy side)', () => {
  it('a hanging reconcile ends at the operation’s deadline as outcome unknown, its own signal aborted', async () => {
    const { clock, policy, charge, runs } = setup(1_000);
    const start = clock.now();
    let seen: AbortSignal | undefined;
    const err = await caught(
      clock.run(
        policy.run(charge, {
          reconcile: (_failure, signal) => {
            seen = signal;
            return new Promise<Reconciliation<string>>(() => {});
          },
        }),
      ),
    );
    expect(err).toBeInstanceOf(OutcomeUnknownError);
    expect((err as OutcomeUnknownError).message).toContain('reconcile did not answer before the deadline');
    expect(clock.now()).toBe(start + 1_000);
    expect(seen?.aborted).toBe(true);
    expect(runs()).toBe(1);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('with no deadline, the caller’s abort ends a hanging reconcile: a cancel whose outcome is unknown', async () => {
    const { clock, policy, charge, runs } = setup(null);
    const caller = new AbortController();
    let seen: AbortSignal | undefined;
    const pending = policy.run(charge, {
      signal: caller.signal,
      reconcile: (_failure, signal) => {
        seen = signal;
        return new Promise<Reconciliation<string>>(() => {});
      },
    });
    await clock.advance(5_000);
    caller.abort(new Error('user left'));
    const err = await caught(pending);
    expect(err).toBeInstanceOf(CancelledError);
    expect(err).toMatchObject({ code: 'cancelled', outcome: 'unknown', retryable: false });
    expect(seen?.aborted).toBe(true);
    expect(runs()).toBe(1);
  });

  const notAnAnswer: [string, () => Promise<Reconciliation<string>>, string][] = [
    ['{}', async () => ({}) as Reconciliation<string>, 'an object without found'],
    ['undefined', async () => undefined as unknown as Reconciliation<string>, 'undefined'],
    ['null', async () => null as unknown as Reconciliation<string>, 'null'],
    ['{ found: "no" }', async () => ({ found: 'no' }) as unknown as Reconciliation<string>, 'object'],
    [
      'a throw',
      async () => {
        throw Object.assign(new Error('lookup failed for card 4242'), { code: 'ELOOKUP' });
      },
      'reconcile threw Error (ELOOKUP)',
    ],
    [
      'a synchronous throw',
      () => {
        throw new TypeError('bad');
      },
      'reconcile threw TypeError',
    ],
  ];
  for (const [name, reconcile, reason] of notAnAnswer) {
    it(`${name} is no "not found": outcome unknown with the reason, and the charge runs once`, async () => {
      const { clock, policy, charge, runs } = setup();
      const err = await caught(clock.run(policy.run(charge, { reconcile })));
      expect(err).toBeInstanceOf(OutcomeUnknownError);
      expect(err).toMatchObject({ outcome: 'unknown' });
      expect((err as Error).message).toContain(reason);
      // The thrown error's message may hold content: it is the cause, never the message.
      expect((err as Error).message).not.toContain('4242');
      expect(runs()).toBe(1);
    });
  }

  it('only an explicit { found: false } lets the call run again', async () => {
    const { clock, policy, runs } = setup(10_000);
    let n = 0;
    const value = await clock.run(
      policy.run(
        async () => {
          if (++n === 1) throw serverError();
          return 'charged';
        },
        { reconcile: async () => ({ found: false }) },
      ),
    );
    expect(value).toBe('charged');
    expect(n).toBe(2);
    expect(runs()).toBe(0);
  });

  it('{ found: true } ends the operation with the found value', async () => {
    const { clock, policy, charge, runs } = setup();
    expect(
      await clock.run(policy.run(charge, { reconcile: async () => ({ found: true, value: 'ch_1' }) })),
    ).toBe('ch_1');
    expect(runs()).toBe(1);
  });
});

describe('one outcome per end (issue 12 item 10)', () => {
  it('a non-idempotent call aborted in flight is a cancel whose outcome is unknown', async () => {
    const { clock, policy } = setup(10_000);
    const caller = new AbortController();
    const pending = policy.run(() => new Promise<string>(() => {}), { signal: caller.signal });
    await clock.advance(10);
    caller.abort();
    const err = await caught(pending);
    expect(err).toBeInstanceOf(CancelledError);
    expect(err).toMatchObject({ code: 'cancelled', outcome: 'unknown', retryable: false });
  });

  it('aborted before it started, or when idempotent, the cancel’s outcome is failed', async () => {
    const { policy } = setup(10_000);
    const before = new AbortController();
    before.abort();
    expect(await caught(policy.run(() => 'x', { signal: before.signal }))).toMatchObject({
      code: 'cancelled',
      outcome: 'failed',
    });
    const clock = createVirtualClock(0);
    const idempotent = createPolicy({ ...payment(10_000), effect: 'idempotent' }, { clock });
    const caller = new AbortController();
    const pending = idempotent.run(() => new Promise<string>(() => {}), { signal: caller.signal });
    await clock.advance(10);
    caller.abort();
    expect(await caught(pending)).toMatchObject({ code: 'cancelled', outcome: 'failed' });
  });
});
