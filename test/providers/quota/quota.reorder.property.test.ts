/**
 * The adversary of pacing by headers alone: requests sent together reach
 * the provider in any order and their answers come back in any order, so
 * no reading says which of the requests in flight it counted. Over any such
 * schedule, a quota that is the only user of its key and knows nothing but
 * the headers never gets a request refused once it has heard one answer
 * (only requests sent before any answer, blind, can be) — whether its own
 * window is the provider's or the default minute, longer than it. And it
 * does not pay for that by counting requests twice: a burst-after-burst
 * load fills every window to the limit (the example below).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createVirtualClock } from '../../../src/policy/virtual-clock.js';
import { createQuota, type Quota } from '../../../src/providers/quota/index.js';
import { type SlidingProvider, slidingProvider } from './sliding-provider.js';

interface Request {
  readonly gap: number;
  readonly tokens: number;
  /** On the way to the provider. */
  readonly up: number;
  /** The answer on its way back. */
  readonly down: number;
}

type Provider = SlidingProvider;

/** Runs the schedule against the provider; returns, per refused request, whether it was sent before any answer. */
async function run(p: Provider, quotaWindowMs: number | undefined, schedule: readonly Request[]) {
  const clock = createVirtualClock();
  const quota: Quota = createQuota({
    clock,
    ...(quotaWindowMs !== undefined ? { windowMs: quotaWindowMs } : {}),
  });
  const server = slidingProvider(p);
  let heard = false;
  const refused: Array<{ blind: boolean }> = [];
  let lastAcceptedAt = 0;
  let at = 0;
  const done = schedule.map(
    (r) =>
      new Promise<void>((resolve, reject) => {
        at += r.gap;
        clock.setTimeout(() => {
          quota.acquire(r.tokens).then((reservation) => {
            const blind = !heard;
            clock.setTimeout(() => {
              const { ok, reading } = server.receive(r.tokens, clock.now());
              if (!ok) refused.push({ blind });
              else lastAcceptedAt = clock.now();
              clock.setTimeout(() => {
                heard = true;
                quota.observe(reading, reservation);
                quota.settle(reservation, r.tokens);
                resolve();
              }, r.down);
            }, r.up);
          }, reject);
        }, at);
      }),
  );
  await clock.run(Promise.all(done));
  return { refused, lastAcceptedAt };
}

describe('pacing by headers alone, answers and arrivals in any order', () => {
  it('a quota alone on its key never has a request refused after its first answer', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          windowMs: fc.integer({ min: 200, max: 5_000 }),
          requests: fc.integer({ min: 1, max: 8 }),
          tokens: fc.integer({ min: 1_000, max: 5_000 }),
        }),
        // The quota's own window: the provider's, or the default minute, longer than it.
        fc.boolean(),
        fc.array(
          fc.record({
            gap: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2_000 })),
            tokens: fc.integer({ min: 0, max: 1_000 }),
            up: fc.integer({ min: 0, max: 300 }),
            down: fc.integer({ min: 0, max: 300 }),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        async (p, sameWindow, schedule) => {
          const { refused } = await run(p, sameWindow ? p.windowMs : undefined, schedule);
          expect(refused.filter((r) => !r.blind)).toEqual([]);
        },
      ),
      { numRuns: Number(process.env.QRUNS ?? 300) },
    );
  });

  it('bursts released together are not counted twice: each window of the provider fills to its limit', async () => {
    // One request to hear the headers, then 59 at once, 20 a second allowed; they reach the provider
    // in a scrambled order and their answers come back in another, a few milliseconds each way (a
    // request's own answer bounds when it arrived, so longer trips make the count more cautious).
    const p = { windowMs: 1_000, requests: 20, tokens: 1_000_000 };
    const burst = Array.from({ length: 59 }, (_, i) => ({
      gap: i === 0 ? 100 : 0,
      tokens: 1,
      up: (i * 7) % 5,
      down: (i * 5) % 3,
    }));
    const { refused, lastAcceptedAt } = await run(p, undefined, [
      { gap: 0, tokens: 1, up: 0, down: 0 },
      ...burst,
    ]);
    expect(refused).toEqual([]);
    // 19 more in the first window, 20 in the second, the last 20 in the third: each as soon as the
    // reset comes (a few round trips later), not a window later for requests counted twice.
    expect(lastAcceptedAt).toBeLessThan(2_300);
  });
});
