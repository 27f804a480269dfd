/**
 * The quota's async face on a virtual clock: requests held until they fit,
 * in order, under the configured limits and the provider's last reading;
 * rejected at once when they cannot fit before the deadline or ever.
 */
import { describe, expect, it } from 'vitest';
import { isBreakwaterError, RateLimitedError } from '../../../src/failure/index.js';
import { createVirtualClock } from '../../../src/policy/virtual-clock.js';
import { createQuota, type QuotaReservation } from '../../../src/providers/quota/index.js';

const W = 60_000;

/** Whether `p` has settled after pending work ran, without advancing time. */
async function settledNow(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await new Promise((r) => setImmediate(r));
  return done;
}

describe('createQuota: configured limits', () => {
  it('admits at once while there is room, then holds until a settled request leaves the window', async () => {
    const clock = createVirtualClock();
    const quota = createQuota({ tpm: 1_000, clock });
    const a = await quota.acquire(600);
    await clock.advance(1_000);
    quota.settle(a, 600);
    const b = quota.acquire(500);
    expect(await settledNow(b)).toBe(false);
    // `a` counts for a whole window after it settled (at 1 s), because the provider may have counted it that late.
    await clock.advance(W - 1);
    expect(await settledNow(b)).toBe(false);
    await clock.advance(1);
    expect(await settledNow(b)).toBe(true);
    expect(clock.now()).toBe(1_000 + W);
  });

  it("20 concurrent callers each see the others' reservations: only what fits goes, the rest wait for settles", async () => {
    const clock = createVirtualClock();
    const quota = createQuota({ tpm: 10_000, clock });
    const admitted: QuotaReservation[] = [];
    const calls = Array.from({ length: 20 }, () => quota.acquire(1_000).then((r) => admitted.push(r)));
    await clock.advance(0);
    expect(admitted).toHaveLength(10);
    // Nothing settled: no time frees anything, the rest wait for the requests in flight.
    await clock.advance(10 * W);
    expect(admitted).toHaveLength(10);
    for (const r of admitted.slice(0, 10)) quota.settle(r, undefined);
    await clock.advance(W);
    expect(admitted).toHaveLength(20);
    await Promise.all(calls);
  });

  it('counts requests as well as tokens (rpm)', async () => {
    const clock = createVirtualClock();
    const quota = createQuota({ rpm: 2, clock });
    const r1 = await quota.acquire(0);
    await quota.acquire(0);
    quota.settle(r1);
    const third = quota.acquire(0);
    expect(await settledNow(third)).toBe(false);
    await clock.advance(W);
    expect(await settledNow(third)).toBe(true);
  });

  it('serves callers in order of arrival: a small request behind a large one does not delay it', async () => {
    const clock = createVirtualClock();
    const quota = createQuota({ tpm: 1_000, clock });
    quota.settle(await quota.acquire(800));
    const order: string[] = [];
    const big = quota.acquire(900).then((r) => {
      order.push('big');
      quota.settle(r);
    });
    const small = quota.acquire(150).then(() => order.push('small'));
    await clock.advance(0);
    // 150 now would leave 850 when the 800 leave the window: not enough for the 900 waiting first.
    expect(order).toEqual([]);
    await clock.run(Promise.all([big, small]));
    expect(order).toEqual(['big', 'small']);
  });

  it('a small request behind a large one goes first into room the large one cannot use', async () => {
    const clock = createVirtualClock();
    const quota = createQuota({ tpm: 1_000, clock });
    quota.settle(await quota.acquire(800));
    const order: string[] = [];
    const big = quota.acquire(900).then(() => order.push('big'));
    const small = quota.acquire(100).then(() => order.push('small'));
    await clock.advance(0);
    // 100 beside the 900 still fits when the 800 leave: it goes now, and the 900 at the same moment as before.
    expect(order).toEqual(['small']);
    await clock.advance(W);
    expect(order).toEqual(['small', 'big']);
    await Promise.all([big, small]);
  });

  it("a stream's minute starts when its headers arrive (the provider had counted it), not when it ends", async () => {
    const clock = createVirtualClock();
    const quota = createQuota({ tpm: 1_000, clock });
    const stream = await quota.acquire(1_000);
    await clock.advance(100);
    quota.observe(undefined, stream);
    // Still streaming: the wait is known, a minute after the headers.
    expect(quota.delayFor(500)).toBe(W);
    await clock.advance(30_000);
    quota.settle(stream);
    expect(quota.delayFor(500)).toBe(W + 100 - 30_100);
  });

  it('the real usage replaces a smaller estimate; a smaller usage keeps the estimate', async () => {
    const clock = createVirtualClock();
    const quota = createQuota({ tpm: 1_000, clock });
    quota.settle(await quota.acquire(100), 900);
    expect(quota.delayFor(200)).toBe(W);
    const clock2 = createVirtualClock();
    const quota2 = createQuota({ tpm: 1_000, clock: clock2 });
    quota2.settle(await quota2.acquire(900), 10);
    expect(quota2.delayFor(200)).toBe(W);
    expect(quota2.delayFor(100)).toBe(0);
  });

  it('a second settle of the same reservation changes nothing', async () => {
    const clock = createVirtualClock();
    const quota = createQuota({ tpm: 1_000, clock });
    const r = await quota.acquire(500);
    quota.settle(r, 500);
    await clock.advance(W / 2);
    quota.settle(r, 900);
    expect(quota.delayFor(500)).toBe(0);
    expect(quota.delayFor(600)).toBe(W / 2);
  });
});

