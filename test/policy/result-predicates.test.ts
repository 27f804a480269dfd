import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { isBreakwaterError, ResultRejectedError } from '../../src/failure/errors.js';
import type { FailureKind } from '../../src/failure/failure.js';
import type { AttemptOutcome, PolicyEvent } from '../../src/policy/events.js';
import { createPolicy } from '../../src/policy/pipeline.js';
import type { ProfileInput } from '../../src/policy/profile.js';
import { RESULT_FAILURE_KINDS, type ResultFailureKind } from '../../src/policy/result-failure.js';
import { createVirtualClock } from '../../src/policy/virtual-clock.js';
import { caught } from '../fakes/caught.js';

const COUNTED: readonly FailureKind[] = ['timeout', 'network', 'server_error', 'overloaded', 'unknown'];

/** A breaker that never opens here, so its counter shows what each attempt was counted as. */
const profile = (effect: 'idempotent' | 'non-idempotent'): ProfileInput => ({
  effect,
  timeout: { attemptMs: 1_000, totalMs: 60_000 },
  retry: { maxAttempts: 3, backoff: { initialMs: 100, maxMs: 1_000, jitter: 'none' }, budget: false },
  breaker: { mode: 'consecutive', consecutiveFailures: 100, windowMs: 2_000, countKinds: [...COUNTED] },
});

type Effect = 'idempotent' | 'non-idempotent' | 'non-idempotent, key honored';
const EFFECTS: readonly Effect[] = ['idempotent', 'non-idempotent', 'non-idempotent, key honored'];

function setup(effect: Effect) {
  const clock = createVirtualClock(1_000_000);
  const events: PolicyEvent[] = [];
  const outcomes: AttemptOutcome<unknown>[] = [];
  const policy = createPolicy(profile(effect === 'idempotent' ? 'idempotent' : 'non-idempotent'), {
    clock,
    random: () => 0.5,
    dependency: 'images',
    observer: {
      event: (e) => events.push(e),
      attempt: async (_info, run) => {
        const o = await run();
        outcomes.push(o as AttemptOutcome<unknown>);
        return o;
      },
    },
  });
  const keyed = effect === 'non-idempotent, key honored' ? { idempotencyKey: 'op-1', keyHonored: true } : {};
  return { clock, policy, events, outcomes, keyed };
}

const EMPTY = { images: [] as string[] };

describe('failOnResult: each failure kind, each effect', () => {
  for (const effect of EFFECTS) {
    for (const kind of RESULT_FAILURE_KINDS) {
      const safe = effect !== 'non-idempotent';
      const retried = safe && kind !== 'client_error' && kind !== 'auth';
      it(`${effect}, kind ${kind}: ${retried ? 'retried to the limit' : 'never repeated'}, counted as ${kind}`, async () => {
        const { clock, policy, keyed, outcomes } = setup(effect);
        let calls = 0;
        const err = await caught(
          clock.run(
            policy.run(
              async () => {
                calls++;
                return EMPTY;
              },
              { ...keyed, failOnResult: (v) => v.images.length === 0 && { kind, message: 'no image' } },
            ),
          ),
        );
        expect(calls).toBe(retried ? 3 : 1);
        expect(err).toBeInstanceOf(ResultRejectedError);
        const e = err as ResultRejectedError;
        expect(e.result).toBe(EMPTY);
        expect(e.failure).toMatchObject({ kind, delivery: 'processed', code: 'result_rejected' });
        expect(e.message).toContain('result rejected: no image');
        expect(e.attempts).toHaveLength(calls);
        // It happened: a non-idempotent call's bad answer may have taken effect, and is not to be redone.
        expect(e.outcome).toBe(effect === 'idempotent' ? 'failed' : 'unknown');
        if (effect !== 'idempotent') expect(e.retryable).toBe(false);
        // The breaker counts each bad answer as its kind, exactly like an error of that kind.
        const counted = COUNTED.includes(kind);
        expect(policy.breaker?.snapshot().consecutiveFailures).toBe(counted ? calls : 0);
        // Telemetry's attempt wrapper sees a failed attempt, not a success.
        expect(outcomes).toHaveLength(calls);
        for (const o of outcomes)
          expect(o).toMatchObject({ ok: false, failure: { kind, code: 'result_rejected' } });
      });
    }
  }
});

