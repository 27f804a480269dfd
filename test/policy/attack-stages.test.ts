import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ChaosOptions,
  createPolicy,
  createVirtualClock,
  FallbackFailedError,
  ResultRejectedError,
} from '../../src/index.js';
import { caught } from '../fakes/caught.js';

const oneShot = {
  timeout: { attemptMs: 60_000, totalMs: 600_000 },
  retry: { maxAttempts: 1, budget: false },
  breaker: false,
  gate: false,
} as const;

describe('chaos is never on by accident: every spelling of production refuses it', () => {
  // A NODE_ENV of "Production" or " production\n" (a .env file, a YAML value) is production all the same.
  const production = fc
    .tuple(
      fc.array(fc.boolean(), { minLength: 10, maxLength: 10 }),
      fc.constantFrom('', ' ', '\t', '\n', '  '),
      fc.constantFrom('', ' ', '\n', '\r\n'),
    )
    .map(([upper, before, after]) => {
      const word = [...'production'].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join('');
      return `${before}${word}${after}`;
    });
  it('NODE_ENV in any case, padded with whitespace: nothing is injected', async () => {
    await fc.assert(
      fc.asyncProperty(production, async (nodeEnv) => {
        let drawn = 0;
        const chaos: ChaosOptions = {
          enabled: true,
          env: { BREAKWATER_CHAOS: '1', NODE_ENV: nodeEnv },
          random: () => {
            drawn++;
            return 0;
          },
          fault: { rate: 1, kind: 'server_error', delivery: 'not_sent' },
        };
        const clock = createVirtualClock(0);
        const policy = createPolicy(oneShot, { clock, dependency: 'payments', chaos });
        let reached = 0;
        const out = await clock.run(
          policy.run(async () => {
            reached++;
            return 'real';
          }),
        );
        expect(out).toBe('real');
        expect(reached).toBe(1);
        expect(drawn).toBe(0);
      }),
      { numRuns: 60 },
    );
  });
});

describe('never twice: a rejected answer of a non-idempotent call is neither repeated nor hidden by a fallback', () => {
  it('whatever the retries, the fallback kinds and the verdict: one call, outcome unknown, no content in the error', async () => {
    const SECRET = 'card 4242-4242-4242-4242';
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom('server_error', 'unknown', 'network', 'timeout', 'overloaded', 'rate_limited'),
        fc.option(fc.constantFrom<'run' | 'value' | 'throwing'>('run', 'value', 'throwing'), {
          nil: undefined,
        }),
        fc.boolean(),
        async (maxAttempts, kind, fallbackShape, allKinds) => {
          const clock = createVirtualClock(0);
          const policy = createPolicy(
            { ...oneShot, effect: 'non-idempotent', retry: { maxAttempts, budget: false } },
            { clock, dependency: 'payments' },
          );
          let charges = 0;
          let fallbackRan = 0;
          const kinds = allKinds
            ? (['unknown', 'server_error', 'network', 'timeout', 'overloaded', 'rate_limited'] as const)
            : undefined;
          const fallback =
            fallbackShape === undefined
              ? undefined
              : fallbackShape === 'value'
                ? { value: { id: 'stand-in', status: 'succeeded' }, ...(kinds ? { kinds } : {}) }
                : {
                    ...(kinds ? { kinds } : {}),
                    run: () => {
                      fallbackRan++;
                      if (fallbackShape === 'throwing') throw new Error('fallback down');
                      return { id: 'stand-in', status: 'succeeded' };
                    },
                  };
          const err = await caught(
            clock.run(
              policy.run(
                async () => {
                  charges++;
                  return { id: 'ch_1', status: 'declined', note: SECRET };
                },
                {
                  failOnResult: (r) => (r.status === 'declined' ? { kind, message: 'declined' } : false),
                  ...(fallback ? { fallback } : {}),
                },
              ),
            ),
          );
          expect(charges).toBe(1);
          expect(fallbackRan).toBe(0);
          expect(err).toBeInstanceOf(ResultRejectedError);
          const e = err as ResultRejectedError;
          expect(e.outcome).toBe('unknown');
          expect(e.message).not.toContain('4242');
          expect(JSON.stringify(e.failure)).not.toContain('4242');
        },
      ),
      { numRuns: 80 },
    );
  });

  it('with unknownOutcome "fallback" the stand-in answers, and a throwing one says outcome unknown, the rejection its cause', async () => {
    const clock = createVirtualClock(0);
    const policy = createPolicy({ ...oneShot, effect: 'non-idempotent' }, { clock, dependency: 'payments' });
    let charges = 0;
    const err = await caught(
      clock.run(
        policy.run(
          async () => {
            charges++;
            return { status: 'declined', note: 'secret-note' };
          },
          {
            failOnResult: (r) => r.status === 'declined',
            fallback: {
              unknownOutcome: 'fallback',
              run: () => {
                throw new TypeError('down');
              },
            },
          },
        ),
      ),
    );
    expect(charges).toBe(1);
    expect(err).toBeInstanceOf(FallbackFailedError);
    const f = err as FallbackFailedError;
    expect(f.outcome).toBe('unknown');
    expect(f.cause).toBeInstanceOf(ResultRejectedError);
    expect(f.message).not.toContain('secret-note');
  });
});

