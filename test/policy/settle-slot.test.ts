import { describe, expect, it } from 'vitest';
import type { Health, HealthSource } from '../../src/policy/health.js';
import { createPolicy } from '../../src/policy/pipeline.js';
import type { ProfileInput } from '../../src/policy/profile.js';
import { createVirtualClock } from '../../src/policy/virtual-clock.js';
import { caught } from '../fakes/caught.js';

const profile: ProfileInput = {
  timeout: { attemptMs: 1_000, totalMs: 5_000 },
  retry: { maxAttempts: 1, budget: false },
  breaker: { mode: 'consecutive', consecutiveFailures: 5, openMs: 1_000 },
  gate: { concurrency: 1, maxQueue: 4, queueTimeoutMs: 1_000, rate: null },
};

/** A shared store whose record of a failure rejects: a store outside breakwater's own may. */
function rejectingRecords(inner: Health): HealthSource {
  const health = new Proxy(inner, {
    get(target, name) {
      if (name === 'record') return () => Promise.reject(new Error('store down'));
      const value = Reflect.get(target, name, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { health: () => health };
}

describe('the gate slot is given back whatever the health record does', () => {
  it('a record that rejects leaves no slot taken: the next call still runs', async () => {
    const clock = createVirtualClock(1_000_000);
    const inner = createPolicy(profile, { clock, dependency: 'settle-slot' }).health;
    const policy = createPolicy(profile, {
      clock,
      dependency: 'settle-slot',
      shared: rejectingRecords(inner),
    });
    const err = await caught(
      clock.run(policy.run(() => Promise.reject(Object.assign(new Error('HTTP 503'), { status: 503 })))),
    );
    // The call ends with its own typed failure, not the store's error.
    expect(err).toMatchObject({ code: 'dependency_failed' });
    expect(policy.gate?.inFlight).toBe(0);
    await expect(clock.run(policy.run(async () => 'ok'))).resolves.toBe('ok');
  });

  it('a call let go from the queue leaves no unhandled rejection behind when the record rejects', async () => {
    const clock = createVirtualClock(1_000_000);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const inner = createPolicy(profile, { clock, dependency: 'settle-queue' }).health;
      const policy = createPolicy(profile, {
        clock,
        dependency: 'settle-queue',
        shared: rejectingRecords(inner),
      });
      let release: (() => void) | undefined;
      const holder = policy.run(() => new Promise<string>((r) => (release = () => r('held'))));
      const queued = policy.run(async () => 'queued', { deadlineMs: 10 });
      const err = await caught(clock.run(queued));
      expect(err).toMatchObject({ code: expect.stringMatching(/^(gate_rejected|rate_limited|timeout)$/) });
      release?.();
      await expect(clock.run(holder)).resolves.toBe('held');
      await new Promise((r) => setImmediate(r));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