describe('failOnResult', () => {
  it('a good answer after a bad one ends the call; the bad one counted against the breaker', async () => {
    const { clock, policy, events } = setup('idempotent');
    let calls = 0;
    const value = await clock.run(
      policy.run(async () => (++calls === 1 ? '' : 'a haiku'), { failOnResult: (v) => v === '' }),
    );
    expect(value).toBe('a haiku');
    expect(calls).toBe(2);
    expect(events.filter((e) => e.type === 'retry_scheduled')).toMatchObject([
      { failure: { kind: 'unknown', code: 'result_rejected', message: 'result rejected by failOnResult' } },
    ]);
  });

  it('takes the same path with a signal (the retry loop) as without (the fast path)', async () => {
    const { clock, policy } = setup('non-idempotent');
    const signal = new AbortController().signal;
    let calls = 0;
    const err = await caught(
      clock.run(
        policy.run(
          async () => {
            calls++;
            return '';
          },
          { signal, failOnResult: () => true },
        ),
      ),
    );
    expect(calls).toBe(1);
    expect(err).toBeInstanceOf(ResultRejectedError);
    expect((err as ResultRejectedError).outcome).toBe('unknown');
  });

  it('a non-idempotent bad answer is never reconciled: the call happened, only its answer is bad', async () => {
    const { clock, policy } = setup('non-idempotent');
    let looked = 0;
    const err = await caught(
      clock.run(
        policy.run(async () => 'charged?', {
          failOnResult: () => ({ kind: 'server_error' }),
          reconcile: async () => {
            looked++;
            return { found: false };
          },
        }),
      ),
    );
    expect(looked).toBe(0);
    expect(isBreakwaterError(err) && err.outcome).toBe('unknown');
  });

  it('retryIf vetoes a retry of a bad answer as it does of an error', async () => {
    const { clock, policy } = setup('idempotent');
    let calls = 0;
    await caught(
      clock.run(
        policy.run(
          async () => {
            calls++;
            return '';
          },
          { failOnResult: () => true, retryIf: (f) => f.code !== 'result_rejected' },
        ),
      ),
    );
    expect(calls).toBe(1);
  });

  it('a predicate that throws, or answers a kind a result cannot have, rejects the answer and says why', async () => {
    const { clock, policy } = setup('idempotent');
    const threw = await caught(
      clock.run(
        policy.run(async () => 1, {
          failOnResult: () => {
            throw new SyntaxError('bad predicate');
          },
        }),
      ),
    );
    expect(threw).toBeInstanceOf(ResultRejectedError);
    expect((threw as ResultRejectedError).failure).toMatchObject({
      kind: 'unknown',
      message: 'failOnResult threw SyntaxError',
    });
    const odd = await caught(
      clock.run(
        policy.run(async () => 1, {
          failOnResult: () => ({ kind: 'circuit_open' as ResultFailureKind }),
        }),
      ),
    );
    expect((odd as ResultRejectedError).failure.kind).toBe('unknown');
    expect((odd as ResultRejectedError).failure.message).toContain(
      'kind "circuit_open", not one a result can have',
    );
  });

  it('a rate_limited answer pauses every caller, as a 429 does', async () => {
    const { clock, policy, events } = setup('idempotent');
    let calls = 0;
    await clock.run(
      policy.run(async () => (++calls === 1 ? { error: 'slow down' } : { ok: true }), {
        failOnResult: (v) => 'error' in v && { kind: 'rate_limited' },
      }),
    );
    expect(events.some((e) => e.type === 'cooldown_started')).toBe(true);
  });

  it('the rejected answer rides on the error but is not printed with it (it is content)', async () => {
    const { clock, policy } = setup('idempotent');
    const err = await caught(
      clock.run(policy.run(async () => ({ secret: 'sk-live-123' }), { failOnResult: () => true })),
    );
    expect((err as ResultRejectedError).result).toEqual({ secret: 'sk-live-123' });
    expect(inspect(err, { depth: 10 })).not.toContain('sk-live-123');
    expect(JSON.stringify(err)).not.toContain('sk-live-123');
  });

  it('refuses a predicate that is not a function, naming it', async () => {
    const { policy } = setup('idempotent');
    const err = await caught(policy.run(async () => 1, { failOnResult: 'empty' as never }));
    expect(err).toBeInstanceOf(TypeError);
    expect((err as Error).message).toContain('failOnResult');
  });
});
