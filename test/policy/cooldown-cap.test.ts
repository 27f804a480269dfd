import { describe, expect, it } from 'vitest';
import type { PolicyEvent } from '../../src/policy/events.js';
import { createPolicy } from '../../src/policy/pipeline.js';
import { ProfileError, type ProfileInput, resolveProfile } from '../../src/policy/profile.js';
import { createVirtualClock } from '../../src/policy/virtual-clock.js';
import { caught } from '../fakes/caught.js';

const aDay = () => Object.assign(new Error('HTTP 429'), { status: 429, headers: { 'retry-after': '86399' } });

const capped: ProfileInput = {
  timeout: { attemptMs: 1_000, totalMs: 10_000 },
  retry: { maxAttempts: 1, budget: false },
  breaker: false,
  gate: { concurrency: 4, maxQueue: 16, queueTimeoutMs: 10_000, rate: null, maxCooldownMs: 60_000 },
};

describe('a shared pause has a cap (issue 12 item 14)', () => {
  it('the default is a minute, and the field is checked', () => {
    expect(resolveProfile('llm').gate).toMatchObject({ maxCooldownMs: 60_000 });
    expect(() => resolveProfile({ gate: { maxCooldownMs: 0 } })).toThrow(ProfileError);
  });

  it('one Retry-After: 86399 pauses other callers in this process for at most maxCooldownMs, then calls go again', async () => {
    const clock = createVirtualClock(1_000_000);
    const events: PolicyEvent[] = [];
    const policy = createPolicy(capped, {
      clock,
      dependency: 'llm',
      observer: { event: (e) => events.push(e) },
    });
    await caught(clock.run(policy.run(() => Promise.reject(aDay()))));
    expect(events.find((e) => e.type === 'cooldown_started')).toMatchObject({ retryAfterMs: 86_399_000 });
    expect(policy.gate?.cooldownRemaining()).toBe(60_000);

    // Within the cap: paused (a 10 s deadline cannot outlast it).
    let reached = 0;
    const call = () =>
      policy.run(async () => {
        reached++;
        return 'ok';
      });
    await clock.advance(30_000);
    expect((await caught(clock.run(call()))) as { code?: string }).toMatchObject({ code: 'rate_limited' });
    expect(reached).toBe(0);

    // Past the cap: the dependency is called again (it would be a day on an uncapped pause).
    await clock.advance(30_000);
    expect(await clock.run(call())).toBe('ok');
    expect(reached).toBe(1);
  });
});
