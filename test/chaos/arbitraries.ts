/** fast-check generators for the chaos suite: profiles, fault schedules, Retry-After values, operations. */
import fc from 'fast-check';
import type { ProfileInput } from '../../src/policy/profile.js';
import type { RetryAfter, Step } from './in-process.js';
import type { StoreSpec } from './store.js';

const DAY_S = 24 * 60 * 60;

/**
 * Retry-After values a dependency (or an attacker in the middle) might send:
 * sane ones, and the hostile ones the parser must treat as absent or cap.
 * Dates are relative to the wall clock, which is what `classify` reads them against.
 */
export function hostileRetryAfterValues(nowMs = Date.now()): RetryAfter[] {
  const date = (ms: number) => new Date(ms).toUTCString();
  return [
    { header: 'retry-after', value: '0' },
    { header: 'retry-after', value: '1' },
    { header: 'retry-after', value: '0.05' },
    { header: 'retry-after', value: '-5' },
    { header: 'retry-after', value: 'NaN' },
    { header: 'retry-after', value: '1e99' },
    { header: 'retry-after', value: 'Infinity' },
    { header: 'retry-after', value: String(DAY_S - 1) },
    { header: 'retry-after', value: String(DAY_S + 1) },
    { header: 'retry-after', value: '9'.repeat(400) },
    { header: 'retry-after', value: '' },
    { header: 'retry-after', value: 'soon' },
    { header: 'retry-after', value: date(nowMs + 2_000) },
    { header: 'retry-after', value: date(nowMs - 3_600_000) },
    { header: 'retry-after', value: 'Fri, 31 Dec 9999 23:59:59 GMT' },
    { header: 'retry-after', value: 'Thu, 01 Jan 1970 00:00:00 GMT' },
    { header: 'retry-after', value: 'Mon, 99 Foo 2024 99:99:99 GMT' },
    { header: 'retry-after-ms', value: '150' },
    { header: 'retry-after-ms', value: '-1' },
    { header: 'retry-after-ms', value: 'NaN' },
    { header: 'retry-after-ms', value: '1e308' },
    { header: 'retry-after-ms', value: '0.5' },
    { header: 'retry-after-ms', value: '12abc' },
  ];
}

export const retryAfterArb: fc.Arbitrary<RetryAfter | undefined> = fc.option(
  fc.constantFrom(...hostileRetryAfterValues()),
  { nil: undefined, freq: 4 },
);

/** A schedule of faults, `ok` weighted up so that some operations succeed and breakers close again. */
export function stepsArb<F extends string>(
  faults: readonly F[],
  maxLatencyMs: number,
  maxLength = 24,
): fc.Arbitrary<Step<F>[]> {
  const ok = faults[0]!;
  const step = fc.record({
    fault: fc.oneof(
      { weight: 3, arbitrary: fc.constant(ok) },
      { weight: 4, arbitrary: fc.constantFrom(...faults) },
    ),
    latencyMs: fc.oneof(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: maxLatencyMs })),
    retryAfter: retryAfterArb,
  });
  return fc.array(step, { maxLength });
}

/** A valid, coherent profile with small timings, so that timeouts, breakers and budgets all come into play. */
export function profileArb(effect: 'idempotent' | 'non-idempotent'): fc.Arbitrary<ProfileInput> {
  return fc
    .record({
      attemptMs: fc.integer({ min: 20, max: 600 }),
      extraTotalMs: fc.integer({ min: 0, max: 2_500 }),
      maxAttempts: fc.integer({ min: 1, max: 5 }),
      initialMs: fc.integer({ min: 0, max: 150 }),
      extraMaxMs: fc.integer({ min: 0, max: 600 }),
      kind: fc.constantFrom('exponential' as const, 'decorrelated' as const, 'constant' as const),
      jitter: fc.constantFrom('full' as const, 'none' as const),
      maxRetryAfterMs: fc.integer({ min: 0, max: 3_000 }),
      budget: fc.boolean(),
      breaker: fc.option(
        fc.record({
          mode: fc.constantFrom('consecutive' as const, 'window' as const),
          consecutiveFailures: fc.integer({ min: 1, max: 5 }),
          failureRatio: fc.double({ min: 0.2, max: 1, noNaN: true }),
          minimumThroughput: fc.integer({ min: 1, max: 6 }),
          openMs: fc.integer({ min: 20, max: 1_500 }),
          openMultiplier: fc.integer({ min: 1, max: 3 }),
          extraOpenMs: fc.integer({ min: 0, max: 2_000 }),
          halfOpenProbes: fc.integer({ min: 1, max: 3 }),
          halfOpenMaxWaitMs: fc.integer({ min: 20, max: 2_000 }),
          waitWhenOpen: fc.boolean(),
        }),
        { nil: undefined, freq: 5 },
      ),
      gate: fc.option(
        fc.record({
          concurrency: fc.option(fc.integer({ min: 1, max: 4 }), { nil: null }),
          maxQueue: fc.integer({ min: 0, max: 6 }),
          queueTimeoutMs: fc.option(fc.integer({ min: 10, max: 2_000 }), { nil: null }),
        }),
        { nil: undefined, freq: 5 },
      ),
    })
    .map((p): ProfileInput => {
      const b = p.breaker;
      return {
        extends: effect,
        name: `chaos-${effect}`,
        timeout: { attemptMs: p.attemptMs, totalMs: p.attemptMs + p.extraTotalMs },
        retry: {
          maxAttempts: p.maxAttempts,
          backoff: {
            kind: p.kind,
            initialMs: p.initialMs,
            maxMs: p.initialMs + p.extraMaxMs,
            multiplier: 2,
            jitter: p.jitter,
          },
          maxRetryAfterMs: p.maxRetryAfterMs,
          budget: p.budget ? { ratio: 0.2, minPerSecond: 2, windowMs: 2_000 } : false,
        },
        breaker:
          b === undefined
            ? false
            : {
                mode: b.mode,
                consecutiveFailures: b.consecutiveFailures,
                failureRatio: b.failureRatio,
                minimumThroughput: b.minimumThroughput,
                windowMs: Math.max(2 * p.attemptMs, 1_000),
                buckets: 10,
                openMs: b.openMs,
                openMultiplier: b.openMultiplier,
                maxOpenMs: b.openMs + b.extraOpenMs,
                halfOpenProbes: b.halfOpenProbes,
                halfOpenMaxWaitMs: b.halfOpenMaxWaitMs,
                waitWhenOpen: b.waitWhenOpen,
              },
        gate:
          p.gate === undefined
            ? false
            : {
                concurrency: p.gate.concurrency,
                maxQueue: p.gate.maxQueue,
                queueTimeoutMs: p.gate.queueTimeoutMs,
                rate: null,
              },
      };
    });
}

