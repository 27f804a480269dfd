import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CircuitOpenError } from '../../src/failure/errors.js';
import type { PolicyEvent } from '../../src/policy/events.js';
import { createPolicy } from '../../src/policy/pipeline.js';
import { ProfileError, type ProfileInput } from '../../src/policy/profile.js';
import { createVirtualClock, type VirtualClock } from '../../src/policy/virtual-clock.js';
import { createRedisStore } from '../../src/state/redis.js';
import { caught } from '../fakes/caught.js';
import { connect, ownRedis, redisOrSkip, runWithRedis, testPrefix } from '../fakes/redis.js';

const available = await redisOrSkip();

const http = (status: number, headers: Record<string, string> = {}) =>
  Object.assign(new Error(`HTTP ${status}`), { status, headers });

describe.skipIf(!available)('shared health on the real Redis behaves as in process (issue 13)', () => {
  let client: Redis;
  beforeAll(() => {
    client = connect();
  });
  afterAll(async () => {
    await client.quit();
  });

  const run = <T>(clock: VirtualClock, p: Promise<T>) => runWithRedis(clock, client, p);

  /** One "process": its own store instance on a shared prefix, on the test's virtual clock. */
  const processOn = (prefix: string, clock: VirtualClock, profile: ProfileInput, syncMs = 0) => {
    const events: PolicyEvent[] = [];
    const policy = createPolicy(profile, {
      clock,
      dependency: 'dead',
      shared: createRedisStore(client, { prefix, syncMs }),
      observer: { event: (e) => events.push(e) },
    });
    return { policy, events };
  };

  it('calls queued at the gate are re-checked against the shared breaker after their wait', async () => {
    const clock = createVirtualClock(1_000_000);
    const { policy } = processOn(testPrefix('queued'), clock, {
      retry: { maxAttempts: 1, budget: false },
      breaker: { mode: 'consecutive', consecutiveFailures: 1, openMs: 60_000 },
      gate: { concurrency: 1, maxQueue: 16, queueTimeoutMs: 10_000, rate: null },
    });
    let reached = 0;
    const dead = async () => {
      reached++;
      await new Promise((r) => setTimeout(r, 5));
      throw http(500);
    };
    const errors = await Promise.all(Array.from({ length: 6 }, () => caught(policy.run(dead))));
    expect(reached).toBe(1);
    expect(errors.filter((e) => e instanceof CircuitOpenError)).toHaveLength(5);
  });

  it('waitWhenOpen waits for the shared breaker instead of failing', async () => {
    const clock = createVirtualClock(1_000_000);
    const prefix = testPrefix('wait');
    const profile: ProfileInput = {
      timeout: { attemptMs: 1_000, totalMs: 30_000 },
      retry: { maxAttempts: 1, budget: false },
      breaker: { mode: 'consecutive', consecutiveFailures: 1, openMs: 5_000, waitWhenOpen: true },
      gate: false,
    };
    const one = processOn(prefix, clock, profile);
    const two = processOn(prefix, clock, profile);
    await caught(
      run(
        clock,
        one.policy.run(() => Promise.reject(http(500))),
      ),
    );
    const start = clock.now();
    expect(
      await run(
        clock,
        two.policy.run(async () => 'served'),
      ),
    ).toBe('served');
    expect(clock.now() - start).toBe(5_000);
  });

  it('an open shared breaker stops the retry loop at once, not after a backoff', async () => {
    const clock = createVirtualClock(1_000_000);
    const { policy } = processOn(testPrefix('stop'), clock, {
      timeout: { attemptMs: 1_000, totalMs: 30_000 },
      retry: { maxAttempts: 3, budget: false, backoff: { initialMs: 2_000, jitter: 'none' } },
      breaker: { mode: 'consecutive', consecutiveFailures: 1, openMs: 60_000 },
      gate: false,
    });
    let reached = 0;
    const start = clock.now();
    const err = await caught(
      run(
        clock,
        policy.run(async () => {
          reached++;
          throw http(503);
        }),
      ),
    );
    expect(err).toBeInstanceOf(CircuitOpenError);
    expect(reached).toBe(1);
    expect(clock.now()).toBe(start);
  });

  it('policy.breaker exists with Redis: isolate, disable, snapshot; telemetry hears shared transitions', async () => {
    const clock = createVirtualClock(1_000_000);
    const prefix = testPrefix('controls');
    const profile: ProfileInput = {
      retry: { maxAttempts: 1, budget: false },
      breaker: { mode: 'consecutive', consecutiveFailures: 1, openMs: 60_000 },
      gate: false,
    };
    const one = processOn(prefix, clock, profile);
    const two = processOn(prefix, clock, profile);
    expect(two.policy.breaker).toBeDefined();
    // A trip in one process is a transition the other process reports when it sees it.
    await caught(
      run(
        clock,
        one.policy.run(() => Promise.reject(http(500))),
      ),
    );
    expect(
      await caught(
        run(
          clock,
          two.policy.run(async () => 'x'),
        ),
      ),
    ).toBeInstanceOf(CircuitOpenError);
    expect(two.events.filter((e) => e.type === 'breaker_transition')).toMatchObject([
      { from: 'closed', to: 'open', reason: 'failures' },
    ]);
    expect(two.policy.breaker?.snapshot()).toMatchObject({ state: 'open', trips: 1 });

    two.policy.breaker?.reset();
    const release = two.policy.breaker!.isolate();
    expect(two.policy.breaker?.state).toBe('isolated');
    // Isolation is shared: the other process refuses too.
    expect(
      await caught(
        run(
          clock,
          one.policy.run(async () => 'x'),
        ),
      ),
    ).toBeInstanceOf(CircuitOpenError);
    release();
    expect(
      await run(
        clock,
        one.policy.run(async () => 'back'),
      ),
    ).toBe('back');

    one.policy.breaker?.disable();
    for (let i = 0; i < 3; i++)
      await caught(
        run(
          clock,
          one.policy.run(() => Promise.reject(http(500))),
        ),
      );
    expect(
      await run(
        clock,
        two.policy.run(async () => 'still'),
      ),
    ).toBe('still');
    expect(two.policy.breaker?.state).toBe('disabled');
  });

  it('sharing health without a dependency name is a profile error that says how to name it', () => {
    expect(() =>
      createPolicy('llm', { shared: createRedisStore(client, { prefix: testPrefix('unnamed') }) }),
    ).toThrow(ProfileError);
    expect(() =>
      createPolicy('llm', { shared: createRedisStore(client, { prefix: testPrefix('unnamed') }) }),
    ).toThrow(/dependency: "/);
  });

  it('a Retry-After of a day pauses the other processes for maxCooldownMs at most (issue 12 item 14)', async () => {
    const clock = createVirtualClock(1_000_000);
    const prefix = testPrefix('cap');
    const profile: ProfileInput = {
      timeout: { attemptMs: 1_000, totalMs: 10_000 },
      retry: { maxAttempts: 1, budget: false },
      breaker: false,
      gate: { concurrency: 4, maxQueue: 16, queueTimeoutMs: 10_000, rate: null, maxCooldownMs: 60_000 },
    };
    const one = processOn(prefix, clock, profile);
    const two = processOn(prefix, clock, profile);
    await caught(
      run(
        clock,
        one.policy.run(() => Promise.reject(http(429, { 'retry-after': '86399' }))),
      ),
    );
    const raw = await client.hget(`${prefix}health:{dead}`, 'cd');
    expect(Number(raw) - clock.now()).toBe(60_000);
    let reached = 0;
    const call = () =>
      two.policy.run(async () => {
        reached++;
        return 'ok';
      });
    await clock.advance(30_000);
    expect(await caught(run(clock, call()))).toMatchObject({ code: 'rate_limited' });
    expect(reached).toBe(0);
    await clock.advance(30_000);
    expect(await run(clock, call())).toBe('ok');
    expect(reached).toBe(1);
  });
});

describe.skipIf(!available)('one admit refresh per process per syncMs, whatever the concurrency', () => {
  it('256 concurrent callers with a stale view send one admit script, counted by Redis INFO commandstats', async () => {
    // A Redis of its own, so that its command counts are this test's alone.
    const server = await ownRedis();
    await server.start();
    const client = connect(server.port);
    try {
      const clock = createVirtualClock(1_000_000);
      const store = createRedisStore(client, { prefix: testPrefix('storm'), syncMs: 100 });
      const policy = createPolicy(
        { retry: { maxAttempts: 1, budget: false }, gate: false },
        { clock, dependency: 'busy', shared: store },
      );
      const evals = async () => {
        const info = await client.info('commandstats');
        // EVAL on a connection's first use of the script, EVALSHA after: both are script calls.
        let calls = 0;
        for (const m of info.matchAll(/^cmdstat_eval(?:sha)?:calls=(\d+)/gm)) calls += Number(m[1]);
        return calls;
      };
      expect(await evals()).toBe(0);
      const results = await Promise.all(Array.from({ length: 256 }, () => policy.run(async () => 'ok')));
      expect(results.every((r) => r === 'ok')).toBe(true);
      expect(await evals()).toBe(1);
      // A second wave within syncMs decides from the view: no script at all.
      await Promise.all(Array.from({ length: 256 }, () => policy.run(async () => 'ok')));
      expect(await evals()).toBe(1);
      // Once the view is stale, one more for the whole wave (and its batched successes travel with it).
      await clock.advance(100);
      await Promise.all(Array.from({ length: 256 }, () => policy.run(async () => 'ok')));
      expect(await evals()).toBe(2);
    } finally {
      client.disconnect();
      await server.kill();
    }
  });
});
