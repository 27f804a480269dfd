/**
 * A rejected result is a failed attempt of the kind its predicate chose, and
 * the pipeline tells health so through the one `Health` contract. This
 * property runs the same random sequence of answers (good, bad of a counted
 * kind, bad of a kind the breaker does not count, bad as a rate limit) and
 * clock steps through a policy in process and one whose health is on the
 * real Redis, and requires the same outcome and the same breaker at every
 * step.
 */
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPolicy, type Policy } from '../../src/policy/pipeline.js';
import type { ProfileInput } from '../../src/policy/profile.js';
import type { ResultFailureKind } from '../../src/policy/result-failure.js';
import { createVirtualClock, type VirtualClock } from '../../src/policy/virtual-clock.js';
import { createRedisStore } from '../../src/state/redis.js';
import type { RedisHealth } from '../../src/state/redis-health.js';
import { connect, redisOrSkip, runWithRedis, testPrefix } from '../fakes/redis.js';

const available = await redisOrSkip();

type Step =
  | { readonly kind: 'answer'; readonly bad: ResultFailureKind | undefined }
  | { readonly kind: 'wait'; readonly ms: number };

const steps: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('answer' as const),
      bad: fc.constantFrom<ResultFailureKind | undefined>(
        undefined,
        'server_error',
        'unknown',
        'client_error',
        'rate_limited',
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 1, max: 3_000 }) }),
  },
);

const profiles: fc.Arbitrary<ProfileInput> = fc
  .record({
    mode: fc.constantFrom('consecutive' as const, 'window' as const),
    effect: fc.constantFrom('idempotent' as const, 'non-idempotent' as const),
    consecutiveFailures: fc.integer({ min: 1, max: 3 }),
    minimumThroughput: fc.integer({ min: 1, max: 4 }),
  })
  .map((p) => ({
    effect: p.effect,
    timeout: { attemptMs: 100, totalMs: 10_000 },
    retry: {
      maxAttempts: 2,
      backoff: { initialMs: 10, maxMs: 50, jitter: 'none' as const },
      budget: false as const,
    },
    breaker: {
      mode: p.mode,
      consecutiveFailures: p.consecutiveFailures,
      windowMs: 2_000,
      buckets: 4,
      minimumThroughput: p.minimumThroughput,
      failureRatio: 0.5,
      openMs: 1_000,
      maxOpenMs: 4_000,
    },
    gate: false as const,
  }));

/** The outcome of one call, as data both policies must agree on. */
async function outcome(
  clock: VirtualClock,
  client: Redis,
  policy: Policy,
  bad: ResultFailureKind | undefined,
) {
  const run = policy.run(async () => (bad === undefined ? 'good' : 'bad'), {
    failOnResult: (v) => v === 'bad' && { kind: bad! },
  });
  try {
    return { value: await runWithRedis(clock, client, run) };
  } catch (err) {
    const e = err as { code: string; failure: { kind: string }; outcome: string; attempts: unknown[] };
    return { code: e.code, kind: e.failure.kind, outcome: e.outcome, attempts: e.attempts.length };
  }
}

describe.skipIf(!available)('a rejected result counts the same in process and on Redis', () => {
  let client: Redis;
  beforeAll(() => {
    client = connect();
  });
  afterAll(async () => {
    await client.quit();
  });

  it('bad answers of a counted kind open the shared breaker for every process, as they open the local one', async () => {
    const profile: ProfileInput = {
      effect: 'non-idempotent',
      retry: { maxAttempts: 1, budget: false },
      breaker: { mode: 'consecutive', consecutiveFailures: 2, openMs: 5_000 },
      gate: false,
    };
    const clock = createVirtualClock(1_700_000_000_000);
    const prefix = testPrefix('result-open');
    const one = createPolicy(profile, {
      clock,
      dependency: 'images',
      shared: createRedisStore(client, { prefix, syncMs: 0, checkPersistence: false }),
    });
    const two = createPolicy(profile, {
      clock,
      dependency: 'images',
      shared: createRedisStore(client, { prefix, syncMs: 0, checkPersistence: false }),
    });
    const local = createPolicy(profile, { clock, dependency: 'images' });
    for (const p of [one, local])
      for (let i = 0; i < 2; i++)
        expect((await outcome(clock, client, p, 'server_error')).code).toBe('dependency_failed');
    expect(local.health.state).toBe('open');
    // The other process never saw a bad answer, and is refused all the same.
    expect(await outcome(clock, client, two, undefined)).toMatchObject({ code: 'circuit_open' });
    // Of a kind the breaker does not count, any number of bad answers leave it closed.
    const calm = createPolicy(profile, {
      clock,
      dependency: 'images',
      shared: createRedisStore(client, {
        prefix: testPrefix('result-calm'),
        syncMs: 0,
        checkPersistence: false,
      }),
    });
    for (let i = 0; i < 4; i++) await outcome(clock, client, calm, 'client_error');
    expect(calm.health.state).toBe('closed');
  });

  it('the same outcomes and the same breaker, step by step, for any sequence of answers', async () => {
    await fc.assert(
      fc.asyncProperty(
        profiles,
        fc.array(steps, { minLength: 1, maxLength: 25 }),
        async (profile, script) => {
          // Two clocks on the same start: each policy's waits advance only its own.
          const localClock = createVirtualClock(1_700_000_000_000);
          const sharedClock = createVirtualClock(1_700_000_000_000);
          const local = createPolicy(profile, { clock: localClock, dependency: 'images', random: () => 0.5 });
          const shared = createPolicy(profile, {
            clock: sharedClock,
            dependency: 'images',
            random: () => 0.5,
            shared: createRedisStore(client, {
              prefix: testPrefix('result'),
              syncMs: 0,
              checkPersistence: false,
            }),
          });
          for (const [i, step] of script.entries()) {
            const at = `step ${i} of ${JSON.stringify(script.slice(0, i + 1))}`;
            if (step.kind === 'wait') {
              await localClock.advance(step.ms);
              await sharedClock.advance(step.ms);
            } else {
              const a = await outcome(localClock, client, local, step.bad);
              const b = await outcome(sharedClock, client, shared, step.bad);
              expect(b, at).toEqual(a);
            }
            expect(sharedClock.now(), at).toBe(localClock.now());
            await (shared.health as RedisHealth).sync(sharedClock.now());
            const l = local.health.snapshot(localClock.now());
            const r = shared.health.snapshot(sharedClock.now());
            expect({ state: r.state, failures: r.consecutiveFailures, trips: r.trips }, at).toEqual({
              state: l.state,
              failures: l.consecutiveFailures,
              trips: l.trips,
            });
          }
        },
      ),
      { numRuns: 15 },
    );
  }, 120_000);
});
