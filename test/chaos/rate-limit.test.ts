/**
 * Chaos for the gate (issue 13): a provider answers a burst of requests with
 * 429 (a short or long Retry-After, in milliseconds or whole seconds), then
 * refuses the first probes after the cooldown, then accepts everything; a
 * random crowd of callers with random deadlines meets it through a router on
 * the `llm` profile, on a virtual clock. Besides the referee's invariants
 * (every call ends once, by its deadline; no slot or timer left), no healthy
 * provider is stalled: every call whose deadline leaves time to serve it
 * after the provider healed is served.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isBreakwaterError } from '../../src/failure/errors.js';
import { sleep } from '../../src/policy/sleep.js';
import { createVirtualClock } from '../../src/policy/virtual-clock.js';
import { createRouter } from '../../src/providers/router.js';
import type { Provider } from '../../src/providers/types.js';
import { type RateLimitBurst, rateLimitBurstArb } from './arbitraries.js';
import { params, runsFor, seeded, timeoutFor, watchUnhandledRejections } from './config.js';
import { fakeProvider, type ProviderFault, type Step } from './in-process.js';
import { Referee, toldByError } from './referee.js';

const hello = { messages: [{ role: 'user' as const, content: 'Say ok.' }] };

/** The provider's script: the burst, the refused probes, then answers (each `latencyMs`). */
function script(spec: RateLimitBurst): Step<ProviderFault>[] {
  const refused = [...Array.from({ length: spec.burst }, () => spec.burstWait), ...spec.probes];
  const steps: Step<ProviderFault>[] = refused.map((w) => ({
    fault: 'http429',
    latencyMs: spec.latencyMs,
    retryAfter: w.retryAfter,
  }));
  for (let i = 0; i < spec.calls.length * (refused.length + 1); i++)
    steps.push({ fault: 'ok', latencyMs: spec.latencyMs, retryAfter: undefined });
  return steps;
}

async function runBurst(spec: RateLimitBurst, seed: number) {
  const clock = createVirtualClock(0);
  const referee = new Referee(clock);
  const unhandled = watchUnhandledRejections();
  const waits = [
    ...Array.from({ length: spec.burst }, () => spec.burstWait.ms),
    ...spec.probes.map((w) => w.ms),
  ];
  let requests = 0;
  /** When the provider is healthy for good: the end of the wait its last 429 asked for. */
  let healedAt = 0;
  const inner = fakeProvider(
    'alpha',
    clock,
    script(spec),
    () => undefined,
    (s) => referee.reach('alpha', s),
  );
  const provider: Provider = {
    ...inner,
    async chat(request, options) {
      const index = requests++;
      try {
        return await inner.chat(request, options);
      } catch (err) {
        if (index < waits.length) healedAt = Math.max(healedAt, clock.now() + waits[index]!);
        throw err;
      }
    },
  };
  const router = createRouter({
    providers: [provider],
    profile: {
      extends: 'llm',
      // Enough attempts to outlast every 429 drawn, no budget, and no backoff beyond the Retry-After: a call
      // runs out of time, never of attempts, and waits what the provider asked, so its healing time is exact.
      retry: {
        maxAttempts: waits.length + 1,
        budget: false,
        backoff: { kind: 'constant', initialMs: 0, maxMs: 0, jitter: 'none' },
      },
      gate: { concurrency: spec.concurrency },
      // Callers whose deadline ends mid-call time out, which a breaker counts: the stack's own chaos covers that.
      breaker: false,
    },
    clock,
    random: seeded(seed),
  });
  const ended: Array<{ startedAt: number; deadlineAt: number; ok: boolean; detail: string }> = [];
  const one = async (call: RateLimitBurst['calls'][number], i: number) => {
    await sleep(clock, call.startAt);
    const startedAt = clock.now();
    const deadlineAt = startedAt + call.deadlineMs;
    await referee.watch(
      `chat${i}`,
      `chat ${i}`,
      deadlineAt,
      () => router.chat(hello, { deadlineMs: call.deadlineMs }),
      (s) => {
        ended.push({
          startedAt,
          deadlineAt,
          ok: s.ok,
          detail: s.ok ? 'value' : isBreakwaterError(s.error) ? s.error.message : String(s.error),
        });
        return s.ok ? 'value' : toldByError(s.error, false);
      },
    );
  };
  await clock.run(Promise.all(spec.calls.map(one)));
  const gate = router.routes[0]!.policy.gate!;
  if (gate.inFlight + gate.queued !== 0)
    referee.violation(`gate left ${gate.inFlight} in flight and ${gate.queued} queued`);
  // Every timer a call started ends with it, or fires harmlessly (the attempt timer's spent handle).
  await clock.advance(200_000);
  if (clock.pendingTimers() !== 0) referee.violation(`${clock.pendingTimers()} timers left`);
  // Once healthy, the provider serves everyone in turn: no call waits longer than all of them one after another.
  const slack = spec.calls.length * (spec.latencyMs + 1) + 1;
  for (const e of ended)
    if (!e.ok && e.deadlineAt >= Math.max(healedAt, e.startedAt) + slack)
      referee.violation(`stalled: deadline ${e.deadlineAt}, healthy from ${healedAt}, failed: ${e.detail}`);
  unhandled.stop();
  return { violations: referee.violations, unhandled: unhandled.seen };
}

describe('chaos: 429 bursts and refused probes meet a crowd through the gate', () => {
  const numRuns = runsFor(60);
  it(
    `no healthy provider is stalled over ${numRuns} random bursts`,
    async () => {
      await fc.assert(
        fc.asyncProperty(rateLimitBurstArb, fc.integer(), async (spec, seed) => {
          const { violations, unhandled } = await runBurst(spec, seed);
          expect(violations).toEqual([]);
          expect(unhandled.map(String)).toEqual([]);
        }),
        params(numRuns),
      );
    },
    timeoutFor(numRuns, 200),
  );

  // Found by this property: a caller timed out mid-call counted as a call the provider accepted, so the
  // pacer learned an allowance of one per Retry-After and held the next caller past its deadline.
  it('a call that timed out teaches the gate no allowance', async () => {
    const { violations } = await runBurst(
      {
        burst: 1,
        burstWait: { retryAfter: { header: 'retry-after', value: '1' }, ms: 1_000 },
        probes: [],
        latencyMs: 2,
        concurrency: 2,
        calls: [
          { startAt: 2, deadlineMs: 1_012 },
          { startAt: 2, deadlineMs: 1 },
          { startAt: 5, deadlineMs: 999 },
        ],
      },
      0,
    );
    expect(violations).toEqual([]);
  });
});
