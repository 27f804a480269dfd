import { describe, expect, it } from 'vitest';
import { createPolicy } from '../../src/policy/pipeline.js';
import type { ProfileInput } from '../../src/policy/profile.js';
import { createVirtualClock } from '../../src/policy/virtual-clock.js';
import { caught } from '../fakes/caught.js';

const httpError = (status: number) => Object.assign(new Error(`HTTP ${status}`), { status });

const profile: ProfileInput = {
  timeout: { attemptMs: 1_000, totalMs: 5_000 },
  retry: { maxAttempts: 1, budget: false },
  breaker: { mode: 'consecutive', consecutiveFailures: 1, openMs: 1_000, halfOpenProbes: 1 },
  gate: false,
};

describe('a refused credential says nothing of health (issue 14 item 3)', () => {
  it('a 401 answered to the half-open probe does not close the breaker', async () => {
    const clock = createVirtualClock(1_000_000);
    const policy = createPolicy(profile, { clock, dependency: 'auth-verdict' });
    await caught(clock.run(policy.run(() => Promise.reject(httpError(503)))));
    expect(policy.health.state).toBe('open');
    await clock.advance(1_000);
    await caught(clock.run(policy.run(() => Promise.reject(httpError(401)))));
    // A sane 4xx would close it; a refused key proves nothing about the dependency.
    expect(policy.health.state).not.toBe('closed');
  });

  it('a 400 answered to the probe still closes it: the dependency answered sanely', async () => {
    const clock = createVirtualClock(1_000_000);
    const policy = createPolicy(profile, { clock, dependency: 'auth-verdict-400' });
    await caught(clock.run(policy.run(() => Promise.reject(httpError(503)))));
    await clock.advance(1_000);
    await caught(clock.run(policy.run(() => Promise.reject(httpError(400)))));
    expect(policy.health.state).toBe('closed');
  });
});
