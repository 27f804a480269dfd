/**
 * Fuzz: hostile Retry-After values (`-5`, `NaN`, `1e99`, far-future and past
 * dates, garbage) are parsed as absent or as a bounded wait, and a call that
 * meets them still ends — with a value or a classified failure — by its
 * deadline, having waited no longer than the profile's cap.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyHttp } from '../../src/failure/classify.js';
import { isBreakwaterError } from '../../src/failure/errors.js';
import { ABSURD_WAIT_MS, parseRetryAfter } from '../../src/failure/retry-after.js';
import { createPolicy } from '../../src/policy/pipeline.js';
import { createVirtualClock } from '../../src/policy/virtual-clock.js';
import { hostileRetryAfterValues } from '../chaos/arbitraries.js';
import { params, runsFor } from '../chaos/config.js';
import { httpError } from '../chaos/in-process.js';

const HEADERS = [
  'retry-after',
  'retry-after-ms',
  'x-ratelimit-reset-requests',
  'x-ratelimit-reset-tokens',
  'anthropic-ratelimit-requests-reset',
  'anthropic-ratelimit-tokens-reset',
] as const;

const hostileValue = fc.oneof(
  fc.constantFrom(...hostileRetryAfterValues().map((r) => r.value)),
  fc.constantFrom(
    '-0',
    '+5',
    ' 5 ',
    '5e3',
    '0x10',
    '1_000',
    '1h2m',
    '6m0s',
    '-6m0s',
    '99999999h',
    '1.5s',
    'ms',
  ),
  fc.double().map(String),
  fc.integer({ min: -1e12, max: 1e12 }).map((ms) => new Date(Date.now() + ms).toUTCString()),
  fc.integer({ min: -1e12, max: 1e12 }).map((ms) => new Date(Date.now() + ms).toISOString()),
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 2_000 }),
);

const headersArb = fc.dictionary(
  fc.constantFrom(...HEADERS, 'x-ratelimit-remaining-requests', 'anthropic-ratelimit-requests-remaining'),
  hostileValue,
);

describe('fuzz: Retry-After parsing', () => {
  it('is absent or a finite wait between 0 and a day, whatever the headers say', () => {
    fc.assert(
      fc.property(headersArb, (headers) => {
        const ms = parseRetryAfter(headers, Date.now());
        if (ms !== undefined) {
          expect(Number.isFinite(ms)).toBe(true);
          expect(ms).toBeGreaterThanOrEqual(0);
          expect(ms).toBeLessThanOrEqual(ABSURD_WAIT_MS);
        }
        for (const status of [429, 503, 529]) {
          const f = classifyHttp(status, headers, undefined);
          expect(f.retryAfterMs === undefined || Number.isFinite(f.retryAfterMs)).toBe(true);
        }
      }),
      params(runsFor(1_000)),
    );
  });

  it('treats the classic hostile values as absent, and a past date as now', () => {
    const now = Date.now();
    for (const value of [
      '-5',
      'NaN',
      '1e99',
      'Infinity',
      'Fri, 31 Dec 9999 23:59:59 GMT',
      '9'.repeat(400),
      'soon',
    ])
      expect(parseRetryAfter({ 'retry-after': value }, now), value).toBeUndefined();
    expect(parseRetryAfter({ 'retry-after': new Date(now - 3_600_000).toUTCString() }, now)).toBe(0);
    expect(parseRetryAfter({ 'retry-after-ms': '1e308' }, now)).toBeUndefined();
  });
});

describe('fuzz: a dependency that answers with hostile Retry-After values', () => {
  it('never makes a call wait past its cap or end past its deadline', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom(429, 503, 529), headersArb), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 0, max: 60_000 }),
        fc.integer({ min: 1, max: 120_000 }),
        fc.boolean(),
        async (answers, maxRetryAfterMs, deadlineMs, gate) => {
          const clock = createVirtualClock(1_000_000);
          const policy = createPolicy(
            {
              timeout: { attemptMs: 1_000, totalMs: 300_000 },
              retry: {
                maxAttempts: 6,
                maxRetryAfterMs,
                backoff: { initialMs: 10, maxMs: 100 },
                budget: false,
              },
              breaker: false,
              gate: gate ? { concurrency: 2, maxQueue: 4, queueTimeoutMs: null } : false,
            },
            { clock, random: () => 0.5 },
          );
          const queue = [...answers];
          const delays: number[] = [];
          const run = (): Promise<string> =>
            policy.run(
              async () => {
                const next = queue.shift();
                if (next) throw httpError(next[0], next[1]);
                return 'ok';
              },
              { deadlineMs, onRetry: ({ delayMs }) => delays.push(delayMs) },
            );
          const start = clock.now();
          // A second caller behind the first: a cooldown the first one set must not hold it past its own deadline.
          const settled = await clock.run(Promise.allSettled([run(), run()]), { maxMs: deadlineMs + 1 });
          expect(clock.now() - start).toBeLessThanOrEqual(deadlineMs);
          for (const d of delays) {
            expect(Number.isFinite(d)).toBe(true);
            expect(d).toBeLessThanOrEqual(Math.max(maxRetryAfterMs, 100));
          }
          for (const s of settled) {
            if (s.status === 'fulfilled') expect(s.value).toBe('ok');
            else expect(isBreakwaterError(s.reason), String(s.reason)).toBe(true);
          }
          expect(policy.gate?.cooldownRemaining() ?? 0).toBeLessThanOrEqual(ABSURD_WAIT_MS);
        },
      ),
      params(runsFor(300)),
    );
  });
});
