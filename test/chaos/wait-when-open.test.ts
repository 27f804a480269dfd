/**
 * `breaker.waitWhenOpen`: a call that meets an open breaker waits for it,
 * within its deadline, instead of failing at once — the change the outage
 * benchmark called for (bench/outage.ts): callers with nothing to fall back
 * on ride out an outage and are let through the moment a probe succeeds.
 */
import { describe, expect, it } from 'vitest';
import { isBreakwaterError } from '../../src/failure/errors.js';
import { createPolicy } from '../../src/policy/pipeline.js';
import type { ProfileInput } from '../../src/policy/profile.js';
import { createVirtualClock, type VirtualClock } from '../../src/policy/virtual-clock.js';
import { httpError } from './in-process.js';

const profile = (waitWhenOpen: boolean): ProfileInput => ({
  timeout: { attemptMs: 1_000, totalMs: 10_000 },
  retry: { maxAttempts: 1, budget: false },
  breaker: { mode: 'consecutive', consecutiveFailures: 1, openMs: 1_000, maxOpenMs: 1_000, waitWhenOpen },
  gate: false,
});

/** A dependency that is down until `upAt`, answering after 10 ms; it notes the breaker's state at each arrival. */
function dependency(clock: VirtualClock, upAt: number, state: () => string | undefined) {
  const seen: Array<{ at: number; state: string | undefined }> = [];
  const call = async () => {
    seen.push({ at: clock.now(), state: state() });
    await new Promise<void>((r) => clock.setTimeout(r, 10));
    if (clock.now() < upAt) throw httpError(500);
    return 'ok';
  };
  return { call, seen };
}

describe('breaker.waitWhenOpen', () => {
  it('off (the default): a call meeting an open breaker fails at once with circuit_open', async () => {
    const clock = createVirtualClock(0);
    const policy = createPolicy(profile(false), { clock });
    const dep = dependency(clock, 500, () => policy.breaker?.state);
    await clock.run(policy.run(dep.call).catch(() => undefined));
    const err = await clock.run(policy.run(dep.call).catch((e: unknown) => e));
    expect(isBreakwaterError(err, 'circuit_open')).toBe(true);
    expect(clock.now()).toBe(10);
  });

  it('on: callers wait for the probe, and all go through the moment it succeeds', async () => {
    const clock = createVirtualClock(0);
    const policy = createPolicy(profile(true), { clock });
    const dep = dependency(clock, 500, () => policy.breaker?.state);
    await clock.run(policy.run(dep.call).catch(() => undefined));
    expect(policy.breaker?.state).toBe('open');
    // Three callers arrive while it is open; the dependency is back at 500 ms, the probe goes at 1 010 ms.
    const results = await clock.run(
      Promise.all([policy.run(dep.call), policy.run(dep.call), policy.run(dep.call)]),
    );
    expect(results).toEqual(['ok', 'ok', 'ok']);
    expect(dep.seen.map((s) => s.state)).toEqual(['closed', 'half_open', 'closed', 'closed']);
    // The probe answered at 1 020 ms; the two others were woken by the close and answered 10 ms later.
    expect(clock.now()).toBe(1_030);
  });

  it('on: a failed probe sends the waiters back to wait for the next one', async () => {
    const clock = createVirtualClock(0);
    const policy = createPolicy(profile(true), { clock });
    const dep = dependency(clock, 1_500, () => policy.breaker?.state);
    await clock.run(policy.run(dep.call).catch(() => undefined));
    const results = await clock.run(
      Promise.allSettled([policy.run(dep.call), policy.run(dep.call), policy.run(dep.call)]),
    );
    // The first probe (1 010 ms) fails and that caller, with one attempt, fails; the next probe (2 020 ms) succeeds.
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
    expect(dep.seen.map((s) => s.state)).toEqual(['closed', 'half_open', 'half_open', 'closed']);
  });

  it('on: a wait that would outlast the deadline is not started', async () => {
    const clock = createVirtualClock(0);
    const policy = createPolicy(profile(true), { clock });
    const dep = dependency(clock, 500, () => policy.breaker?.state);
    await clock.run(policy.run(dep.call).catch(() => undefined));
    const err = await clock.run(policy.run(dep.call, { deadlineMs: 500 }).catch((e: unknown) => e));
    expect(isBreakwaterError(err, 'circuit_open')).toBe(true);
    expect(clock.now()).toBe(10);
  });

  it('on: the caller aborting ends the wait at once, as cancelled', async () => {
    const clock = createVirtualClock(0);
    const policy = createPolicy(profile(true), { clock });
    const dep = dependency(clock, 500, () => policy.breaker?.state);
    await clock.run(policy.run(dep.call).catch(() => undefined));
    const caller = new AbortController();
    clock.setTimeout(() => caller.abort(new Error('gone')), 100);
    const err = await clock.run(policy.run(dep.call, { signal: caller.signal }).catch((e: unknown) => e));
    expect(isBreakwaterError(err, 'cancelled')).toBe(true);
    expect(clock.now()).toBe(110);
    expect(dep.seen.length).toBe(1);
  });
});