describe("createQuota: the provider's headers", () => {
  it('holds a request that would exceed what the provider said is left, until its reset', async () => {
    const clock = createVirtualClock();
    const quota = createQuota({ clock });
    quota.observe({ tokens: { remaining: 300, limit: 40_000, resetAt: 2_000 } });
    const small = await quota.acquire(300);
    quota.settle(small);
    const held = quota.acquire(300);
    expect(await settledNow(held)).toBe(false);
    await clock.advance(1_999);
    expect(await settledNow(held)).toBe(false);
    await clock.advance(1);
    expect(await settledNow(held)).toBe(true);
  });

  it('the stricter of the configured limit and the reading wins, both ways', async () => {
    const clock = createVirtualClock();
    const quota = createQuota({ tpm: 10_000, clock });
    quota.observe({ tokens: { remaining: 500, resetAt: 1_000 } });
    expect(quota.delayFor(600)).toBe(1_000);
    // After the reset the reading no longer binds; the configured limit does.
    quota.settle(await quota.acquire(500));
    await clock.advance(1_000);
    expect(quota.delayFor(9_500)).toBe(0);
    expect(quota.delayFor(9_600)).toBe(W - 1_000);
  });

  it('requests admitted after a reading count against it; those that ended before it are taken as counted', async () => {
    const clock = createVirtualClock();
    const quota = createQuota({ clock });
    quota.settle(await quota.acquire(1_000));
    quota.observe({ tokens: { remaining: 1_500, limit: 5_000, resetAt: 5_000 } });
    const after = await quota.acquire(1_000);
    expect(quota.delayFor(600)).toBe(5_000);
    expect(quota.delayFor(500)).toBe(0);
    quota.settle(after);
    // A fresh reading supersedes the old one and what was admitted before it.
    quota.observe({ tokens: { remaining: 4_000, limit: 5_000, resetAt: 5_000 } });
    expect(quota.delayFor(4_000)).toBe(0);
  });

  it('requests in flight when a reading arrives count against it, except the one it answers, unless the count has room for them', async () => {
    const clock = createVirtualClock();
    const quota = createQuota({ clock });
    const answered = await quota.acquire(1_000);
    const other = await quota.acquire(1_000);
    // The provider holds 1 000 tokens: the answered request alone. `other` has not reached it yet.
    quota.observe({ tokens: { remaining: 4_000, limit: 5_000, resetAt: 5_000 } }, answered);
    expect(quota.delayFor(3_000)).toBe(0);
    expect(quota.delayFor(3_001)).toBe(5_000);
    // It holds 2 000: room for `other` beside the answered one, so `other` is not counted twice.
    quota.observe({ tokens: { remaining: 3_000, limit: 5_000, resetAt: 5_000 } }, answered);
    expect(quota.delayFor(3_000)).toBe(0);
    expect(quota.delayFor(3_001)).toBe(5_000);
    // Without saying which request it answers, both count.
    quota.observe({ tokens: { remaining: 3_000, limit: 5_000, resetAt: 5_000 } });
    expect(quota.delayFor(1_001)).toBe(5_000);
    quota.settle(answered);
    quota.settle(other);
  });

  it('a burst reaches the provider in any order: a request sent after the answered one may be in its count too', async () => {
    const clock = createVirtualClock();
    const quota = createQuota({ clock });
    const burst = [
      await quota.acquire(0),
      await quota.acquire(0),
      await quota.acquire(0),
      await quota.acquire(0),
    ];
    // The first-sent is answered, and the provider already holds three: two more of the burst are in it.
    quota.observe({ requests: { remaining: 7, limit: 10, resetAt: 1_000 } }, burst[0]);
    // 7 left, less the one of the burst not yet counted.
    expect(quota.headroom()).toBe(0.6);
    for (const r of burst) quota.settle(r);
  });

  it('with a configured limit, requests in flight at a reading are taken as counted in it: it adds only what the quota cannot see', async () => {
    const clock = createVirtualClock();
    const quota = createQuota({ tpm: 10_000, clock });
    const answered = await quota.acquire(1_000);
    const other = await quota.acquire(1_000);
    // Another process used 5 000 on the same key: the provider says 3 000 are left.
    quota.observe({ tokens: { remaining: 3_000, limit: 10_000, resetAt: 5_000 } }, answered);
    expect(quota.delayFor(3_000)).toBe(0);
    expect(quota.delayFor(3_001)).toBe(5_000);
    quota.settle(answered);
    quota.settle(other);
  });

  it('a late answer to an older request does not replace the reading of a newer one', async () => {
    const clock = createVirtualClock();
    const quota = createQuota({ clock });
    const older = await quota.acquire(0);
    const newer = await quota.acquire(0);
    quota.observe({ requests: { remaining: 5, limit: 10, resetAt: 1_000 } }, newer);
    quota.observe({ requests: { remaining: 9, limit: 10, resetAt: 1_000 } }, older);
    quota.settle(older);
    quota.settle(newer);
    // 5 left; the provider's count (5) has room for `older` beside `newer`, so it is taken as counted: 5 of 10.
    expect(quota.headroom()).toBe(0.5);
  });

  it('a reading without a reset holds for one window, so that requests are not held for ever', async () => {
    const clock = createVirtualClock();
    const quota = createQuota({ clock });
    quota.observe({ requests: { remaining: 0 } });
    expect(quota.delayFor(0)).toBe(W);
  });

  it("a request frees its place when its own answer said the provider lets it go, not at a later request's reset", async () => {
    const clock = createVirtualClock();
    const quota = createQuota({ clock });
    const first = await quota.acquire(0);
    // A sliding window of 1 s, 2 requests: the provider is back to full 1 s after its newest request.
    quota.observe({ requests: { remaining: 1, limit: 2, resetAt: 1_000 } }, first);
    quota.settle(first);
    await clock.advance(500);
    const second = await quota.acquire(0);
    quota.observe({ requests: { remaining: 0, limit: 2, resetAt: 1_500 } }, second);
    quota.settle(second);
    // The first leaves the provider's window at 1 000, the second at 1 500.
    expect(quota.delayFor(0)).toBe(500);
  });

  it('a refused request (settled counted: false) holds nobody past the reset its 429 named', async () => {
    const clock = createVirtualClock();
    const quota = createQuota({ clock });
    const refused = await quota.acquire(0);
    quota.observe({ requests: { remaining: 0, limit: 1, resetAt: 1_000 } }, refused);
    quota.settle(refused, undefined, { counted: false });
    expect(quota.delayFor(0)).toBe(1_000);
  });

  it('a 429 reading (nothing left, reset soon) holds every caller until the reset, then lets them go', async () => {
    const clock = createVirtualClock();
    const quota = createQuota({ clock });
    quota.observe({ requests: { remaining: 0, limit: 20, resetAt: 300 } });
    const calls = Array.from({ length: 20 }, () => quota.acquire(10));
    expect(await settledNow(Promise.race(calls))).toBe(false);
    await clock.advance(300);
    const admitted = await Promise.all(calls);
    const one = quota.acquire(10);
    // The limit of 20 is used up by the twenty admitted since the reading.
    expect(await settledNow(one)).toBe(false);
    for (const r of admitted) quota.settle(r);
    quota.observe({ requests: { remaining: 20, limit: 20, resetAt: 1_300 } });
    expect(await settledNow(one)).toBe(true);
  });
});

