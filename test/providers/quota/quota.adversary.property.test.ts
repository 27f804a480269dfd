/**
 * Attacks on pacing by headers alone beyond quota.reorder.property.test.ts:
 * the provider counting a different number of tokens than the estimate,
 * answers that never come, resets printed rounded.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createVirtualClock } from '../../../src/policy/virtual-clock.js';
import { createQuota, type Quota } from '../../../src/providers/quota/index.js';
import { slidingProvider } from './sliding-provider.js';

interface Request {
  readonly gap: number;
  /** The client's estimate. */
  readonly tokens: number;
  /** What the provider counts. */
  readonly actual: number;
  readonly up: number;
  readonly down: number;
  /** The answer never comes back (the connection dropped after the provider got it): settled unobserved. */
  readonly lost: boolean;
}

interface Provider {
  readonly windowMs: number;
  readonly requests: number;
  readonly tokens: number;
  /** Resets printed at this granularity (ms), rounded up or down. */
  readonly grain: number;
  readonly round: 'up' | 'down' | 'none';
}

/** The sliding provider, printing its resets rounded as `p` says. */
function provider(p: Provider) {
  return slidingProvider(p, (resetAt, now) => {
    if (p.round === 'none') return resetAt;
    const ms = resetAt - now;
    const g = p.round === 'up' ? Math.ceil(ms / p.grain) : Math.floor(ms / p.grain);
    return now + g * p.grain;
  });
}

async function run(p: Provider, quotaWindowMs: number | undefined, schedule: readonly Request[]) {
  const clock = createVirtualClock();
  const quota: Quota = createQuota({
    clock,
    ...(quotaWindowMs !== undefined ? { windowMs: quotaWindowMs } : {}),
  });
  const server = provider(p);
  let heard = false;
  const refused: Array<{ i: number; at: number; blind: boolean }> = [];
  let at = 0;
  const done = schedule.map(
    (r, i) =>
      new Promise<void>((resolve, reject) => {
        at += r.gap;
        clock.setTimeout(() => {
          quota.acquire(r.tokens).then((reservation) => {
            const blind = !heard;
            clock.setTimeout(() => {
              const { ok, reading } = server.receive(r.actual, clock.now());
              if (!ok) refused.push({ i, at: clock.now(), blind });
              // A lost answer is one the provider accepted; a refusal comes back as a 429 with its headers.
              const lost = r.lost && ok;
              clock.setTimeout(() => {
                if (!lost) {
                  heard = true;
                  quota.observe(reading, reservation);
                }
                // The client knows a 429 when it sees one: the provider did not count that request.
                quota.settle(reservation, ok ? r.actual : undefined, ok ? undefined : { counted: false });
                resolve();
              }, r.down);
            }, r.up);
          }, reject);
        }, at);
      }),
  );
  await clock.run(Promise.all(done));
  return { refused };
}

const providers = (
  round: fc.Arbitrary<Provider['round']>,
  requests = fc.integer({ min: 1, max: 8 }),
  tokens = fc.integer({ min: 1_000, max: 5_000 }),
) =>
  fc.record({
    windowMs: fc.integer({ min: 200, max: 5_000 }),
    requests,
    tokens,
    grain: fc.constantFrom(1, 10, 100, 1_000),
    round,
  });

const schedules = (
  actual: (tokens: number) => fc.Arbitrary<number>,
  lost: fc.Arbitrary<boolean>,
): fc.Arbitrary<Request[]> =>
  fc.array(
    fc
      .record({
        gap: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 2_000 })),
        tokens: fc.integer({ min: 0, max: 1_000 }),
        up: fc.integer({ min: 0, max: 300 }),
        down: fc.integer({ min: 0, max: 300 }),
        lost,
      })
      .chain((r) => actual(r.tokens).map((a) => ({ ...r, actual: a }))),
    { minLength: 1, maxLength: 40 },
  );

const RUNS = Number(process.env.QRUNS ?? 1_000);

