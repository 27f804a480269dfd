import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isBreakwaterError } from '../../src/failure/errors.js';
import { createPolicy } from '../../src/policy/pipeline.js';
import { createVirtualClock } from '../../src/policy/virtual-clock.js';

type Fault = 'ok' | '500' | '503' | '429' | 'reset_after_write' | 'refused' | 'hang' | '400' | '409';
/** Faults after which the dependency may have acted on the request. */
const MAYBE_ACTED = new Set<Fault>(['ok', '500', '503', 'reset_after_write', 'hang']);

function act(fault: Fault, retryAfterS: number): Promise<string> {
  const http = (status: number, headers: Record<string, string> = {}) =>
    Promise.reject(Object.assign(new Error(`HTTP ${status}`), { status, headers }));
  const sys = (code: string, syscall: string) =>
    Promise.reject(
      new TypeError('fetch failed', { cause: Object.assign(new Error(code), { code, syscall }) }),
    );
  switch (fault) {
    case 'ok':
      return Promise.resolve('value');
    case '500':
      return http(500);
    case '503':
      return http(503);
    case '429':
      return http(429, { 'retry-after': String(retryAfterS) });
    case '400':
      return http(400);
    case '409':
      return http(409);
    case 'reset_after_write':
      return sys('ECONNRESET', 'read');
    case 'refused':
      return sys('ECONNREFUSED', 'connect');
    case 'hang':
      return new Promise(() => {});
  }
}

const faultArb = fc.constantFrom<Fault>(
  'ok',
  '500',
  '503',
  '429',
  'reset_after_write',
  'refused',
  'hang',
  '400',
  '409',
);

describe('pipeline properties over random fault schedules', () => {
  it('attempts stay within maxAttempts, runs end by their deadline, and a non-idempotent call acts at most once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          schedule: fc.array(fc.tuple(faultArb, fc.integer({ min: 0, max: 20 })), {
            minLength: 1,
            maxLength: 8,
          }),
          maxAttempts: fc.integer({ min: 1, max: 6 }),
          attemptMs: fc.integer({ min: 10, max: 5_000 }),
          extraTotalMs: fc.integer({ min: 0, max: 20_000 }),
          effect: fc.constantFrom<'idempotent' | 'non-idempotent'>('idempotent', 'non-idempotent'),
          keyHonored: fc.boolean(),
          budget: fc.boolean(),
          seed: fc.double({ min: 0, max: 0.999, noNaN: true }),
        }),
        async (c) => {
          const clock = createVirtualClock(1_700_000_000_000);
          const totalMs = c.attemptMs + c.extraTotalMs;
          const policy = createPolicy(
            {
              effect: c.effect,
              timeout: { attemptMs: c.attemptMs, totalMs },
              retry: {
                maxAttempts: c.maxAttempts,
                backoff: { initialMs: 50, maxMs: 2_000 },
                budget: c.budget ? { ratio: 0.2, minPerSecond: 1, windowMs: 10_000 } : false,
              },
              breaker: { mode: 'consecutive', consecutiveFailures: 3, windowMs: 2 * c.attemptMs },
            },
            { clock, random: () => c.seed },
          );
          const start = clock.now();
          const faults: Fault[] = [];
          const run = policy.run(
            () => {
              const [fault, ra] = c.schedule[Math.min(faults.length, c.schedule.length - 1)]!;
              faults.push(fault);
              return act(fault, ra);
            },
            { effect: c.effect, idempotencyKey: 'op-1', keyHonored: c.keyHonored },
          );
          let value: unknown;
          let error: unknown;
          try {
            value = await clock.run(run);
          } catch (err) {
            error = err;
          }
          const ended = clock.now();
          expect(faults.length).toBeLessThanOrEqual(c.maxAttempts);
          expect(ended).toBeLessThanOrEqual(start + totalMs);
          if (c.effect === 'non-idempotent' && !c.keyHonored) {
            expect(faults.filter((f) => MAYBE_ACTED.has(f)).length).toBeLessThanOrEqual(1);
          }
          // Exactly one ending: a value from a successful attempt, or a typed error.
          if (error === undefined) {
            expect(value).toBe('value');
            expect(faults.at(-1)).toBe('ok');
          } else {
            expect(isBreakwaterError(error)).toBe(true);
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
