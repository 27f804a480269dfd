import { describe, expect, it } from 'vitest';
import { RateLimitedError } from '../../src/failure/errors.js';
import type { PolicyEvent } from '../../src/policy/events.js';
import { createPolicy } from '../../src/policy/pipeline.js';
import type { ProfileInput } from '../../src/policy/profile.js';
import { createVirtualClock } from '../../src/policy/virtual-clock.js';
import { caught } from '../fakes/caught.js';

const profile: ProfileInput = {
  timeout: { attemptMs: 1_000, totalMs: 10_000 },
  retry: {
    maxAttempts: 1,
    budget: false,
    backoff: { kind: 'exponential', initialMs: 400, maxMs: 4_000, multiplier: 2, jitter: 'full' },
  },
  breaker: false,
  gate: { concurrency: 64, maxQueue: 256, queueTimeoutMs: 10_000, rate: null },
};

const tooMany = (headers: Record<string, string>) =>
  Object.assign(new Error('HTTP 429'), { status: 429, headers });

describe('a 429 that names no usable wait still pauses the dependency (never hammer)', () => {
  for (const [name, headers] of [
    ['no Retry-After', {}],
    ['Retry-After: 0', { 'retry-after': '0' }],
    ['an unparsable Retry-After', { 'retry-after': 'soon' }],
  ] as const) {
    it(`${name}: every caller waits the first backoff step, then calls go again`, async () => {
      const clock = createVirtualClock(1_000_000);
      const events: PolicyEvent[] = [];
      const policy = createPolicy(profile, {
        clock,
        dependency: 'bare-429',
        observer: { event: (e) => events.push(e) },
      });
      await caught(clock.run(policy.run(() => Promise.reject(tooMany(headers)))));
      expect(events.find((e) => e.type === 'cooldown_started')).toMatchObject({ retryAfterMs: 400 });
      expect(policy.gate?.cooldownRemaining()).toBe(400);

      let reached = 0;
      const calls = Array.from({ length: 20 }, () =>
        policy.run(async () => {
          reached++;
          return 'ok';
        }),
      );
      await clock.advance(399);
      expect(reached).toBe(0);
      await clock.advance(1);
      await clock.run(Promise.all(calls));
      expect(reached).toBe(20);
    });
  }
});

describe('a hold decided on this side (rate limited, not sent) pauses nobody', () => {
  it("a deployment's own quota refusing an attempt is not the dependency's 429: no cooldown, the next caller goes at once", async () => {
    const clock = createVirtualClock(1_000_000);
    const events: PolicyEvent[] = [];
    const policy = createPolicy(profile, {
      clock,
      dependency: 'held-here',
      observer: { event: (e) => events.push(e) },
    });
    // What createQuota throws when room comes only after the deadline: a wait it guessed, nothing sent.
    const held = new RateLimitedError({
      failure: {
        kind: 'rate_limited',
        delivery: 'not_sent',
        code: 'quota_held',
        retryAfterMs: 58_000,
        message: 'does not fit the quota before the deadline: not sent',
        cause: undefined,
      },
      dependency: 'held-here',
    });
    await caught(clock.run(policy.run(() => Promise.reject(held))));
    expect(events.some((e) => e.type === 'cooldown_started')).toBe(false);
    expect(policy.gate?.cooldownRemaining()).toBe(0);
    expect(policy.health.cooldownUntil(clock.now())).toBeLessThanOrEqual(clock.now());
    expect(await clock.run(policy.run(async () => 'ok'))).toBe('ok');
  });
});