describe('createQuota: deadlines, aborts, and requests too large', () => {
  it('rejects at once, not_sent, when the tokens cannot fit before the deadline', async () => {
    const clock = createVirtualClock();
    const quota = createQuota({ tpm: 1_000, clock, name: 'openai/gpt-x' });
    quota.settle(await quota.acquire(1_000));
    const err = await quota.acquire(10, { deadline: W - 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    const e = err as RateLimitedError;
    expect(e.failure).toMatchObject({ delivery: 'not_sent', code: 'quota_held', retryAfterMs: W });
    expect(e.dependency).toBe('openai/gpt-x');
    expect(clock.now()).toBe(0);
    // With a deadline it can meet, it waits.
    const ok = quota.acquire(10, { deadline: W });
    await clock.advance(W);
    expect(await settledNow(ok)).toBe(true);
  });

  it('under a reading, a request behind others in flight waits for their answers: it is not refused as if they held it a minute', async () => {
    const clock = createVirtualClock();
    const quota = createQuota({ clock });
    const inFlight = await quota.acquire(0);
    // No room until the reset, one request a window, and one in flight the reading may not hold.
    quota.observe({ requests: { remaining: 0, limit: 1, resetAt: 100 } });
    const next = quota.acquire(0, { deadline: 5_000 });
    expect(await settledNow(next)).toBe(false);
    // Its answer says the provider counted it, and the window has room again.
    await clock.advance(200);
    quota.observe({ requests: { remaining: 1, limit: 1, resetAt: 200 } }, inFlight);
    quota.settle(inFlight);
    expect(await settledNow(next)).toBe(true);
  });

  it('a caller behind the queue is rejected when its deadline comes, and the queue goes on', async () => {
    const clock = createVirtualClock();
    const quota = createQuota({ tpm: 1_000, clock });
    const first = await quota.acquire(1_000);
    const head = quota.acquire(500);
    const behind = quota.acquire(10, { deadline: 100 }).catch((e: unknown) => e);
    await clock.advance(100);
    expect(isBreakwaterError(await behind, 'rate_limited')).toBe(true);
    quota.settle(first);
    await clock.advance(W);
    expect(await settledNow(head)).toBe(true);
  });

  it("abort rejects the wait with the signal's reason, admits nothing, and lets the next caller through", async () => {
    const clock = createVirtualClock();
    const quota = createQuota({ tpm: 1_000, clock });
    quota.settle(await quota.acquire(600));
    const ac = new AbortController();
    const big = quota.acquire(900, { signal: ac.signal }).catch((e: unknown) => e);
    const small = quota.acquire(300);
    expect(await settledNow(small)).toBe(false);
    ac.abort(new Error('caller gave up'));
    expect(await big).toMatchObject({ message: 'caller gave up' });
    expect(await settledNow(small)).toBe(true);
    await expect(quota.acquire(1, { signal: ac.signal })).rejects.toThrow('caller gave up');
  });

  it('a request larger than the whole limit is refused at once and never retried here', async () => {
    const clock = createVirtualClock();
    const quota = createQuota({ tpm: 1_000, clock });
    const e = (await quota.acquire(1_001).catch((x: unknown) => x)) as RateLimitedError;
    expect(e).toBeInstanceOf(RateLimitedError);
    expect(e.failure).toMatchObject({
      delivery: 'not_sent',
      code: 'quota_exceeds_limit',
      shouldRetry: false,
    });
    expect(e.retryable).toBe(false);
    expect(e.message).toContain('1001 tokens exceed the whole limit of 1000');
    expect(quota.delayFor(1_001)).toBe(Number.POSITIVE_INFINITY);
    const clock2 = createVirtualClock();
    const q2 = createQuota({ clock: clock2 });
    q2.observe({ tokens: { remaining: 10, limit: 500 } });
    await expect(q2.acquire(501)).rejects.toMatchObject({ failure: { code: 'quota_exceeds_limit' } });
  });

  it('bad options and arguments are RangeErrors naming the field', () => {
    const clock = createVirtualClock();
    expect(() => createQuota({ tpm: 0, clock })).toThrow(/tpm must be a positive finite number, got 0/);
    expect(() => createQuota({ rpm: Number.NaN, clock })).toThrow(/rpm/);
    expect(() => createQuota({ windowMs: -5, clock })).toThrow(/windowMs/);
    const quota = createQuota({ clock });
    expect(() => quota.acquire(-1)).toThrow(RangeError);
    expect(() => quota.acquire(Number.POSITIVE_INFINITY)).toThrow(/tokens must be a finite number/);
    expect(() => quota.delayFor(Number.NaN)).toThrow(/tokens/);
  });
});

describe('createQuota: headroom and delayFor', () => {
  it('headroom is the share left of the tightest known window; undefined when nothing is known', async () => {
    const clock = createVirtualClock();
    expect(createQuota({ clock }).headroom()).toBeUndefined();
    const quota = createQuota({ rpm: 10, tpm: 1_000, clock });
    expect(quota.headroom()).toBe(1);
    quota.settle(await quota.acquire(250));
    expect(quota.headroom()).toBe(0.75);
    quota.observe({ requests: { remaining: 2, limit: 10, resetAt: 100 } });
    expect(quota.headroom()).toBe(0.2);
  });

  it('delayFor counts the callers already waiting', async () => {
    const clock = createVirtualClock();
    const quota = createQuota({ tpm: 1_000, clock });
    quota.settle(await quota.acquire(900));
    expect(quota.delayFor(100)).toBe(0);
    void quota.acquire(500);
    expect(quota.delayFor(100)).toBe(W);
  });
});
