/**
 * A third outsider's attack on router v2 (model groups, quota, hedging,
 * fallbacks, embeddings) through the public API: real SDK clients over real
 * HTTP against the fakes, the virtual clock where time matters. One
 * `describe` per promise.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError, RateLimitedError } from '../../src/failure/index.js';
import { createVirtualClock, type PolicyEvent } from '../../src/policy/index.js';
import {
  AllProvidersFailedError,
  createOpenAIProvider,
  createRouter,
  type Provider,
} from '../../src/providers/index.js';
import { openaiReplies } from '../../src/testing/openai.js';
import { startFakeOpenAI } from '../fakes/openai-server.js';
import { hello, openaiClient, quickProfile } from './helpers.js';

type Fake = Awaited<ReturnType<typeof startFakeOpenAI>>;

let east: Fake;
let west: Fake;

beforeAll(async () => {
  [east, west] = await Promise.all([startFakeOpenAI(), startFakeOpenAI()]);
});

afterAll(async () => {
  await Promise.all([east.close(), west.close()]);
});

const gpt = (f: Fake, name: string): Provider =>
  createOpenAIProvider(openaiClient(f.baseURL), { model: 'gpt-test', name });

async function caught(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (e: unknown) => e,
  );
}

describe('never hammer: a local quota hold on a retry is not a 429 from the provider', () => {
  it('a retry held past its deadline by the quota sets no cooldown for other callers', async () => {
    const clock = createVirtualClock(0);
    const events: PolicyEvent[] = [];
    const router = createRouter({
      // One request a minute: the first attempt takes it, so the retry cannot fit before the deadline.
      groups: { only: { deployments: [{ id: 'east', provider: gpt(east, 'east'), limits: { rpm: 1 } }] } },
      clock,
      profile: quickProfile(),
      observer: { event: (e) => events.push(e) },
    });
    const before = east.count;
    east.enqueue(openaiReplies.error(500));
    const error = await caught(router.chat(hello, { deadlineMs: 10_000 }));
    expect(error).toBeInstanceOf(AllProvidersFailedError);
    // One request reached the provider, and it never said 429: nothing to cool down for.
    expect(east.count - before).toBe(1);
    expect(events.filter((e) => e.type === 'cooldown_started')).toEqual([]);
    const route = router.routes[0]!;
    expect(route.policy.gate?.cooldownRemaining(clock.now()) ?? 0).toBe(0);
    expect(route.policy.health.cooldownUntil(clock.now())).toBeLessThanOrEqual(clock.now());
  });
});

describe('never forever: a quota wait ends on an abort and at the deadline', () => {
  const router = (clock: ReturnType<typeof createVirtualClock>) =>
    createRouter({
      groups: { only: { deployments: [{ id: 'east', provider: gpt(east, 'east'), limits: { rpm: 1 } }] } },
      clock,
      profile: quickProfile({ retry: { maxAttempts: 1 } }),
    });

  it("the caller's abort during a quota wait throws CancelledError at once, sends nothing, holds nothing", async () => {
    const clock = createVirtualClock(0);
    const r = router(clock);
    await r.chat(hello, { deadlineMs: 120_000 });
    const before = east.count;
    const caller = new AbortController();
    // The minute's one request is spent: this call waits for the quota.
    const waiting = caught(r.chat(hello, { deadlineMs: 120_000, signal: caller.signal }));
    await clock.advance(10_000);
    caller.abort();
    expect(await waiting).toBeInstanceOf(CancelledError);
    expect(east.count).toBe(before);
    // The abandoned wait took nothing: a window later the next call goes at once.
    await clock.advance(50_000);
    await expect(r.chat(hello, { deadlineMs: 1_000 })).resolves.toMatchObject({ deployment: 'east' });
  });

  it('a deadline shorter than the hold fails at once as not sent, naming no prompt', async () => {
    const clock = createVirtualClock(0);
    const r = router(clock);
    await r.chat(hello, { deadlineMs: 120_000 });
    const before = east.count;
    const error = await caught(r.chat(hello, { deadlineMs: 5_000 }));
    expect(clock.now()).toBe(0);
    expect(error).toBeInstanceOf(AllProvidersFailedError);
    const f = (error as AllProvidersFailedError).failures[0]!;
    expect(f.error).toBeInstanceOf(RateLimitedError);
    expect(f.error.failure.delivery).toBe('not_sent');
    expect(east.count).toBe(before);
  });
});

describe('options are checked when the router is made, naming the field', () => {
  // Never called: only the options are under test.
  const stub: Provider = {
    name: 'stub',
    model: 'stub-1',
    chat: () => Promise.reject(new Error('not called')),
    stream: () => {
      throw new Error('not called');
    },
  };
  const base = { deployments: [{ id: 'east', provider: stub }] };
  it.each([
    [
      'a misspelt fallback class',
      { smart: { ...base, fallbacks: { unavailble: 'long' } }, long: base },
      'groups.smart.fallbacks.unavailble',
    ],
    [
      'fallbacks that are not an object',
      { smart: { ...base, fallbacks: 'long' }, long: base },
      'groups.smart.fallbacks',
    ],
    [
      'a fallback that is not a group name',
      { smart: { ...base, fallbacks: { unavailable: 42 } }, long: base },
      'groups.smart.fallbacks.unavailable',
    ],
    [
      'a misspelt limit',
      { smart: { deployments: [{ id: 'east', provider: stub, limits: { tokensPerMinute: 1 } }] } },
      'groups.smart.deployments[0].limits.tokensPerMinute',
    ],
  ])('%s', (_what, groups, field) => {
    expect(() => createRouter({ groups: groups as never })).toThrow(
      new RegExp(`^${field.replace(/[.[\]]/g, '\\$&')}:`),
    );
  });

  it.each([
    ['deadlineShare', { deadlineShare: 'none' }],
    ['waitForRetryAfter', { waitForRetryAfter: 'yes' }],
  ])('a bad %s', (field, extra) => {
    expect(() => createRouter({ groups: { smart: base }, ...(extra as object) } as never)).toThrow(
      new RegExp(`^${field}:`),
    );
  });
});