describe('a chaos latency longer than the deadline: the call still ends by its deadline', () => {
  it('for any latency and deadline, the call ends no later than the deadline and the dependency is not reached late', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 0, max: 200_000 }),
        fc.integer({ min: 1, max: 3 }),
        async (deadlineMs, latencyMs, maxAttempts) => {
          const clock = createVirtualClock(0);
          const policy = createPolicy(
            {
              timeout: { attemptMs: 1_000_000, totalMs: 10_000_000 },
              retry: { maxAttempts, budget: false },
              breaker: false,
              gate: false,
            },
            {
              clock,
              dependency: 'search',
              chaos: {
                enabled: true,
                env: { BREAKWATER_CHAOS: '1' },
                random: () => 0,
                latency: { rate: 1, ms: latencyMs },
              },
            },
          );
          const start = clock.now();
          let reachedAt: number | undefined;
          let ended: number | undefined;
          // Success (latency within the deadline) or a timeout: either way, by the deadline.
          await clock.run(
            policy
              .run(
                async () => {
                  reachedAt = clock.now();
                  return 'ok';
                },
                { deadlineMs },
              )
              .finally(() => {
                ended = clock.now();
              })
              .catch(() => undefined),
          );
          // Past the latency: an abandoned attempt must not wake up and call the dependency after the end.
          await clock.advance(latencyMs + 1);
          expect(ended).toBeDefined();
          expect((ended ?? Number.POSITIVE_INFINITY) - start).toBeLessThanOrEqual(deadlineMs);
          if (reachedAt !== undefined) expect(reachedAt - start).toBeLessThanOrEqual(deadlineMs);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('told the truth: a charge that answered is never reported failed when a later retry is refused', () => {
  it('a rejected answer under an honored key, then the retry refused (budget, breaker): outcome unknown, no stand-in', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<'budget' | 'breaker'>('budget', 'breaker'),
        fc.integer({ min: 2, max: 5 }),
        fc.constantFrom('server_error', 'unknown', 'overloaded', 'timeout'),
        fc.boolean(),
        async (refusal, maxAttempts, kind, withFallback) => {
          const clock = createVirtualClock(0);
          const policy = createPolicy(
            {
              extends: 'non-idempotent',
              timeout: { attemptMs: 60_000, totalMs: 600_000 },
              retry: {
                maxAttempts,
                // No retry allowed at all: the first retry is refused by the budget.
                budget: refusal === 'budget' ? { ratio: 0, minPerSecond: 0, windowMs: 10_000 } : false,
              },
              // Opens on the first failure: the retry meets an open breaker.
              breaker:
                refusal === 'breaker'
                  ? { mode: 'consecutive', consecutiveFailures: 1, countKinds: [kind] }
                  : false,
              gate: false,
            },
            { clock, dependency: 'payments', random: () => 0.5 },
          );
          let charges = 0;
          const ended = await clock
            .run(
              policy.run(
                async () => {
                  charges++;
                  return { id: 'ch_1', status: 'succeeded' };
                },
                {
                  idempotencyKey: 'order-A-17',
                  keyHonored: true,
                  // A predicate with a bug: the successful charge is judged a failure.
                  failOnResult: () => ({ kind, message: 'not captured' }),
                  ...(withFallback ? { fallback: { value: { id: 'stand-in', status: 'refunded' } } } : {}),
                },
              ),
            )
            .then(
              (value) => ({ value }),
              (error: unknown) => ({ error }),
            );
          expect(charges).toBe(1);
          // The charge did happen: the caller must hear "may have taken effect", not get a stand-in.
          expect(ended).not.toHaveProperty('value');
          const { error } = ended as { error: { outcome?: string; code?: string } };
          expect(error.outcome).toBe('unknown');
        },
      ),
      { numRuns: 40 },
    );
  });
});
