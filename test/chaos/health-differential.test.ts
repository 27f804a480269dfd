/**
 * The breaker, the cooldown and the retry budget exist twice: in TypeScript
 * (this process) and in Lua (shared through Redis). This property keeps them
 * equal: random sequences of call outcomes, Retry-Afters, budget draws,
 * manual commands and clock steps go through both, and every admission
 * decision and every state must be the same, step by step.
 *
 * A short run in `npm test`; `npm run chaos -- --runs N` runs it N times.
 */
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HealthPermit, HealthVerdict } from '../../src/policy/health.js';
import { LocalHealth } from '../../src/policy/local-health.js';
import { type ProfileInput, resolveProfile } from '../../src/policy/profile.js';
import { createVirtualClock } from '../../src/policy/virtual-clock.js';
import { createRedisStore } from '../../src/state/redis.js';
import type { RedisHealth } from '../../src/state/redis-health.js';
import { connect, redisOrSkip, testPrefix } from '../fakes/redis.js';
import { params, runsFor, timeoutFor } from './config.js';

const available = await redisOrSkip();

type Step =
  | { readonly kind: 'wait'; readonly ms: number }
  | { readonly kind: 'admit' }
  | {
      readonly kind: 'end';
      readonly which: number;
      readonly verdict: HealthVerdict;
      readonly durationMs: number;
    }
  | { readonly kind: 'cooldown'; readonly ms: number }
  | { readonly kind: 'first' }
  | { readonly kind: 'retry' }
  | { readonly kind: 'manual'; readonly action: 'isolate' | 'release' | 'disable' | 'reset' };

const steps: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 1, max: 3_000 }) }),
  },
  { weight: 4, arbitrary: fc.constant({ kind: 'admit' as const }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('end' as const),
      which: fc.nat(),
      verdict: fc.constantFrom<HealthVerdict>('success', 'failure', 'failure', 'neutral'),
      durationMs: fc.integer({ min: 0, max: 600 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('cooldown' as const),
      ms: fc.integer({ min: 1, max: 200_000 }),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'first' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'retry' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('manual' as const),
      action: fc.constantFrom('isolate' as const, 'release' as const, 'disable' as const, 'reset' as const),
    }),
  },
);

const profiles: fc.Arbitrary<ProfileInput> = fc
  .record({
    mode: fc.constantFrom('consecutive' as const, 'window' as const),
    consecutiveFailures: fc.integer({ min: 1, max: 3 }),
    buckets: fc.integer({ min: 2, max: 5 }),
    bucketMs: fc.integer({ min: 200, max: 1_000 }),
    minimumThroughput: fc.integer({ min: 1, max: 4 }),
    failureRatio: fc.constantFrom(0.3, 0.5, 1),
    slowCallMs: fc.option(fc.integer({ min: 50, max: 500 }), { nil: null }),
    openMs: fc.integer({ min: 100, max: 2_000 }),
    openMultiplier: fc.constantFrom(1, 2),
    halfOpenProbes: fc.integer({ min: 1, max: 2 }),
    halfOpenMaxWaitMs: fc.integer({ min: 100, max: 3_000 }),
    budgetRatio: fc.constantFrom(0, 0.2, 0.5, 1),
    minPerSecond: fc.integer({ min: 0, max: 2 }),
    budgetWindowMs: fc.integer({ min: 100, max: 500 }).map((n) => n * 10),
    maxCooldownMs: fc.integer({ min: 1_000, max: 120_000 }),
  })
  .map((p) => ({
    timeout: { attemptMs: 100, totalMs: 1_000 },
    retry: { budget: { ratio: p.budgetRatio, minPerSecond: p.minPerSecond, windowMs: p.budgetWindowMs } },
    breaker: {
      mode: p.mode,
      consecutiveFailures: p.consecutiveFailures,
      windowMs: p.buckets * p.bucketMs,
      buckets: p.buckets,
      minimumThroughput: p.minimumThroughput,
      failureRatio: p.failureRatio,
      slowCallMs: p.slowCallMs,
      slowCallRatio: 0.5,
      openMs: p.openMs,
      openMultiplier: p.openMultiplier,
      maxOpenMs: p.openMs * 4,
      halfOpenProbes: p.halfOpenProbes,
      halfOpenMaxWaitMs: p.halfOpenMaxWaitMs,
    },
    gate: { maxCooldownMs: p.maxCooldownMs },
  }));

describe.skipIf(!available)('in-process health and Redis health agree, step by step (issue 13)', () => {
  let client: Redis;
  beforeAll(() => {
    client = connect();
  });
  afterAll(async () => {
    await client.quit();
  });

  const runs = runsFor(60, 0.2);
  it(
    'admissions, states, pauses and budget draws are the same for any sequence',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          profiles,
          fc.array(steps, { minLength: 1, maxLength: 60 }),
          async (input, script) => {
            const profile = resolveProfile(input);
            const clock = createVirtualClock(1_700_000_000_000);
            const local = new LocalHealth(profile, clock);
            const shared = createRedisStore(client, { prefix: testPrefix('diff'), syncMs: 0 }).health(
              'dep',
              profile,
              clock,
            ) as RedisHealth;
            const out: [HealthPermit, HealthPermit][] = [];
            let release: [() => void, () => void] | undefined;
            for (const [i, step] of script.entries()) {
              const at = `step ${i} of ${JSON.stringify(script.slice(0, i + 1))}`;
              const now = clock.now();
              switch (step.kind) {
                case 'wait':
                  await clock.advance(step.ms);
                  break;
                case 'admit': {
                  const a = local.admit(now);
                  const b = await shared.admit(now);
                  expect(b, at).toEqual(a);
                  if (a.admitted && b.admitted) out.push([a.permit, b.permit]);
                  break;
                }
                case 'end': {
                  if (out.length === 0) break;
                  const [a, b] = out.splice(step.which % out.length, 1)[0]!;
                  local.record(a, step.verdict, step.durationMs, now);
                  await shared.record(b, step.verdict, step.durationMs, now);
                  break;
                }
                case 'cooldown': {
                  const a = local.cooldown(step.ms, now);
                  const b = shared.cooldown(step.ms, now);
                  expect(b.ms, at).toBe(a.ms);
                  await b.recorded;
                  expect(shared.cooldownUntil(now), at).toBe(local.cooldownUntil(now));
                  break;
                }
                case 'first':
                  local.firstAttempt(now);
                  shared.firstAttempt(now);
                  break;
                case 'retry':
                  expect(await shared.tryRetry(now), at).toBe(local.tryRetry(now));
                  break;
                case 'manual':
                  if (step.action === 'isolate') release = [local.isolate(), shared.isolate()];
                  else if (step.action === 'release') for (const r of release ?? []) r();
                  else {
                    local[step.action]();
                    shared[step.action]();
                  }
                  break;
              }
              // A view fetched now is exact (commands on one connection keep their order): compare the states.
              await shared.sync(clock.now());
              const [l, r] = [local.snapshot(clock.now()), shared.snapshot(clock.now())];
              expect(
                {
                  state: r.state,
                  trips: r.trips,
                  failures: r.consecutiveFailures,
                  retryAfterMs: r.retryAfterMs,
                },
                at,
              ).toEqual({
                state: l.state,
                trips: l.trips,
                failures: l.consecutiveFailures,
                retryAfterMs: l.retryAfterMs,
              });
              if (l.state === 'closed')
                expect([r.windowCalls, r.windowFailures], at).toEqual([l.windowCalls, l.windowFailures]);
            }
          },
        ),
        params(runs),
      );
    },
    timeoutFor(runs, 400),
  );
});