/**
 * The ledger's store: sometimes tiny (eviction pressure), and failing as a
 * shared Redis does — refusals, stalls shorter and longer than the command
 * timeout, lost replies, restarts mid-call.
 */
export const storeArb: fc.Arbitrary<StoreSpec> = fc.record({
  maxEntries: fc.option(fc.integer({ min: 1, max: 16 }), { nil: undefined, freq: 2 }),
  steps: fc.array(
    fc.record({
      fault: fc.oneof(
        { weight: 6, arbitrary: fc.constant('ok' as const) },
        {
          weight: 4,
          arbitrary: fc.constantFrom(
            'fail' as const,
            'stall' as const,
            'lost_reply' as const,
            'down' as const,
          ),
        },
      ),
      latencyMs: fc.integer({ min: 0, max: 800 }),
    }),
    { maxLength: 40 },
  ),
});

/** How a 429 says how long to wait, and for how long. */
export interface RateLimitWait {
  readonly retryAfter: RetryAfter;
  /** The wait it means, in milliseconds. */
  readonly ms: number;
}

/**
 * A wait as a rate-limited provider sends it: short (tens to hundreds of ms,
 * in `retry-after-ms`), long (seconds, in `retry-after-ms`), or in whole
 * seconds (`retry-after`, which rounds a short wait up to a second).
 */
export const rateLimitWaitArb: fc.Arbitrary<RateLimitWait> = fc.oneof(
  fc
    .integer({ min: 10, max: 300 })
    .map((ms) => ({ retryAfter: { header: 'retry-after-ms' as const, value: String(ms) }, ms })),
  fc
    .integer({ min: 1_000, max: 8_000 })
    .map((ms) => ({ retryAfter: { header: 'retry-after-ms' as const, value: String(ms) }, ms })),
  fc
    .integer({ min: 1, max: 8 })
    .map((s) => ({ retryAfter: { header: 'retry-after' as const, value: String(s) }, ms: s * 1_000 })),
);

/**
 * The herd of issue 13, drawn: a provider that answers a burst of requests
 * with 429, then refuses the first probes after the cooldown (each with its
 * own wait), then accepts everything; and the callers who meet it.
 */
export interface RateLimitBurst {
  /** Requests answered 429 before the first cooldown ends (the burst). */
  readonly burst: number;
  readonly burstWait: RateLimitWait;
  /** The waits of the probes refused after the cooldown, in order. */
  readonly probes: readonly RateLimitWait[];
  /** Virtual milliseconds each request takes. */
  readonly latencyMs: number;
  readonly concurrency: number;
  /** For each caller: when it starts and its deadline, in virtual ms. */
  readonly calls: readonly { readonly startAt: number; readonly deadlineMs: number }[];
}

export const rateLimitBurstArb: fc.Arbitrary<RateLimitBurst> = fc.record({
  burst: fc.integer({ min: 1, max: 24 }),
  burstWait: rateLimitWaitArb,
  probes: fc.array(rateLimitWaitArb, { maxLength: 3 }),
  latencyMs: fc.integer({ min: 1, max: 50 }),
  concurrency: fc.integer({ min: 1, max: 16 }),
  calls: fc.array(
    fc.record({ startAt: fc.integer({ min: 0, max: 500 }), deadlineMs: fc.integer({ min: 0, max: 30_000 }) }),
    { minLength: 1, maxLength: 24 },
  ),
});