/** No request sent after the first answer is refused. */
const property = (p: fc.Arbitrary<Provider>, s: fc.Arbitrary<Request[]>) =>
  fc.asyncProperty(p, fc.boolean(), s, async (provider, same, schedule) => {
    const { refused } = await run(provider, same ? provider.windowMs : undefined, schedule);
    expect(refused.filter((r) => !r.blind)).toEqual([]);
  });

describe('a request the provider refused', () => {
  it('is never given back: after a 429 that says none left until 400, nothing frees at 200', async () => {
    // On a key shared with another process, whose requests fill the provider's count: the bound by
    // that count cannot tell this quota's refused request from theirs; only `counted: false` can.
    const clock = createVirtualClock();
    const quota = createQuota({ clock, windowMs: 200 });
    const held = await quota.acquire(0);
    quota.observe({ requests: { remaining: 0, limit: 2, resetAt: 400 } }, held);
    quota.settle(held, undefined, { counted: false });
    await clock.advance(250);
    expect(quota.delayFor(0)).toBe(150);
  });
});

describe('pacing by headers alone, against an adversary', () => {
  it('a request refused with a 429 is never given back as if the provider had held it', async () => {
    // Answers lost on the way back keep the quota blind longer, so that more requests are refused
    // before it hears one; a 429's headers are read as an answer, and settling it `counted: false`
    // is what keeps a later reading from counting it among those the provider let go.
    await fc.assert(
      property(
        providers(fc.constant('none'), fc.integer({ min: 1, max: 3 })),
        schedules((t) => fc.constant(t), fc.boolean()),
      ),
      { numRuns: RUNS, seed: 2 },
    );
  });

  it('the counterexample: a blind 429, then the window it never took given back', async () => {
    // One request a window of 200 ms; the first answer is lost, so the second goes blind and is
    // refused (its headers: none left, reset at 200). It ended before the third was sent, so the
    // third's reading took it as certainly counted and gave it back at 201: the fourth was refused.
    const r = { tokens: 0, actual: 0, up: 0, down: 0 };
    const { refused } = await run(
      { windowMs: 200, requests: 1, tokens: 1_000, grain: 1, round: 'none' },
      200,
      [
        { ...r, gap: 0, lost: true },
        { ...r, gap: 1, lost: false },
        { ...r, gap: 1, lost: false },
        { ...r, gap: 0, lost: false },
      ],
    );
    expect(refused).toEqual([{ i: 1, at: 1, blind: true }]);
  });

  it('a provider counting fewer tokens than estimated: what left its window is not given back by estimate', async () => {
    // The tokens window binds (a few requests fill it); the provider counts anything up to the estimate.
    await fc.assert(
      property(
        providers(
          fc.constant('none'),
          fc.integer({ min: 4, max: 8 }),
          fc.integer({ min: 1_000, max: 2_500 }),
        ),
        schedules((t) => fc.oneof(fc.constant(0), fc.integer({ min: 0, max: t })), fc.constant(false)),
      ),
      { numRuns: RUNS, seed: 1 },
    );
  });

  it('resets printed rounded up (a later reset): no refusal', async () => {
    await fc.assert(
      property(
        providers(fc.constant('up')),
        schedules((t) => fc.constant(t), fc.boolean()),
      ),
      { numRuns: RUNS, seed: 3 },
    );
  });

  it('the limit: a reset printed rounded down lets a request through early (one 429)', async () => {
    // The provider's window is 200 ms but it prints its reset in whole seconds, rounded down: "0s".
    // Nothing but the reset says when the count falls, so the quota believes it and sends at once.
    // A reset must not be printed earlier than it is; rounded up (a later reset) is safe, above.
    const r = { tokens: 0, actual: 0, up: 0, down: 0, lost: false };
    const { refused } = await run(
      { windowMs: 200, requests: 1, tokens: 1_000, grain: 1_000, round: 'down' },
      undefined,
      [
        { ...r, gap: 0 },
        { ...r, gap: 1 },
      ],
    );
    expect(refused).toEqual([{ i: 1, at: 1, blind: false }]);
  });
});
